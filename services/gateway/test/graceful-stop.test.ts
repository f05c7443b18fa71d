import { eventually } from '@eshop/test-support';
import { send, startTestGateway } from './support/gateway';
import { startSlowUpstream } from './support/upstreams';

describe('gateway graceful stop', () => {
  it('lets an in-flight proxied request finish, then refuses new connections', async () => {
    const slow = await startSlowUpstream();
    const gw = await startTestGateway({ PRODUCT_SERVICE_URL: slow.url, ORDER_SERVICE_URL: slow.url, GATEWAY_PRODUCT_TIMEOUT_MS: '10000' });
    try {
      const inFlight = send(`${gw.url}/products/1`);
      await eventually(() => expect(slow.waiting()).toBe(1), 5000, 10);

      const stopping = gw.stop();
      await new Promise((r) => setTimeout(r, 100));
      const refused = send(`${gw.url}/products/2`).then(
        (res) => `answered ${res.status}`,
        (err: Error) => err.message,
      );
      slow.release();

      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ finally: 'done' });
      expect(await refused).toMatch(/ECONNREFUSED/);
      await expect(stopping).resolves.toBeUndefined();
      expect(slow.received).toHaveLength(1);
    } finally {
      await gw.stop();
      await slow.close();
    }
  });
});
