/** Who may change the catalogue, at the product service itself: admins only; anybody may read it. */
import { IDENTITY_HEADER, signIdentity } from '@eshop/common';
import { ADMIN, ApiClient, customer } from '@eshop/test-support';
import { aProduct } from './support/factories';
import { startTestService, type TestProductService } from './support/product-service';

describe('product access: admins change the catalogue, everybody reads it', () => {
  let app: TestProductService;
  let admin: ApiClient;
  let productId: number;

  beforeAll(async () => {
    app = await startTestService({ name: 'access' });
    admin = new ApiClient(app.url, { as: ADMIN });
    productId = (await admin.post('/products', aProduct({ name: 'Kettle', stock: 5 }))).body.id;
  });

  afterAll(async () => {
    await app?.close();
  });

  const snapshot = () => app.db.query('SELECT id, name, price, stock, version FROM products ORDER BY id');

  it('lets anybody list and read products', async () => {
    const anonymous = new ApiClient(app.url);
    expect((await anonymous.get('/products')).status).toBe(200);
    expect((await anonymous.get(`/products/${productId}`)).body.name).toBe('Kettle');
  });

  it.each<[string, ApiClient | (() => ApiClient), number, string]>([
    ['an anonymous caller', () => new ApiClient(app.url), 401, 'unauthenticated'],
    ['a customer', () => new ApiClient(app.url, { as: customer('42') }), 403, 'forbidden'],
  ])('refuses writes from %s and changes nothing', async (_who, client, status, code) => {
    const api = typeof client === 'function' ? client() : client;
    const before = await snapshot();
    const attempts = await Promise.all([
      api.post('/products', aProduct()),
      api.put(`/products/${productId}`, { stock: 0 }),
      api.delete(`/products/${productId}`),
    ]);
    for (const res of attempts) {
      expect(res.status).toBe(status);
      expect(res.contentType).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe(code);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an admin identity the gateway did not sign', async () => {
    const forged = await signIdentity(ADMIN, 'someone-elses-secret-that-is-long-enough-123');
    const res = await new ApiClient(app.url).put(`/products/${productId}`, { stock: 0 }, { [IDENTITY_HEADER]: forged });

    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_identity');
    expect((await admin.get(`/products/${productId}`)).body.stock).toBe(5);
  });

  it('answers a JSON body nested deeper than HTTP_JSON_MAX_DEPTH with 400 before validating it', async () => {
    const res = await admin.request('POST', '/products', { raw: `{"name":${'['.repeat(40)}${']'.repeat(40)}}`, headers: { 'content-type': 'application/json' } });

    expect(res.status).toBe(400);
    expect(res.body.code).toBe('json_too_deep');
  });
});
