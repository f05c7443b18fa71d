/**
 * Fault scenario f: the product service turns slow (its answers held back by a proxy), for the gateway and
 * for the order service alike. The gateway's product breaker must open (fail fast with 503 instead of
 * holding clients for the timeout) and close again once the product service is fast, and the order flow
 * must keep its invariants through it.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { accessToken, ApiClient, eventually, MessageCollector, testAuthEnv } from '@eshop/test-support';
import { loadGatewayConfig } from '../../services/gateway/src/config';
import { startGateway, type RunningGateway } from '../../services/gateway/src/service';
import { expectDrainedDeliveryInvariants, expectOneDecisionPerOrder, messagesIn, type StockedProduct } from '../../services/order/test/support/delivery-invariants';
import { LatencyProxy } from '../../services/order/test/support/latency-proxy';
import { OrderLoad } from '../../services/order/test/support/order-load';
import { OrderStack } from '../../services/order/test/support/order-stack';
import { invariantFigures, loadFigures, ScenarioRecorder, statusFigures } from '../../services/order/test/support/reliability-report';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const GATEWAY_PRODUCT_TIMEOUT_MS = 1000;
const BREAKER_THRESHOLD = 5;
const HALF_OPEN_AFTER_MS = 2000;
/** The order service's deadline for a product-service call. */
const PRODUCT_CALL_TIMEOUT_MS = 1500;
/** Latency injected: longer than both deadlines. */
const SLOW_MS = 2500;
/** How long the product service stays slow: long enough for the breaker to open and fail at least two probes. */
const SLOW_FOR_MS = 9000;
const SWITCH_MARGIN_MS = 100;

interface Read {
  sentAt: number;
  status: number;
  code?: string;
  retryAfter: string | null;
}

interface BreakerChange {
  at: number;
  upstream: string;
  state: string;
}

