import { accessToken, summarizeUploads, uploadWithFetch, uploadWithSocket, type UploadOutcome } from '@eshop/test-support';
import { startTestGateway, type TestGateway } from './support/gateway';
import { startEchoUpstream, type TestServer } from './support/upstreams';

/**
 * A body over HTTP_BODY_LIMIT is refused before anything reaches the upstream — and the client must get that 413, not
 * a connection reset. Clients keep sending while the gateway answers; unread bytes on a closed socket make the kernel
 * reset it, so an answer sent without reading the rest of the body was lost in 2 of 4 fetch uploads (issue 16). 50
 * uploads of 5 MiB with Node's fetch and 50 over a raw socket, through the real gateway, each must get the problem.
 */
const FIVE_MIB = 5 * 1024 * 1024;
const ROUNDS = 50;

const summary = summarizeUploads;

describe('gateway: oversized uploads get their 413, every time', () => {
  let echo: TestServer;
  let gw: TestGateway;
  let auth: Record<string, string>;

  beforeAll(async () => {
    echo = await startEchoUpstream('product');
    gw = await startTestGateway({ PRODUCT_SERVICE_URL: echo.url, ORDER_SERVICE_URL: echo.url });
    // An admin may create products: the refusal is the size, not the caller.
    auth = { authorization: `Bearer ${await accessToken('admin', 'admin')}` };
  });

  afterAll(async () => {
    await gw?.stop();
    await echo?.close();
  });

  it.each([
    ['Node fetch (undici)', uploadWithFetch],
    ['a raw socket', uploadWithSocket],
  ])('%s: 50 × 5 MiB POST /products → 50 × 413 application/problem+json, nothing forwarded', async (_client, upload) => {
    const outcomes: UploadOutcome[] = [];
    for (let i = 0; i < ROUNDS; i++) outcomes.push(await upload(`${gw.url}/products`, FIVE_MIB, auth));
    expect(summary(outcomes)).toEqual({ '413 application/problem+json; charset=utf-8': ROUNDS });
    expect(JSON.parse(outcomes[0]!.body!)).toMatchObject({ status: 413, code: 'payload_too_large', limit_bytes: 102400 });
    expect(echo.received).toHaveLength(0);
  }, 120_000);

  it('an anonymous 5 MiB POST /products gets its 401 (refused before the body is read), every time', async () => {
    const outcomes: UploadOutcome[] = [];
    for (let i = 0; i < 20; i++) outcomes.push(await uploadWithFetch(`${gw.url}/products`, FIVE_MIB));
    expect(summary(outcomes)).toEqual({ '401 application/problem+json; charset=utf-8': 20 });
  }, 120_000);
});
