/**
 * docs/metrics.md is the contract dashboards and alert rules are written against. This test starts the
 * four processes as they run in production (in-process, on the local MariaDB and Kafka), drives a little
 * of every kind of traffic, scrapes each /metrics and holds the catalogue against what is really there.
 */
import { ObservedPlatform, PROCESSES, type ProcessName } from './support/platform';
import { parseExposition, readCatalogue, type CatalogueEntry, type ScrapedFamily } from './support/metrics-catalogue';

const isDefaultMetric = (name: string) => name.startsWith('process_') || name.startsWith('nodejs_');

describe('the metric catalogue (docs/metrics.md) against the running processes', () => {
  let platform: ObservedPlatform;
  const scraped = new Map<ProcessName, Map<string, ScrapedFamily>>();
  const catalogue = readCatalogue(PROCESSES);
  const application = catalogue.filter((e) => e.section === 'application');

  beforeAll(async () => {
    platform = await ObservedPlatform.start('obscat');
    await platform.driveTraffic();
    for (const process of PROCESSES) scraped.set(process, parseExposition(await platform.scrape(process)));
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it('lists every metric family our code exports, with its type, under each process that exports it', () => {
    const problems: string[] = [];
    for (const [process, families] of scraped) {
      for (const [name, family] of families) {
        if (isDefaultMetric(name)) continue;
        const entry = application.find((e) => e.name === name);
        if (!entry) problems.push(`${process} exports ${name} (${family.type}), which docs/metrics.md does not list`);
        else if (entry.type !== family.type) problems.push(`${name}: ${family.type} in ${process}, ${entry.type} in docs/metrics.md`);
        else if (!entry.exportedBy.includes(process)) problems.push(`${name}: exported by ${process}, not in its "Exported by" column`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('exports every application metric the catalogue lists, in every process its row names, with that type', () => {
    expect(application.length).toBeGreaterThan(30);
    const problems: string[] = [];
    for (const entry of application) {
      if (entry.exportedBy.length === 0) problems.push(`${entry.name}: empty "Exported by" column`);
      for (const process of entry.exportedBy) {
        const family = scraped.get(process as ProcessName)?.get(entry.name);
        if (!(PROCESSES as readonly string[]).includes(process)) problems.push(`${entry.name}: unknown process "${process}"`);
        else if (!family) problems.push(`${entry.name}: listed for ${process}, which does not export it`);
        else if (family.type !== entry.type) problems.push(`${entry.name}: ${entry.type} in docs/metrics.md, ${family.type} in ${process}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('names exactly the labels the series carry (besides service), and the traffic produced a series of each', () => {
    const problems: string[] = [];
    for (const entry of application) {
      const families = entry.exportedBy.map((p) => scraped.get(p as ProcessName)?.get(entry.name)).filter((f) => f !== undefined);
      const withSamples = families.filter((f) => f.samples > 0);
      if (withSamples.length === 0) {
        problems.push(`${entry.name}: no series after the traffic`);
        continue;
      }
      const seen = new Set(withSamples.flatMap((f) => [...f.labels]));
      seen.delete('service');
      const documented = [...entry.labels].sort().join(', ');
      const actual = [...seen].sort().join(', ');
      if (documented !== actual) problems.push(`${entry.name}: labels [${actual}] exported, [${documented}] documented`);
    }
    expect(problems).toEqual([]);
  });

  it('carries the process name in the service label of every series', () => {
    const expected: Record<ProcessName, string> = {
      gateway: 'api-gateway',
      product: 'product-service',
      'order-api': 'order-service',
      'order-consumer': 'order-consumer',
    };
    for (const [process, families] of scraped) {
      const services = new Set([...families.values()].flatMap((f) => [...(f.values.get('service') ?? [])]));
      expect({ process, services: [...services] }).toEqual({ process, services: [expected[process]] });
    }
  });

  it('labels HTTP metrics with route templates, never raw paths or ids', () => {
    const routes = [...scraped.values()].flatMap((families) => [
      ...(families.get('http_server_request_duration_seconds')?.values.get('route') ?? []),
    ]);
    expect(routes).toEqual(expect.arrayContaining(['/products/:id', '/orders', '/orders/async', '/orders/:id', '/internal/reservations']));
    const rawSegment = /\/(\d+|[0-9a-f]{8}-[0-9a-f-]{27,})(\/|$)/i;
    expect(routes.filter((r) => rawSegment.test(r) || (!r.startsWith('/') && r !== 'unmatched'))).toEqual([]);
  });

  it('exports the listed default Node.js and process metrics from every process', () => {
    const defaults = catalogue.filter((e) => e.section === 'default');
    expect(defaults.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const entry of defaults) {
      for (const process of PROCESSES) {
        const family = scraped.get(process)!.get(entry.name);
        if (family?.type !== entry.type) problems.push(`${entry.name}: ${family?.type ?? 'missing'} in ${process}, ${entry.type} documented`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('marks as cluster-only only series that no process exports', () => {
    const cluster: CatalogueEntry[] = catalogue.filter((e) => e.section === 'cluster');
    expect(cluster.map((e) => e.name)).toEqual(
      expect.arrayContaining(['kube_deployment_status_replicas', 'kube_horizontalpodautoscaler_status_current_replicas', 'keda_scaler_metrics_value', 'kafka_consumergroup_lag']),
    );
    const exportedHere = cluster.filter((e) => [...scraped.values()].some((families) => families.has(e.name)));
    expect(exportedHere).toEqual([]);
  });
});
