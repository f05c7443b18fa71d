import { ADMIN, ApiClient } from '@eshop/test-support';
import { aProduct } from './support/factories';
import { startTestService, type TestProductService } from './support/product-service';

interface Page {
  items: Array<{ id: number; name: string }>;
  next_cursor: string | null;
}

describe('product list pagination and search', () => {
  let app: TestProductService;
  let api: ApiClient;
  const created: number[] = [];

  beforeAll(async () => {
    app = await startTestService({ name: 'paging' });
    api = new ApiClient(app.url, { as: ADMIN });
    // Sequential, so ids ascend in creation order.
    for (let i = 1; i <= 45; i++) created.push((await api.post('/products', aProduct({ name: `Item ${String(i).padStart(2, '0')}` }))).body.id);
  });

  afterAll(async () => {
    await app?.close();
  });

  async function allPages(path: string, onPage?: (n: number) => Promise<void>) {
    const pages: Page[] = [];
    let next: string | null = path;
    while (next) {
      const res: { status: number; body: Page; headers: Headers } = await api.get(next);
      expect(res.status).toBe(200);
      pages.push(res.body);
      const link = res.headers.get('link');
      if (res.body.next_cursor) {
        expect(link).toBe(`</products?${new URLSearchParams([...new URLSearchParams(path.split('?')[1]).entries()].filter(([k]) => k !== 'cursor').concat([['cursor', res.body.next_cursor]])).toString()}>; rel="next"`);
        next = link!.slice(1, link!.indexOf('>'));
      } else {
        expect(link).toBeNull();
        next = null;
      }
      await onPage?.(pages.length);
    }
    return pages;
  }

  it('walks 45 products in 3 pages of at most 20, in id order, without duplicates or gaps', async () => {
    const pages = await allPages('/products?limit=20');

    expect(pages.map((p) => p.items.length)).toEqual([20, 20, 5]);
    expect(pages[2]?.next_cursor).toBeNull();
    expect(pages.flatMap((p) => p.items.map((i) => i.id))).toEqual(created);
  });

  it('defaults to pages of 20', async () => {
    const res = await api.get('/products');

    expect(res.body.items).toHaveLength(20);
    expect(res.body.next_cursor).toEqual(expect.any(String));
  });

  it('stays stable while products are inserted during the walk: no duplicates, nothing skipped', async () => {
    const inserted: number[] = [];

    const pages = await allPages('/products?limit=20', async () => {
      inserted.push((await api.post('/products', aProduct({ name: 'Late arrival' }))).body.id);
    });

    const seen = pages.flatMap((p) => p.items.map((i) => i.id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, created.length)).toEqual(created);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    // Products added behind the cursor show up on later pages.
    expect(seen).toEqual(expect.arrayContaining(inserted.slice(0, -1)));
  });

  it('searches names case-insensitively and keeps the filter on the next link', async () => {
    const pages = await allPages('/products?q=iTeM%200&limit=4');

    expect(pages.flatMap((p) => p.items.map((i) => i.name))).toEqual(['Item 01', 'Item 02', 'Item 03', 'Item 04', 'Item 05', 'Item 06', 'Item 07', 'Item 08', 'Item 09']);
    expect(pages).toHaveLength(3);
  });

  it('treats % and _ in a search as plain characters', async () => {
    await api.post('/products', aProduct({ name: '100% cotton_shirt' }));

    const percent = await api.get(`/products?q=${encodeURIComponent('0% c')}`);
    const underscore = await api.get(`/products?q=${encodeURIComponent('n_s')}`);
    const wildcardOnly = await api.get(`/products?q=${encodeURIComponent('%')}`);

    expect(percent.body.items.map((p: { name: string }) => p.name)).toEqual(['100% cotton_shirt']);
    expect(underscore.body.items.map((p: { name: string }) => p.name)).toEqual(['100% cotton_shirt']);
    expect(wildcardOnly.body.items.map((p: { name: string }) => p.name)).toEqual(['100% cotton_shirt']);
  });

  it('returns an empty last page when nothing matches', async () => {
    const res = await api.get('/products?q=no-such-thing');

    expect(res.body).toEqual({ items: [], next_cursor: null });
    expect(res.headers.get('link')).toBeNull();
  });
});
