/**
 * Reads docs/metrics.md's tables and parses the Prometheus text format, so tests can hold the catalogue
 * against what the processes really export (and other tests can ask which metrics are cluster-only).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export type CatalogueSection = 'application' | 'default' | 'cluster';

export interface CatalogueEntry {
  name: string;
  type: string;
  /** Label names (without `service`, which every series carries); [] for none. */
  labels: string[];
  /** Processes whose /metrics export it; every process for the default metrics, none for cluster-only series. */
  exportedBy: string[];
  section: CatalogueSection;
}

export const CATALOGUE_PATH = path.resolve(__dirname, '../../../docs/metrics.md');

const SECTIONS: Record<string, CatalogueSection> = {
  'Application metrics': 'application',
  'Default Node.js and process metrics': 'default',
  'Cluster-only series': 'cluster',
};

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => c.trim());
}

const LABEL_LIST = /^\s*(`[a-zA-Z_][a-zA-Z0-9_]*`(?:\s*,\s*`[a-zA-Z_][a-zA-Z0-9_]*`)*)/;

/** `method`: GET, …; `route`: … → [method, route]. Each `;`-separated part starts with one or more label names. */
export function parseLabels(cell: string): string[] {
  if (cell === '—' || cell === '') return [];
  const labels: string[] = [];
  for (const part of cell.split(';')) {
    const list = LABEL_LIST.exec(part)?.[1];
    if (list) labels.push(...[...list.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
  }
  return labels;
}

/** Every row of every metric table in the catalogue, tagged with the section it is in. */
export function readCatalogue(allProcesses: readonly string[], file = CATALOGUE_PATH): CatalogueEntry[] {
  const entries: CatalogueEntry[] = [];
  let section: CatalogueSection | undefined;
  let header: string[] | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const h2 = /^## (.+)$/.exec(line);
    if (h2) {
      section = SECTIONS[h2[1]!.trim()];
      header = undefined;
      continue;
    }
    if (!line.startsWith('|')) {
      header = undefined;
      continue;
    }
    const row = cells(line);
    if (!header) {
      header = row;
      continue;
    }
    if (row.every((c) => /^:?-+:?$/.test(c)) || !section || header[0] !== 'Metric') continue;
    const col = (name: string) => {
      const i = header!.indexOf(name);
      return i >= 0 ? (row[i] ?? '') : undefined;
    };
    const name = /`([^`]+)`/.exec(col('Metric') ?? '')?.[1];
    if (!name) throw new Error(`docs/metrics.md: a row without a metric name: ${line}`);
    const exportedBy =
      section === 'application'
        ? (col('Exported by') ?? '').split(',').map((p) => p.replace(/`/g, '').trim()).filter(Boolean)
        : section === 'default'
          ? [...allProcesses]
          : [];
    entries.push({ name, type: col('Type') ?? '', labels: parseLabels(col('Labels') ?? ''), exportedBy, section });
  }
  return entries;
}

export interface ScrapedFamily {
  type: string;
  /** Label names seen on its samples, without `le` and `quantile`. */
  labels: Set<string>;
  /** Values seen per label name (for cardinality checks). */
  values: Map<string, Set<string>>;
  samples: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Metric families of a /metrics response (Prometheus text format 0.0.4), keyed by family name. */
export function parseExposition(text: string): Map<string, ScrapedFamily> {
  const families = new Map<string, ScrapedFamily>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      families.set(type[1]!, { type: type[2]!, labels: new Set(), values: new Map(), samples: 0 });
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`unparsable sample line: ${line}`);
    const name = sample[1]!;
    const family =
      families.get(name) ??
      families.get(name.replace(/_(bucket|sum|count)$/, '')) ??
      families.get(name.replace(/_(sum|count)$/, ''));
    if (!family) throw new Error(`sample ${name} belongs to no # TYPE`);
    family.samples++;
    for (const [, label, value] of (sample[2] ?? '').matchAll(LABEL_PAIR)) {
      if (label === 'le' || label === 'quantile') continue;
      family.labels.add(label!);
      let seen = family.values.get(label!);
      if (!seen) family.values.set(label!, (seen = new Set()));
      seen.add(value!);
    }
  }
  return families;
}
