/** Small factories for order request bodies. */
let users = 0;

/** A user id unique across runs, so list filters see only this test's orders. */
export function aUserId(): string {
  users += 1;
  return `user-${process.pid}-${Date.now().toString(36)}-${users}`;
}

export function anOrder(userId: string, items: Array<[productId: number, quantity: number]>) {
  return { user_id: userId, items: items.map(([product_id, quantity]) => ({ product_id, quantity })) };
}
