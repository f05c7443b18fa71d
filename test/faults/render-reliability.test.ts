import type { ScenarioReport } from '../../services/order/test/support/reliability-report';
import { BEGIN, END, renderFigures, replaceFigures, SCENARIOS } from './render-reliability';

function aReport(id: string, overrides: Partial<ScenarioReport> = {}): ScenarioReport {
  return {
    id,
    title: `scenario ${id}: something killed`,
    suite: `services/order/test/${id}.test.ts`,
    ranAt: '2026-11-25T12:00:00.000Z',
    machine: '2 × Test CPU, Node.js v24.21.0',
    seconds: 20,
    timeline: [{ at: 2.5, event: 'kill -9 of pid 42' }],
    spans: [{ name: 'service away', from: 2.5, to: 5 }],
    clients: { 'async intake': { requests: 12, answers: { '202': 10, '503': 2 }, retried: 2, retryAnswers: { '202': 2 }, replayedOnRetry: 1 } },
    invariants: {
      accepted: { async: 12, sync: 0 },
      confirmed: 7,
      rejected: 5,
      notTerminal: 0,
      lost: 0,
      unaccountedOrders: 0,
      reservationsHeld: 7,
      reservationsWithoutConfirmedOrder: 0,
      stock: [{ productId: 1, initial: 7, confirmedUnits: 7, final: 0 }],
      outboxLeft: 0,
    },
    observations: { retries: 3 },
    ...overrides,
  };
}

describe('docs/reliability.md figures', () => {
  const complete = SCENARIOS.map((id) => aReport(id));

  it('summarises every scenario in one row and details each with its timeline, clients and invariants', () => {
    const figures = renderFigures(complete);

    expect(figures.startsWith(BEGIN)).toBe(true);
    expect(figures.endsWith(END)).toBe(true);
    expect(figures).toContain('| [a](#a-scenario-a-consumer-kill-something-killed) | scenario a-consumer-kill: something killed | 202 × 10, 503 × 2; 2 retried | 12 / 0 | 7 / 5 | 0 | 0 | 0 | holds | 20 s |');
    expect(figures).toContain('| async intake | 12 | 202 × 10, 503 × 2 | 2 | 202 × 2 | 1 |');
    expect(figures).toContain('  service away :crit, 2500, 5000');
    expect(figures).toContain('  kill -9 of pid 42 :milestone, 2500, 2500');
    expect(figures).toContain('| #1 | 7 | 7 | 0 | 0 |');
    expect(figures).toContain('`services/order/test/a-consumer-kill.test.ts`, run 2026-11-25 12:00:00 UTC on 2 × Test CPU, Node.js v24.21.0; 20 s');
  });

  it('shows broken stock arithmetic instead of hiding it', () => {
    const leaked = aReport('b-product-kill', {
      invariants: { ...aReport('b').invariants!, stock: [{ productId: 1, initial: 7, confirmedUnits: 6, final: 0 }] },
    });

    const figures = renderFigures(complete.map((r) => (r.id === leaked.id ? leaked : r)));

    expect(figures).toMatch(/^\| \[b\].*\| \*\*broken\*\* \|/m);
  });

  it('refuses to render without a complete report for every scenario', () => {
    expect(() => renderFigures(complete.filter((r) => r.id !== 'c-api-kill'))).toThrow(/c-api-kill/);
    expect(() => renderFigures(complete.map((r) => (r.id === 'f-slow-product' ? { ...r, invariants: undefined } : r)))).toThrow(/f-slow-product/);
  });

  it('replaces only the generated section and fails when the markers are missing', () => {
    const doc = `# Reliability\n\nprose before\n\n${BEGIN}\nold figures\n${END}\n\nprose after\n`;

    expect(replaceFigures(doc, `${BEGIN}\nnew\n${END}`)).toBe(`# Reliability\n\nprose before\n\n${BEGIN}\nnew\n${END}\n\nprose after\n`);
    expect(() => replaceFigures('# Reliability\n', 'x')).toThrow(/BEGIN GENERATED/);
  });
});
