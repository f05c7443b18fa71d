import { AppError, type Outbox } from '@eshop/common';
import type { ProductRepository } from '../data/product-repository';
import type { Transact, Transaction } from '../data/transactions';
import type { NewProduct, Product, ProductChanges, ProductFilter, VersionPrecondition } from './product';
import { productCreated, productDeleted, productUpdated } from './product-events';
import type { ProductMetrics } from './product-metrics';

export interface CatalogDependencies {
  transact: Transact;
  products: ProductRepository;
  outbox: Pick<Outbox, 'enqueue'>;
  topic: string;
  metrics: ProductMetrics;
}

export interface ProductPage {
  items: Product[];
  /** Id to continue after, or undefined on the last page. */
  nextAfterId: number | undefined;
}

/** Catalogue use cases. Each write and its event commit together (transactional outbox). */
export class ProductCatalog {
  constructor(private readonly deps: CatalogDependencies) {}

  async create(input: NewProduct): Promise<Product> {
    const { products, outbox, topic } = this.deps;
    const product = await this.deps.transact(async (tx) => {
      const created = await products.insert(tx, input);
      await outbox.enqueue(tx, [productCreated(topic, created)]);
      return created;
    });
    this.deps.metrics.catalogChanges.inc({ change: 'created' });
    return product;
  }

  async get(id: number): Promise<Product> {
    const product = await this.deps.products.findById(id);
    if (!product) throw AppError.notFound('product', id);
    return product;
  }

  async list(filter: ProductFilter): Promise<ProductPage> {
    const rows = await this.deps.products.list(filter);
    const items = rows.slice(0, filter.limit);
    return { items, nextAfterId: rows.length > filter.limit ? items.at(-1)?.id : undefined };
  }

  /** Partial update as one conditional UPDATE (optimistic concurrency); a stale precondition is a 412. */
  async update(id: number, changes: ProductChanges, precondition?: VersionPrecondition): Promise<Product> {
    const { products, outbox, topic } = this.deps;
    const product = await this.deps.transact(async (tx) => {
      const updated = await products.update(tx, id, changes, expectedVersions(precondition));
      if (!updated) throw await this.whyNotWritten(tx, id);
      const after = await products.findById(id, tx);
      if (!after) throw new Error(`product ${id} vanished inside its own transaction`);
      await outbox.enqueue(tx, [productUpdated(topic, after)]);
      return after;
    });
    this.deps.metrics.catalogChanges.inc({ change: 'updated' });
    return product;
  }

  /** Soft delete: the product disappears from the catalogue; reservations keep their captured lines. */
  async remove(id: number, precondition?: VersionPrecondition): Promise<void> {
    const { products, outbox, topic } = this.deps;
    await this.deps.transact(async (tx) => {
      const deleted = await products.softDelete(tx, id, expectedVersions(precondition));
      if (!deleted) throw await this.whyNotWritten(tx, id);
      const after = await products.findDeleted(tx, id);
      if (!after) throw new Error(`product ${id} is not deleted after its own delete`);
      await outbox.enqueue(tx, [productDeleted(topic, after)]);
    });
    this.deps.metrics.catalogChanges.inc({ change: 'deleted' });
  }

  private async whyNotWritten(tx: Transaction, id: number): Promise<AppError> {
    const state = await this.deps.products.state(tx, id);
    if (!state || state.deleted) return AppError.notFound('product', id);
    return new AppError({
      status: 412,
      code: 'precondition_failed',
      detail: `product ${id} has version ${state.version}, not the one in If-Match; GET it and retry with its ETag`,
      headers: { ETag: `"${state.version}"` },
      extensions: { current_version: state.version },
    });
  }
}

function expectedVersions(precondition: VersionPrecondition | undefined): number[] | undefined {
  return precondition?.kind === 'versions' ? precondition.versions : undefined;
}
