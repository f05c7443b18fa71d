/** Small factories for request bodies; every product gets a distinct name. */
let sequence = 0;

export interface ProductBody {
  name: string;
  description?: string;
  price: string | number;
  stock: number;
}

export function aProduct(overrides: Partial<ProductBody> = {}): ProductBody {
  sequence += 1;
  return { name: `Widget ${sequence}`, description: 'A test widget', price: '19.99', stock: 10, ...overrides };
}

let orders = 0;

/** An order id unique across runs. */
export function anOrderId(): string {
  orders += 1;
  return `order-${process.pid}-${Date.now().toString(36)}-${orders}`;
}

export function aReservation(orderId: string, items: Array<[productId: number, quantity: number]>) {
  return { order_id: orderId, items: items.map(([product_id, quantity]) => ({ product_id, quantity })) };
}
