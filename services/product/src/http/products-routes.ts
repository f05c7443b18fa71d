import { decodeCursor, encodeCursor, requireRole, validate } from '@eshop/common';
import { Router, type Request } from 'express';
import type { ProductCatalog } from '../domain/product-catalog';
import { productEtag, productRepresentation } from '../domain/product';
import { versionPrecondition } from './preconditions';
import { createProductBody, listProductsQuery, productIdParams, updateProductBody } from './schemas';

export interface ProductsRoutesOptions {
  catalog: ProductCatalog;
  /** PRODUCT_REQUIRE_IF_MATCH: writes to an existing product without If-Match get 428. */
  requireIfMatch: boolean;
}

/** Link to the next page: the same query with the new cursor, relative to this router's mount point. */
function nextLink(req: Request, cursor: string): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(req.query)) {
    if (key !== 'cursor' && typeof value === 'string') params.set(key, value);
  }
  params.set('cursor', cursor);
  return `${req.baseUrl}?${params.toString()}`;
}

/** The public catalogue API, mounted at /products. */
export function productsRoutes({ catalog, requireIfMatch }: ProductsRoutesOptions): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    requireRole(req, 'admin');
    const body = validate(createProductBody, req.body);
    const product = await catalog.create(body);
    res
      .status(201)
      .location(`${req.baseUrl}/${product.id}`)
      .setHeader('ETag', productEtag(product))
      .json(productRepresentation(product));
  });

  router.get('/', async (req, res) => {
    const query = validate(listProductsQuery, { ...req.query }, 'query');
    const page = await catalog.list({
      limit: query.limit,
      afterId: query.cursor === undefined ? undefined : decodeCursor(query.cursor, ({ after }) => (typeof after === 'number' && Number.isSafeInteger(after) && after >= 0 ? after : undefined)),
      nameContains: query.q,
      minPrice: query.min_price,
      maxPrice: query.max_price,
    });
    const nextCursor = page.nextAfterId === undefined ? null : encodeCursor({ after: page.nextAfterId });
    if (nextCursor) res.setHeader('Link', `<${nextLink(req, nextCursor)}>; rel="next"`);
    res.json({ items: page.items.map(productRepresentation), next_cursor: nextCursor });
  });

  router.get('/:id', async (req, res) => {
    const { id } = validate(productIdParams, req.params, 'path');
    const product = await catalog.get(id);
    res.setHeader('ETag', productEtag(product)).json(productRepresentation(product));
  });

  router.put('/:id', async (req, res) => {
    requireRole(req, 'admin');
    const { id } = validate(productIdParams, req.params, 'path');
    const changes = validate(updateProductBody, req.body);
    const precondition = versionPrecondition(req.get('if-match'), requireIfMatch);
    const product = await catalog.update(id, changes, precondition);
    res.setHeader('ETag', productEtag(product)).json(productRepresentation(product));
  });

  router.delete('/:id', async (req, res) => {
    requireRole(req, 'admin');
    const { id } = validate(productIdParams, req.params, 'path');
    const precondition = versionPrecondition(req.get('if-match'), requireIfMatch);
    await catalog.remove(id, precondition);
    res.status(204).end();
  });

  return router;
}
