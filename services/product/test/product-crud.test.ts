import { ADMIN, ApiClient } from '@eshop/test-support';
import { aProduct } from './support/factories';
import { startTestService, type TestProductService } from './support/product-service';

describe('product catalogue over HTTP', () => {
  let app: TestProductService;
  let api: ApiClient;

  beforeAll(async () => {
    app = await startTestService({ name: 'crud' });
    api = new ApiClient(app.url, { as: ADMIN });
  });

  afterAll(async () => {
    await app?.close();
  });

  async function createProduct(overrides = {}) {
    const res = await api.post('/products', aProduct(overrides));
    expect(res.status).toBe(201);
    return res;
  }

  it('creates a product and returns it with Location, ETag and the public fields', async () => {
    const body = aProduct({ name: '  Espresso cup  ', description: 'Porcelain', price: 12.5, stock: 7 });

    const res = await api.post('/products', body);

    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/products/${res.body.id}`);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.body).toEqual({
      id: expect.any(Number),
      name: 'Espresso cup',
      description: 'Porcelain',
      price: '12.50',
      stock: 7,
      version: 1,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updated_at: expect.any(String),
    });
  });

  it('defaults a missing description to the empty string', async () => {
    const { body } = await api.post('/products', { name: 'Bare', price: '1', stock: 0 });

    expect(body).toMatchObject({ description: '', price: '1.00', stock: 0 });
  });

  it('reads back what it created, with the same ETag', async () => {
    const created = await createProduct();

    const res = await api.get(`/products/${created.body.id}`);

    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.body).toEqual(created.body);
  });

  it('answers 404 as a problem for a product that never existed', async () => {
    const res = await api.get('/products/987654321');

    expect(res.status).toBe(404);
    expect(res.contentType).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('updates any subset of fields without If-Match (seed clients) and bumps the version', async () => {
    const created = await createProduct({ name: 'Old name', price: '5.00', stock: 3 });

    const res = await api.put(`/products/${created.body.id}`, { price: '6.25' });

    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"2"');
    expect(res.body).toMatchObject({ name: 'Old name', price: '6.25', stock: 3, version: 2 });
    expect((await api.get(`/products/${created.body.id}`)).body).toEqual(res.body);
  });

  it('replaces all four fields in one PUT, as the seed clients send it', async () => {
    const created = await createProduct();
    const replacement = { name: 'New', description: 'Changed', price: '0.99', stock: 42 };

    const res = await api.put(`/products/${created.body.id}`, replacement);

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ...replacement, version: 2 });
  });

  it('applies an update whose If-Match names the current version', async () => {
    const created = await createProduct();

    const res = await api.put(`/products/${created.body.id}`, { stock: 99 }, { 'If-Match': created.headers.get('etag')! });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ stock: 99, version: 2 });
  });

  it('accepts If-Match: * for any current version', async () => {
    const created = await createProduct();

    const res = await api.put(`/products/${created.body.id}`, { stock: 1 }, { 'If-Match': '*' });

    expect(res.status).toBe(200);
  });

  it('rejects an update with a stale If-Match with 412, the current version, and no change', async () => {
    const created = await createProduct({ stock: 5 });
    const etag = created.headers.get('etag')!;
    await api.put(`/products/${created.body.id}`, { stock: 6 }, { 'If-Match': etag }); // someone else wins

    const res = await api.put(`/products/${created.body.id}`, { stock: 7 }, { 'If-Match': etag });

    expect(res.status).toBe(412);
    expect(res.contentType).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('etag')).toBe('"2"');
    expect(res.body).toMatchObject({ code: 'precondition_failed', current_version: 2 });
    expect((await api.get(`/products/${created.body.id}`)).body).toMatchObject({ stock: 6, version: 2 });
  });

  it('treats a weak If-Match tag as stale (strong comparison) and a malformed one as a 400', async () => {
    const created = await createProduct();

    const weak = await api.put(`/products/${created.body.id}`, { stock: 1 }, { 'If-Match': 'W/"1"' });
    const malformed = await api.put(`/products/${created.body.id}`, { stock: 1 }, { 'If-Match': 'version-1' });

    expect(weak.status).toBe(412);
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'validation_failed', field: 'If-Match' });
  });

  it('lets only one of two writers with the same If-Match win', async () => {
    const created = await createProduct();
    const etag = created.headers.get('etag')!;

    const results = await Promise.all(
      [1, 2].map((stock) => api.put(`/products/${created.body.id}`, { stock }, { 'If-Match': etag })),
    );

    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
  });

  it('soft-deletes: 204, then 404 on read, update and a second delete', async () => {
    const created = await createProduct();
    const path = `/products/${created.body.id}`;

    const deleted = await api.delete(path);

    expect(deleted.status).toBe(204);
    expect((await api.get(path)).status).toBe(404);
    expect((await api.put(path, { stock: 1 })).status).toBe(404);
    expect((await api.delete(path)).status).toBe(404);
    const [row] = await app.db.query<{ deleted_at: Date | null }>('SELECT deleted_at FROM products WHERE id = ?', [created.body.id]);
    expect(row?.deleted_at).toBeInstanceOf(Date);
  });

  it('leaves deleted products out of the list', async () => {
    const kept = await createProduct({ name: 'Listed gadget kept' });
    const gone = await createProduct({ name: 'Listed gadget gone' });
    await api.delete(`/products/${gone.body.id}`);

    const res = await api.get('/products?q=listed%20gadget');

    expect(res.body.items.map((p: { id: number }) => p.id)).toEqual([kept.body.id]);
  });

  it('answers 404 for unknown routes as a problem, not HTML', async () => {
    const res = await api.get('/nope');

    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'route_not_found' });
  });

  it('exposes the business counters and route-templated HTTP metrics on /metrics', async () => {
    const res = await api.get('/metrics');

    expect(res.status).toBe(200);
    expect(res.body).toMatch(/http_server_request_duration_seconds_count\{[^}]*method="POST",route="\/products",status_code="201"\}/);
    expect(res.body).toMatch(/http_server_request_duration_seconds_count\{[^}]*method="GET",route="\/products\/:id",status_code="200"\}/);
    expect(res.body).not.toMatch(/route="\/products\/\d/);
    expect(res.body).toMatch(/product_catalog_changes_total\{change="created",service="product-service"\} [1-9]/);
    expect(res.body).toMatch(/inventory_reservations_total\{outcome="reserved",service="product-service"\} 0/);
  });

  it('is ready when the database and Kafka answer', async () => {
    const res = await api.get('/readyz');

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ready', checks: { database: 'ok', kafka: 'ok' } });
  });
});

describe('product catalogue with PRODUCT_REQUIRE_IF_MATCH=true', () => {
  let app: TestProductService;
  let api: ApiClient;

  beforeAll(async () => {
    app = await startTestService({ name: 'ifmatch', env: { PRODUCT_REQUIRE_IF_MATCH: 'true' } });
    api = new ApiClient(app.url, { as: ADMIN });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('refuses writes without If-Match with 428 and accepts them with the current ETag', async () => {
    const created = await api.post('/products', aProduct());
    const path = `/products/${created.body.id}`;

    const unconditional = await api.put(path, { stock: 1 });
    const unconditionalDelete = await api.delete(path);
    const conditional = await api.put(path, { stock: 1 }, { 'If-Match': created.headers.get('etag')! });

    expect(unconditional.status).toBe(428);
    expect(unconditional.body).toMatchObject({ code: 'precondition_required' });
    expect(unconditionalDelete.status).toBe(428);
    expect(conditional.status).toBe(200);
  });
});
