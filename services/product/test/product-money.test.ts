import { centsToMoney, moneyToCents } from '@eshop/common';
import { ADMIN, ApiClient } from '@eshop/test-support';
import { aProduct } from './support/factories';
import { startTestService, type TestProductService } from './support/product-service';

describe('product prices are exact decimals', () => {
  let app: TestProductService;
  let api: ApiClient;

  beforeAll(async () => {
    app = await startTestService({ name: 'money' });
    api = new ApiClient(app.url, { as: ADMIN });
  });

  afterAll(async () => {
    await app?.close();
  });

  it.each([
    ['0.10', '0.10'],
    ['0.20', '0.20'],
    [0.3, '0.30'],
    ['19.99', '19.99'],
    [19.99, '19.99'],
    ['5', '5.00'],
    ['007.5', '7.50'],
    [0, '0.00'],
    ['9999999999.99', '9999999999.99'],
  ])('stores price %j and returns it as %j', async (input, expected) => {
    const created = await api.post('/products', aProduct({ price: input }));

    expect(created.status).toBe(201);
    expect(created.body.price).toBe(expected);
    expect((await api.get(`/products/${created.body.id}`)).body.price).toBe(expected);
    const [row] = await app.db.query<{ price: string }>('SELECT price FROM products WHERE id = ?', [created.body.id]);
    expect(row?.price).toBe(expected);
  });

  it('adds 0.10 and 0.20 to exactly 0.30 when done in cents, never in floats', async () => {
    const a = (await api.post('/products', aProduct({ price: '0.10' }))).body.price as string;
    const b = (await api.post('/products', aProduct({ price: '0.20' }))).body.price as string;

    expect(centsToMoney(moneyToCents(a) + moneyToCents(b))).toBe('0.30');
  });

  it('filters the list by a decimal price range, bounds included', async () => {
    const tag = `range-${Date.now()}`;
    const prices = ['0.09', '0.10', '0.29', '0.30', '0.31', '10.00'];
    const ids = new Map<string, number>();
    for (const price of prices) ids.set(price, (await api.post('/products', aProduct({ name: `${tag} ${price}`, price }))).body.id);

    const res = await api.get(`/products?q=${tag}&min_price=0.10&max_price=0.30`);

    expect(res.status).toBe(200);
    expect(res.body.items.map((p: { price: string }) => p.price)).toEqual(['0.10', '0.29', '0.30']);
    const onlyMin = await api.get(`/products?q=${tag}&min_price=0.31`);
    expect(onlyMin.body.items.map((p: { price: string }) => p.price)).toEqual(['0.31', '10.00']);
    const onlyMax = await api.get(`/products?q=${tag}&max_price=0.1`);
    expect(onlyMax.body.items.map((p: { price: string }) => p.price)).toEqual(['0.09', '0.10']);
  });

  it('keeps the price exact through an update', async () => {
    const created = await api.post('/products', aProduct({ price: '1.00' }));

    const updated = await api.put(`/products/${created.body.id}`, { price: 2.05 });

    expect(updated.body.price).toBe('2.05');
  });
});
