/** A catalogue product as the repositories return it. Money is a decimal string with two places. */
export interface Product {
  id: number;
  name: string;
  description: string;
  price: string;
  stock: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface DeletedProduct extends Product {
  deletedAt: Date;
}

export interface NewProduct {
  name: string;
  description: string;
  price: string;
  stock: number;
}

/** A partial update: any subset of the writable fields. */
export type ProductChanges = Partial<NewProduct>;

/** Keyset-paginated catalogue query; prices are decimal strings. */
export interface ProductFilter {
  afterId?: number;
  limit: number;
  nameContains?: string;
  minPrice?: string;
  maxPrice?: string;
}

/** What the client claimed to have seen (If-Match): any current version, or one of these. */
export type VersionPrecondition = { kind: 'any' } | { kind: 'versions'; versions: number[] };

/** The public JSON representation, shared by the HTTP API and the product.* events. */
export interface ProductRepresentation {
  id: number;
  name: string;
  description: string;
  price: string;
  stock: number;
  version: number;
  created_at: string;
  updated_at: string;
}

export function productRepresentation(product: Product): ProductRepresentation {
  return {
    id: product.id,
    name: product.name,
    description: product.description,
    price: product.price,
    stock: product.stock,
    version: product.version,
    created_at: product.createdAt.toISOString(),
    updated_at: product.updatedAt.toISOString(),
  };
}

/** Strong entity tag of a product version, e.g. `"3"`. */
export function productEtag(product: Pick<Product, 'version'>): string {
  return `"${product.version}"`;
}
