/** The gateway's rate limits per client address and per signed-in user: 429 problems with Retry-After. */
import { accessToken } from '@eshop/test-support';
import { metricValue, send, startTestGateway, type TestGateway } from './support/gateway';
import { startEchoUpstream, type TestServer } from './support/upstreams';

describe('gateway rate limits', () => {
  let upstream: TestServer;

  beforeAll(async () => {
    upstream = await startEchoUpstream('both');
  });

  afterAll(async () => {
    await upstream.close();
  });

  async function withGateway(env: Record<string, string>, run: (gw: TestGateway) => Promise<void>) {
    const gw = await startTestGateway({ PRODUCT_SERVICE_URL: upstream.url, ORDER_SERVICE_URL: upstream.url, ...env });
    try {
      await run(gw);
    } finally {
      await gw.stop();
    }
  }

  it('answers the request over the per-address limit with 429, Retry-After and a problem body, without forwarding it', async () => {
    await withGateway({ RATE_LIMIT_PER_IP: '5', RATE_LIMIT_PER_IDENTITY: '0', RATE_LIMIT_WINDOW_MS: '60000' }, async (gw) => {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await send(`${gw.url}/products`, { anonymous: true })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200]);

      const forwarded = upstream.received.length;
      const limited = await send(`${gw.url}/products`, { anonymous: true });
      expect(limited.status).toBe(429);
      expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(limited.json).toMatchObject({ code: 'rate_limited', scope: 'ip', limit: 5, window_seconds: 60 });
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.headers['ratelimit-policy']).toBeDefined();
      expect(upstream.received.length).toBe(forwarded);

      // Probes and scrapes are never limited: a busy client must not make the pod look dead.
      expect((await send(`${gw.url}/healthz`, { anonymous: true })).status).toBe(200);
      expect((await send(`${gw.url}/readyz`, { anonymous: true })).status).toBe(200);
      const metrics = (await send(`${gw.url}/metrics`, { anonymous: true })).body;
      expect(metricValue(metrics, 'gateway_rate_limited_address_total', {})).toBe(1);
    });
  });

  it('limits each signed-in user separately: one user over the limit does not slow down another', async () => {
    await withGateway({ RATE_LIMIT_PER_IP: '1000', RATE_LIMIT_PER_IDENTITY: '3' }, async (gw) => {
      const alice = { authorization: `Bearer ${await accessToken('alice', 'customer')}` };
      const bob = { authorization: `Bearer ${await accessToken('bob', 'customer')}` };
      const aliceStatuses: number[] = [];
      for (let i = 0; i < 4; i++) aliceStatuses.push((await send(`${gw.url}/orders`, { headers: alice })).status);

      expect(aliceStatuses).toEqual([200, 200, 200, 429]);
      const res = await send(`${gw.url}/orders`, { headers: alice });
      expect(res.json).toMatchObject({ code: 'rate_limited', scope: 'identity' });
      expect((await send(`${gw.url}/orders`, { headers: bob })).status).toBe(200);
      // A fresh token for the same user is still the same user.
      const again = await send(`${gw.url}/orders`, { headers: { authorization: `Bearer ${await accessToken('alice', 'customer', 60)}` } });
      expect(again.status).toBe(429);
    });
  });

  it('lets requests through again once the window has passed', async () => {
    await withGateway({ RATE_LIMIT_PER_IP: '2', RATE_LIMIT_WINDOW_MS: '1000' }, async (gw) => {
      await send(`${gw.url}/products`, { anonymous: true });
      await send(`${gw.url}/products`, { anonymous: true });
      expect((await send(`${gw.url}/products`, { anonymous: true })).status).toBe(429);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await send(`${gw.url}/products`, { anonymous: true })).status).toBe(200);
    });
  });

  it('turns a limit off with 0', async () => {
    await withGateway({ RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_IDENTITY: '0' }, async (gw) => {
      const statuses = await Promise.all(Array.from({ length: 30 }, () => send(`${gw.url}/products`, { anonymous: true }).then((r) => r.status)));
      expect(new Set(statuses)).toEqual(new Set([200]));
    });
  });
});
