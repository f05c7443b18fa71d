/** The real product service, in-process, on its own test database and topic (the order service's dependency). */
import { createDatabase, Metrics, migrate } from '@eshop/common';
import { ADMIN, serviceAuthEnv, createTestDatabase, createTopic, deleteTopics, kafkaBrokers, silentLogger, type TestDatabase } from '@eshop/test-support';
import { loadProductConfig } from '../../../product/src/config';
import { productMigrations } from '../../../product/src/data/migrations';
import { startProductService, type RunningProductService } from '../../../product/src/service';
import { ApiClient } from '@eshop/test-support';

export class TestProductService {
  private service: RunningProductService | undefined;
  readonly api: ApiClient;

  private constructor(
    readonly db: TestDatabase,
    readonly topic: string,
    /** Its environment (without the port): what a crash test runs `dist/main.js` with instead (service-process.ts). */
    readonly env: Record<string, string>,
    readonly port: number,
  ) {
    this.api = new ApiClient(this.url, { as: ADMIN });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Migrates a fresh database, creates a topic and starts the service on a free port. */
  static async start(name: string): Promise<TestProductService> {
    const db = await createTestDatabase(`${name}_p`);
    const sequelize = createDatabase(db.options, silentLogger, new Metrics('product-test-migrate'));
    try {
      await migrate(sequelize, productMigrations, silentLogger);
    } finally {
      await sequelize.close();
    }
    const topic = await createTopic(`${name}-product-events`, 1);
    const env = {
      PRODUCT_DB_HOST: db.options.host,
      PRODUCT_DB_PORT: String(db.options.port),
      PRODUCT_DB_USER: db.options.user,
      PRODUCT_DB_PASSWORD: db.options.password,
      PRODUCT_DB_NAME: db.options.database,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_PRODUCT_TOPIC: topic,
      KAFKA_CLIENT_ID: 'product-service-order-tests',
      LOG_LEVEL: 'silent',
      SHUTDOWN_TIMEOUT_MS: '5000',
      ...serviceAuthEnv(),
    };
    const service = await startProductService(loadProductConfig({ ...env, PRODUCT_SERVICE_PORT: '0' }), { logger: silentLogger });
    const product = new TestProductService(db, topic, env, service.port);
    product.service = service;
    return product;
  }

  /** Stops the service (its port stays reserved for restart()). */
  async stop(): Promise<void> {
    const service = this.service;
    this.service = undefined;
    await service?.stop();
  }

  /** Starts it again on the same port and database. */
  async restart(): Promise<void> {
    if (this.service) return;
    this.service = await startProductService(loadProductConfig({ ...this.env, PRODUCT_SERVICE_PORT: String(this.port) }), {
      logger: silentLogger,
    });
  }

  async close(): Promise<void> {
    await this.stop();
    await this.db.drop();
    await deleteTopics([this.topic]);
  }

  /** Creates a product through the API; returns its id. */
  async createProduct(stock: number, price = '19.99'): Promise<number> {
    const res = await this.api.post('/products', { name: `Widget ${Math.random().toString(36).slice(2, 8)}`, price, stock });
    if (res.status !== 201) throw new Error(`creating a product failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as number;
  }

  async stockOf(productId: number): Promise<number> {
    const [row] = await this.db.query<{ stock: number }>('SELECT stock FROM products WHERE id = ?', [productId]);
    return Number(row?.stock);
  }

  /** Reservation rows by status, and units held by reserved ones, for one product. */
  async reservationsOf(productId: number): Promise<{ reserved: string[]; released: string[]; unitsHeld: number }> {
    const rows = await this.db.query<{ order_id: string; status: string; quantity: number }>(
      `SELECT r.order_id, r.status, i.quantity FROM reservations r JOIN reservation_items i ON i.order_id = r.order_id WHERE i.product_id = ?`,
      [productId],
    );
    return {
      reserved: rows.filter((r) => r.status === 'reserved').map((r) => r.order_id),
      released: rows.filter((r) => r.status === 'released').map((r) => r.order_id),
      unitsHeld: rows.filter((r) => r.status === 'reserved').reduce((n, r) => n + Number(r.quantity), 0),
    };
  }

  async deleteProduct(productId: number): Promise<void> {
    const res = await this.api.request('DELETE', `/products/${productId}`);
    if (res.status !== 204) throw new Error(`deleting product ${productId} failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
}
