import { ADMIN, ApiClient, type RequestOptions } from '@eshop/test-support';
import { aProduct } from './support/factories';
import { startTestService, type TestProductService } from './support/product-service';

interface BadRequestCase {
  name: string;
  method: 'GET' | 'POST' | 'PUT';
  /** `:id` is replaced by an existing product's id. */
  path: string;
  request?: RequestOptions;
  status: number;
  code: string;
  field?: string;
}

const valid = aProduct();
const json = (body: unknown): RequestOptions => ({ json: body });

const cases: BadRequestCase[] = [
  { name: 'an unknown field', method: 'POST', path: '/products', request: json({ ...valid, colour: 'red' }), status: 400, code: 'validation_failed', field: 'colour' },
  { name: 'a missing name', method: 'POST', path: '/products', request: json({ price: '1.00', stock: 1 }), status: 400, code: 'validation_failed', field: 'name' },
  { name: 'a blank name', method: 'POST', path: '/products', request: json({ ...valid, name: '   ' }), status: 400, code: 'validation_failed', field: 'name' },
  { name: 'a 201-character name', method: 'POST', path: '/products', request: json({ ...valid, name: 'x'.repeat(201) }), status: 400, code: 'validation_failed', field: 'name' },
  { name: 'a name that is not a string', method: 'POST', path: '/products', request: json({ ...valid, name: 42 }), status: 400, code: 'validation_failed', field: 'name' },
  { name: 'a 2001-character description', method: 'POST', path: '/products', request: json({ ...valid, description: 'd'.repeat(2001) }), status: 400, code: 'validation_failed', field: 'description' },
  { name: 'a negative price', method: 'POST', path: '/products', request: json({ ...valid, price: -1 }), status: 400, code: 'validation_failed', field: 'price' },
  { name: 'a price with 3 decimals', method: 'POST', path: '/products', request: json({ ...valid, price: '1.999' }), status: 400, code: 'validation_failed', field: 'price' },
  { name: 'a price of "abc"', method: 'POST', path: '/products', request: json({ ...valid, price: 'abc' }), status: 400, code: 'validation_failed', field: 'price' },
  { name: 'a price of 1e30', method: 'POST', path: '/products', request: { raw: '{"name":"n","price":1e30,"stock":1}', headers: { 'content-type': 'application/json' } }, status: 400, code: 'validation_failed', field: 'price' },
  { name: 'a float price that is not exact (0.1 + 0.2)', method: 'POST', path: '/products', request: json({ ...valid, price: 0.1 + 0.2 }), status: 400, code: 'validation_failed', field: 'price' },
  { name: 'a stock of -1', method: 'POST', path: '/products', request: json({ ...valid, stock: -1 }), status: 400, code: 'validation_failed', field: 'stock' },
  { name: 'a stock of 1.5', method: 'POST', path: '/products', request: json({ ...valid, stock: 1.5 }), status: 400, code: 'validation_failed', field: 'stock' },
  { name: 'a stock of "10" (a string)', method: 'POST', path: '/products', request: json({ ...valid, stock: '10' }), status: 400, code: 'validation_failed', field: 'stock' },
  { name: 'a stock above 1,000,000,000', method: 'POST', path: '/products', request: json({ ...valid, stock: 1_000_000_001 }), status: 400, code: 'validation_failed', field: 'stock' },
  { name: 'a JSON array instead of an object', method: 'POST', path: '/products', request: json([valid]), status: 400, code: 'validation_failed', field: '(body)' },
  { name: 'no body at all', method: 'POST', path: '/products', status: 400, code: 'validation_failed' },
  { name: 'malformed JSON', method: 'POST', path: '/products', request: { raw: '{"name": "x",', headers: { 'content-type': 'application/json' } }, status: 400, code: 'malformed_json' },
  { name: 'a non-JSON content type', method: 'POST', path: '/products', request: { raw: 'name=x&price=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, status: 415, code: 'unsupported_media_type' },
  { name: 'an oversized body', method: 'POST', path: '/products', request: json({ ...valid, description: 'x'.repeat(200_000) }), status: 413, code: 'payload_too_large' },
  { name: 'an empty update', method: 'PUT', path: '/products/:id', request: json({}), status: 400, code: 'validation_failed', field: '(body)' },
  { name: 'an update with an unknown field', method: 'PUT', path: '/products/:id', request: json({ stock: 1, id: 7 }), status: 400, code: 'validation_failed', field: 'id' },
  { name: 'an update with a negative stock', method: 'PUT', path: '/products/:id', request: json({ stock: -5 }), status: 400, code: 'validation_failed', field: 'stock' },
  { name: 'a non-numeric id', method: 'GET', path: '/products/abc', status: 400, code: 'validation_failed', field: 'id' },
  { name: 'id 0', method: 'GET', path: '/products/0', status: 400, code: 'validation_failed', field: 'id' },
  { name: 'id 99999999999999999999 (beyond any integer)', method: 'GET', path: '/products/99999999999999999999', status: 400, code: 'validation_failed', field: 'id' },
  { name: 'a non-numeric id on update', method: 'PUT', path: '/products/1.5', request: json({ stock: 1 }), status: 400, code: 'validation_failed', field: 'id' },
  { name: 'limit 0', method: 'GET', path: '/products?limit=0', status: 400, code: 'validation_failed', field: 'limit' },
  { name: 'limit 101', method: 'GET', path: '/products?limit=101', status: 400, code: 'validation_failed', field: 'limit' },
  { name: 'limit "ten"', method: 'GET', path: '/products?limit=ten', status: 400, code: 'validation_failed', field: 'limit' },
  { name: 'limit given twice', method: 'GET', path: '/products?limit=5&limit=6', status: 400, code: 'validation_failed', field: 'limit' },
  { name: 'min_price above max_price', method: 'GET', path: '/products?min_price=10.00&max_price=9.99', status: 400, code: 'validation_failed', field: 'min_price' },
  { name: 'a malformed min_price', method: 'GET', path: '/products?min_price=1.234', status: 400, code: 'validation_failed', field: 'min_price' },
  { name: 'an unknown query parameter', method: 'GET', path: '/products?sort=price', status: 400, code: 'validation_failed', field: 'sort' },
  { name: 'a forged cursor', method: 'GET', path: '/products?cursor=not-a-cursor', status: 400, code: 'validation_failed', field: 'cursor' },
];

describe('product API input validation', () => {
  let app: TestProductService;
  let api: ApiClient;
  let existingId: number;

  beforeAll(async () => {
    app = await startTestService({ name: 'validation' });
    api = new ApiClient(app.url, { as: ADMIN });
    existingId = (await api.post('/products', aProduct({ stock: 3 }))).body.id;
  });

  afterAll(async () => {
    await app?.close();
  });

  it.each(cases)('rejects $name with $status $code', async ({ method, path, request, status, code, field }) => {
    const res = await api.request(method, path.replace(':id', String(existingId)), request);

    expect(res.status).toBe(status);
    expect(res.contentType).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, code, type: expect.stringMatching(/^urn:eshop:problem:/) });
    if (field !== undefined) {
      expect(res.body.field).toBe(field);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    }
  });

  it('names every offending field at once', async () => {
    const res = await api.post('/products', { name: '', price: 'x', stock: -1, extra: true });

    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['extra', 'name', 'price', 'stock']);
  });

  it('changes nothing and creates nothing when a request is rejected', async () => {
    await Promise.all(cases.map((c) => api.request(c.method, c.path.replace(':id', String(existingId)), c.request)));

    const rows = await app.db.query<{ id: number; stock: number; version: number }>('SELECT id, stock, version FROM products');
    expect(rows).toEqual([{ id: existingId, stock: 3, version: 1 }]);
  });

  it('never answers 500 for a hostile id', async () => {
    const ids = ['-1', '1e3', '0x10', '%00', '9007199254740993', ' 1', '1;DROP TABLE products'];

    const statuses = await Promise.all(ids.map(async (id) => (await api.get(`/products/${encodeURIComponent(id)}`)).status));

    expect(statuses).toEqual(ids.map(() => 400));
  });
});