/** GET /products/:id in `workers` loops until stop(), remembering every answer. */
function catalogReads(client: ApiClient, productId: number, workers: number, gapMs: number) {
  const reads: Read[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const sentAt = Date.now();
      try {
        const res = await client.get(`/products/${productId}`);
        reads.push({ sentAt, status: res.status, code: (res.body as { code?: string } | undefined)?.code, retryAfter: res.headers.get('retry-after') });
      } catch {
        reads.push({ sentAt, status: 0, retryAfter: null });
      }
      await sleep(gapMs);
    }
  });
  return {
    reads,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('a slow product service behind the gateway (latency injected into its answers)', () => {
  let proxy: LatencyProxy | undefined;
  let stack: OrderStack | undefined;
  let gateway: RunningGateway | undefined;
  let collector: MessageCollector | undefined;
  const breakerChanges: BreakerChange[] = [];

  beforeAll(async () => {
    let productUrl = '';
    proxy = await LatencyProxy.start(() => productUrl, 0, { hold: 'response' });
    // The order API and consumers reach the product service through the proxy too.
    stack = await OrderStack.start({
      name: 'slowproduct',
      env: { PRODUCT_SERVICE_URL: proxy.url, PRODUCT_SERVICE_TIMEOUT_MS: String(PRODUCT_CALL_TIMEOUT_MS), ORDER_RETRY_AFTER_SECONDS: '2' },
    });
    productUrl = stack.product.url;
    // The gateway's breaker reports its changes in its log: keep them, with their times.
    const log = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line.includes('"breaker"')) continue;
          const entry = JSON.parse(line) as { time: number; upstream: string; breaker: string };
          breakerChanges.push({ at: entry.time, upstream: entry.upstream, state: entry.breaker });
        }
        done();
      },
    });
    gateway = await startGateway(
      loadGatewayConfig({
        API_GATEWAY_PORT: '0',
        PRODUCT_SERVICE_URL: proxy.url,
        ORDER_SERVICE_URL: stack.api.baseUrl,
        GATEWAY_PRODUCT_TIMEOUT_MS: String(GATEWAY_PRODUCT_TIMEOUT_MS),
        GATEWAY_BREAKER_FAILURE_THRESHOLD: String(BREAKER_THRESHOLD),
        GATEWAY_BREAKER_HALF_OPEN_AFTER_MS: String(HALF_OPEN_AFTER_MS),
        ...testAuthEnv(),
        RATE_LIMIT_PER_IP: '0',
        RATE_LIMIT_PER_IDENTITY: '0',
      }),
      { logger: pino({ level: 'info' }, log), host: '127.0.0.1' },
    );
    await stack.startConsumer();
  });

  afterAll(async () => {
    await Promise.allSettled([collector?.stop(), gateway?.stop()]);
    await stack?.close();
    await proxy?.close();
  });

  it('when the product service answers late, the gateway opens its breaker and fails fast, closes it once the answers are quick again, and no order is lost or reserved twice', async () => {
    const s = stack!;
    const report = new ScenarioRecorder('f-slow-product', 'a slow product service: the gateway breaker opens and recovers', __filename);
    const gatewayUrl = `http://127.0.0.1:${gateway!.port}`;
    const anonymous = new ApiClient(gatewayUrl);
    const admin = new ApiClient(gatewayUrl, { bearer: await accessToken('admin', 'admin') });
    const browsed = await s.product.createProduct(10, '9.00');
    const forSync: StockedProduct = { productId: await s.product.createProduct(1000, '2.00'), initialStock: 1000, quantity: 1 };
    const forAsync: StockedProduct = { productId: await s.product.createProduct(60, '3.00'), initialStock: 60, quantity: 1 };
    const products = [forSync, forAsync];
    // Warm up (connections, the first queries) so the healthy phase measures a warm service.
    for (let ok = 0; ok < 3; ) if ((await anonymous.get(`/products/${browsed}`)).status === 200) ok++;
    const syncLoad = new OrderLoad(admin, [forSync], { mode: 'sync' });
    const asyncLoad = new OrderLoad(admin, [forAsync]);

    const startedAt = Date.now();
    const readers = catalogReads(anonymous, browsed, 4, 50);
    const syncIntake = syncLoad.stream(2, 100);
    const asyncIntake = asyncLoad.stream(1, 100);
    let slowAt = 0;
    let fastAt = 0;
    let closedAt = 0;
    try {
      await sleep(1500);
      proxy!.delayMs = SLOW_MS;
      slowAt = Date.now();
      report.mark(`latency injected: the product service answers ${SLOW_MS} ms late`, slowAt);
      await eventually(() => expect(breakerChanges.map((c) => c.state)).toContain('open'), 10_000, 20);
      await sleep(slowAt + SLOW_FOR_MS - Date.now());
      proxy!.delayMs = 0;
      fastAt = Date.now();
      report.mark('latency removed', fastAt);
      report.span('product service slow', slowAt, fastAt);
      closedAt = await eventually(() => {
        const closed = breakerChanges.find((c) => c.state === 'closed' && c.at >= fastAt);
        expect(closed).toBeDefined();
        return closed!.at;
      }, 10_000, 20);
      await sleep(1500);
    } finally {
      await Promise.all([readers.stop(), syncIntake.stop(), asyncIntake.stop()]);
    }
    report.span('traffic (catalog reads, sync and async orders)', startedAt, Date.now());
    for (const change of breakerChanges) report.mark(`gateway breaker for ${change.upstream}: ${change.state.replace('_', '-')}`, change.at);

    // What catalog readers saw: quick answers, then the upstream timeout until the breaker opened, then
    // fast 503s with Retry-After (probes failing), and quick answers again once the breaker closed.
    // (A read sent in the last moments before a switch may reach the proxy after it: those are left out.)
    const healthy = readers.reads.filter((r) => r.sentAt < slowAt - SWITCH_MARGIN_MS);
    const slow = readers.reads.filter((r) => r.sentAt >= slowAt && r.sentAt < fastAt - SWITCH_MARGIN_MS);
    const recovered = readers.reads.filter((r) => r.sentAt > closedAt);
    expect(healthy.filter((r) => r.status !== 200)).toEqual([]);
    expect(slow.filter((r) => !(r.status === 504 && r.code === 'upstream_timeout') && !(r.status === 503 && r.code === 'upstream_unavailable'))).toEqual([]);
    expect(slow.filter((r) => r.status === 504).length).toBeGreaterThanOrEqual(BREAKER_THRESHOLD);
    const failedFast = slow.filter((r) => r.status === 503);
    expect(failedFast.length).toBeGreaterThan(slow.length / 2); // most of the outage was answered without waiting
    expect(failedFast.filter((r) => !(Number(r.retryAfter) >= 1))).toEqual([]);
    expect(recovered.length).toBeGreaterThan(0);
    expect(recovered.filter((r) => r.status !== 200)).toEqual([]);
    // Only the product breaker moved: open, then (probes) half-open/open, finally closed and staying so.
    const productChanges = breakerChanges.filter((c) => c.upstream === 'product-service').map((c) => c.state);
    expect(breakerChanges.filter((c) => c.upstream !== 'product-service')).toEqual([]);
    expect(productChanges[0]).toBe('open');
    expect(productChanges.at(-1)).toBe('closed');
    expect(productChanges.filter((state) => state === 'half_open').length).toBeGreaterThanOrEqual(2); // a failed probe, then the good one
    const metrics = await (await fetch(`${gatewayUrl}/metrics`)).text();
    expect(metrics).toMatch(/^gateway_circuit_breaker_state\{[^}]*upstream="product-service"[^}]*\} 0$/m);

    // Orders: sync ones were refused only with the order service's own 503 (its product call timed out),
    // and become orders when retried with their keys; async intake never waited on the product service.
    expect(syncLoad.refused.filter((r) => r.status !== 503 || (r.body as { code?: string }).code !== 'product_service_unavailable')).toEqual([]);
    expect(asyncLoad.refused).toEqual([]);
    await syncLoad.retryRefused();
    expect(syncLoad.refused.filter((r) => r.retryStatus !== 201)).toEqual([]);
    const accepted = [...syncLoad.accepted, ...asyncLoad.accepted];
    // A timed-out reservation was still made (the answer was late, not lost): compensations give it back.
    const statuses = await expectDrainedDeliveryInvariants(s, accepted, products);
    report.mark('every accepted order decided');
    collector = await new MessageCollector(s.topic, s.kafka).start();
    await collector.waitFor(await messagesIn(s.kafka, s.topic), 30_000);
    expectOneDecisionPerOrder(collector.messages, statuses, { republishAllowed: false });

    report.clients('catalog reads (GET /products/:id) before the latency', statusFigures(healthy.map((r) => r.status)));
    report.clients('catalog reads while the product service was slow', statusFigures(slow.map((r) => r.status)));
    report.clients('catalog reads after the breaker closed', statusFigures(recovered.map((r) => r.status)));
    report.clients('sync orders through the gateway (POST /orders)', loadFigures(syncLoad));
    report.clients('async orders through the gateway (POST /orders/async)', loadFigures(asyncLoad));
    report.observe('product breaker changes', productChanges.join(' → '));
    report.observe('seconds from latency removed to breaker closed', ScenarioRecorder.seconds(fastAt, closedAt));
    const compensated = (await s.product.reservationsOf(forSync.productId)).released.length;
    report.observe('sync reservations made after their caller had given up, released by compensation', compensated);
    report.invariants(await invariantFigures(s, accepted, products, { orderEvents: collector.messages, deadLettered: await messagesIn(s.kafka, s.dlqTopic) }));
    await report.write();
  }, 120_000);
});
