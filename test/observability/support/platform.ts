/**
 * The four processes as they run in production, started in-process on port 0 against the local
 * MariaDB and Kafka: product service, order API, one order consumer, and the gateway in front, which
 * verifies bearer tokens of a local issuer (testAuthEnv). `driveTraffic` sends a little of everything,
 * as an admin and as a customer, so labelled series exist before anyone scrapes.
 */
import { accessToken, ApiClient, eventually } from '@eshop/test-support';
import type { RunningGateway } from '../../../services/gateway/src/service';
import { OrderStack } from '../../../services/order/test/support/order-stack';
import { startGatewayInFront } from '../../support/gateway-in-front';
import { testKafka } from '@eshop/test-support';

/** Process names as docs/metrics.md's "Exported by" column spells them. */
export const PROCESSES = ['gateway', 'product', 'order-api', 'order-consumer'] as const;
export type ProcessName = (typeof PROCESSES)[number];

/** The customer whose orders driveTraffic places. */
const CUSTOMER = 'obs-user';

export class ObservedPlatform {
  /** The admin: catalog writes and status changes. */
  readonly api: ApiClient;
  /** CUSTOMER, signed in: places and reads their own orders. */
  readonly customer: ApiClient;

  private constructor(
    readonly stack: OrderStack,
    readonly gateway: RunningGateway,
    tokens: { admin: string; customer: string },
  ) {
    this.api = new ApiClient(`http://127.0.0.1:${gateway.port}`, { bearer: tokens.admin });
    this.customer = this.api.withAuth({ bearer: tokens.customer });
  }

  static async start(name = 'obs'): Promise<ObservedPlatform> {
    const stack = await OrderStack.start({ name, partitions: 3 });
    try {
      await stack.startConsumer();
      const gateway = await startGatewayInFront(stack);
      return new ObservedPlatform(stack, gateway, { admin: await accessToken('admin', 'admin'), customer: await accessToken(CUSTOMER, 'customer') });
    } catch (err) {
      await stack.close();
      throw err;
    }
  }

  /** Base URL of each process's /metrics. */
  metricsUrls(): Record<ProcessName, string> {
    return {
      gateway: `http://127.0.0.1:${this.gateway.port}/metrics`,
      product: `${this.stack.product.url}/metrics`,
      'order-api': `${this.stack.api.baseUrl}/metrics`,
      'order-consumer': `http://127.0.0.1:${this.stack.consumers[0]!.port}/metrics`,
    };
  }

  async scrape(process: ProcessName): Promise<string> {
    const res = await fetch(this.metricsUrls()[process]);
    if (res.status !== 200) throw new Error(`${process} /metrics answered ${res.status}`);
    return res.text();
  }

  /**
   * Catalogue reads and writes, a sync order, one refused for lack of stock, an async order until it is
   * confirmed, a status change, and a poison message that the consumer dead-letters.
   */
  async driveTraffic(): Promise<void> {
    const { api, customer } = this;
    const created = await api.post('/products', { name: 'Metric lamp', description: 'lights up dashboards', price: 19.99, stock: 5 });
    if (created.status !== 201) throw new Error(`create product answered ${created.status}`);
    const productId = created.body.id as number;
    await api.get('/products?limit=5');
    await api.get(`/products/${productId}`);
    await api.get('/products/999999999'); // 404
    await api.put(`/products/${productId}`, { name: 'Metric lamp', description: 'lights up dashboards', price: 21.5, stock: 5 });

    const sync = await customer.post('/orders', { user_id: CUSTOMER, items: [{ product_id: productId, quantity: 1 }] });
    if (sync.status !== 201) throw new Error(`sync order answered ${sync.status}`);
    await customer.post('/orders', { user_id: CUSTOMER, items: [{ product_id: productId, quantity: 1000 }] }); // 409 insufficient stock
    await api.put(`/orders/${sync.body.id}/status`, { status: 'paid' });

    const accepted = await customer.post('/orders/async', { user_id: CUSTOMER, items: [{ product_id: productId, quantity: 1 }] });
    if (accepted.status !== 202) throw new Error(`async order answered ${accepted.status}`);
    await eventually(async () => {
      const status = (await customer.get(`/orders/${accepted.body.id}`)).body.status;
      if (status === 'pending') throw new Error('async order still pending');
    }, 30_000);
    await customer.get(`/orders?user_id=${CUSTOMER}`);

    await this.deadLetterOne();
  }

  /** A message that is not an event envelope: the consumer dead-letters it, which also sends on the DLQ topic. */
  private async deadLetterOne(): Promise<void> {
    const producer = testKafka().producer();
    await producer.connect();
    try {
      await producer.send({ topic: this.stack.topic, messages: [{ key: 'poison', value: 'not json' }] });
    } finally {
      await producer.disconnect();
    }
    await eventually(async () => {
      const text = await this.scrape('order-consumer');
      if (!/^kafka_consumer_messages_dead_lettered_total\{[^}]*\} [1-9]/m.test(text)) throw new Error('nothing dead-lettered yet');
    }, 30_000);
  }

  async stop(): Promise<void> {
    await this.gateway.stop();
    await this.stack.close();
  }
}
