/**
 * The platform the hostile-input suite attacks: the real gateway (bearer tokens of a local test issuer)
 * in front of the real product and order services, on the real MariaDB and Kafka, with two instruments on
 * the databases:
 *
 * - a write ledger: triggers (test-only, in the suite's own databases) append one row per committed
 *   INSERT, UPDATE and DELETE on every table to `fuzz_writes`, so a request that changed anything is
 *   caught and named, however it did it (rolled-back writes leave no row);
 * - snapshots: rows, stock and counts of both databases, to compare before and after a batch.
 *
 * No order consumers run: async orders stay pending, so nothing changes behind the requests' backs except
 * the outbox relays deleting the events they published (the ledger ignores those deletes).
 */
import { accessToken, type TestDatabase } from '@eshop/test-support';
import type { RunningGateway } from '../../../services/gateway/src/service';
import { OrderStack } from '../../../services/order/test/support/order-stack';
import { startGatewayInFront } from '../../support/gateway-in-front';

export interface Write {
  db: 'product' | 'order';
  table: string;
  op: 'insert' | 'update' | 'delete';
}

/** Writes that happen without any request: the outbox relays delete what they published. */
const BACKGROUND = (w: Write) => w.table === 'outbox_events' && w.op === 'delete';

const LEDGER = 'fuzz_writes';

class WriteLedger {
  private last = 0;

  constructor(
    readonly db: Write['db'],
    private readonly database: TestDatabase,
  ) {}

  /** Adds the ledger table and an AFTER trigger for each write on each table of the service. */
  async install(): Promise<void> {
    await this.database.query(
      `CREATE TABLE ${LEDGER} (id BIGINT AUTO_INCREMENT PRIMARY KEY, tbl VARCHAR(64) NOT NULL, op VARCHAR(6) NOT NULL) ENGINE=InnoDB`,
    );
    const tables = await this.database.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' AND table_name <> ?`,
      [LEDGER],
    );
    for (const { name } of tables) {
      for (const op of ['insert', 'update', 'delete'] as const) {
        await this.database.query(
          `CREATE TRIGGER \`fuzz_${name}_${op}\` AFTER ${op.toUpperCase()} ON \`${name}\` FOR EACH ROW INSERT INTO ${LEDGER} (tbl, op) VALUES ('${name}', '${op}')`,
        );
      }
    }
    this.last = await this.head();
  }

  private async head(): Promise<number> {
    const [row] = await this.database.query<{ id: number | null }>(`SELECT MAX(id) AS id FROM ${LEDGER}`);
    return Number(row?.id ?? 0);
  }

  /** The writes committed since the last call (background ones left out). */
  async since(): Promise<Write[]> {
    const rows = await this.database.query<{ id: number; tbl: string; op: Write['op'] }>(`SELECT id, tbl, op FROM ${LEDGER} WHERE id > ? ORDER BY id`, [
      this.last,
    ]);
    if (rows.length > 0) this.last = Number(rows.at(-1)!.id);
    return rows.map((r) => ({ db: this.db, table: r.tbl, op: r.op })).filter((w) => !BACKGROUND(w));
  }

  /** Events ever enqueued in the outbox (the relay deletes published ones, the ledger keeps count). */
  async outboxEventsEnqueued(): Promise<number> {
    const [row] = await this.database.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${LEDGER} WHERE tbl = 'outbox_events' AND op = 'insert'`);
    return Number(row?.n ?? 0);
  }
}

/** Both databases as a client could tell them apart: every row that matters, the stock, the outbox. */
export interface Snapshot {
  products: unknown[];
  reservations: unknown[];
  orders: unknown[];
  orderItems: unknown[];
  idempotencyKeys: unknown[];
  productEventsEnqueued: number;
  orderEventsEnqueued: number;
}

export class FuzzPlatform {
  private constructor(
    readonly stack: OrderStack,
    readonly gateway: RunningGateway,
    private readonly ledgers: WriteLedger[],
  ) {}

  static async start(): Promise<FuzzPlatform> {
    const stack = await OrderStack.start({ name: 'fuzz', partitions: 1 });
    let gateway: RunningGateway | undefined;
    try {
      // Hundreds of requests from one address and user in seconds: the limits have their own tests.
      gateway = await startGatewayInFront(stack, { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_IDENTITY: '0' });
      const ledgers = [new WriteLedger('product', stack.product.db), new WriteLedger('order', stack.db)];
      for (const ledger of ledgers) await ledger.install();
      return new FuzzPlatform(stack, gateway, ledgers);
    } catch (err) {
      await gateway?.stop();
      await stack.close();
      throw err;
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.gateway.port}`;
  }

  /** Writes committed in either database since the last call. */
  async writes(): Promise<Write[]> {
    return (await Promise.all(this.ledgers.map((ledger) => ledger.since()))).flat();
  }

  async snapshot(): Promise<Snapshot> {
    const product = this.stack.product.db;
    const order = this.stack.db;
    const [products, reservations, orders, orderItems, idempotencyKeys, productEventsEnqueued, orderEventsEnqueued] = await Promise.all([
      product.query('SELECT * FROM products ORDER BY id'),
      product.query('SELECT r.*, (SELECT COUNT(*) FROM reservation_items i WHERE i.order_id = r.order_id) AS items FROM reservations r ORDER BY order_id'),
      order.query('SELECT * FROM orders ORDER BY id'),
      order.query('SELECT * FROM order_items ORDER BY order_id, position'),
      order.query('SELECT * FROM idempotency_keys ORDER BY scope, idempotency_key'),
      this.ledgers[0]!.outboxEventsEnqueued(),
      this.ledgers[1]!.outboxEventsEnqueued(),
    ]);
    return { products, reservations, orders, orderItems, idempotencyKeys, productEventsEnqueued, orderEventsEnqueued };
  }

  async stop(): Promise<void> {
    await this.gateway.stop();
    await this.stack.close();
  }
}

/** Bearer tokens of the test issuer, minted once. */
export async function tokens(customerId: string): Promise<{ admin: string; customer: string }> {
  return { admin: await accessToken('admin', 'admin'), customer: await accessToken(customerId, 'customer') };
}
