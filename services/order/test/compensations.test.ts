import { Metrics } from '@eshop/common';
import { silentLogger } from '@eshop/test-support';
import type { Inventory } from '../src/clients/product-client';
import { Compensations } from '../src/domain/compensations';
import { orderMetrics } from '../src/domain/order-metrics';

/** An inventory that fails the first `failures` releases: the compensation's retry and give-up rules. */
function flakyInventory(failures: number): Inventory & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    reserve: async () => {
      throw new Error('not used');
    },
    release: async (orderId) => {
      calls.push(orderId);
      if (calls.length <= failures) throw new Error('product service down');
    },
  };
}

describe('Compensations (background release of a reservation that could not become an order)', () => {
  async function failuresCounted(metrics: Metrics): Promise<number> {
    const text = await metrics.registry.metrics();
    return Number(/^order_compensation_failures_total\{[^}]*\} (\d+)$/m.exec(text)?.[1]);
  }

  it('retries a failing release until it succeeds, and drain() waits for it', async () => {
    const metrics = new Metrics('compensation-test-1');
    const inventory = flakyInventory(2);
    const compensations = new Compensations(inventory, silentLogger, orderMetrics(metrics), 4, 5);

    compensations.release('o-1', 'test');
    await compensations.drain();

    expect(inventory.calls).toEqual(['o-1', 'o-1', 'o-1']);
    expect(await failuresCounted(metrics)).toBe(0);
  });

  it('gives up after the configured attempts and counts the failure', async () => {
    const metrics = new Metrics('compensation-test-2');
    const inventory = flakyInventory(100);
    const compensations = new Compensations(inventory, silentLogger, orderMetrics(metrics), 3, 5);

    compensations.release('o-2', 'test');
    await compensations.drain();

    expect(inventory.calls).toHaveLength(3);
    expect(await failuresCounted(metrics)).toBe(1);
  });

  it('keeps the reservation when the order turns out to be recorded (a COMMIT whose answer was lost)', async () => {
    const metrics = new Metrics('compensation-test-3');
    const inventory = flakyInventory(0);
    const compensations = new Compensations(inventory, silentLogger, orderMetrics(metrics), 3, 5);
    let lookups = 0;

    compensations.release('o-3', 'test', async () => {
      lookups += 1;
      if (lookups < 3) throw new Error('database still down'); // waits until it can tell
      return true;
    });
    await compensations.drain();

    expect(lookups).toBe(3);
    expect(inventory.calls).toEqual([]);
  });

  it('releases once it knows the order was not recorded', async () => {
    const inventory = flakyInventory(0);
    const compensations = new Compensations(inventory, silentLogger, orderMetrics(new Metrics('compensation-test-4')), 3, 5);

    compensations.release('o-4', 'test', async () => false);
    await compensations.drain();

    expect(inventory.calls).toEqual(['o-4']);
  });
});
