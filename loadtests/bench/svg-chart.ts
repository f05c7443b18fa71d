/** Small dependency-free SVG charts for the report: line charts over categories and grouped bars. */

export interface Series {
  readonly name: string;
  /** One value per category; null leaves a gap. */
  readonly values: readonly (number | null)[];
  readonly color: string;
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly categories: readonly string[];
  readonly series: readonly Series[];
  /** Optional dashed horizontal reference lines (a ceiling, a target). */
  readonly references?: readonly { label: string; value: number; color: string }[];
  readonly width?: number;
  readonly height?: number;
}

export const COLORS = { sync: '#d95f02', async: '#1b9e77', direct: '#7570b3', gateway: '#e7298a', neutral: '#666666', drain: '#1f78b4' };

const MARGIN = { top: 58, right: 24, bottom: 64, left: 72 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function niceStep(range: number, ticks = 5): number {
  const raw = range / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  return (normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 5 ? 5 : 10) * magnitude;
}

function formatTick(v: number): string {
  if (v >= 10000) return `${(v / 1000).toFixed(0)}k`;
  if (v >= 1000) return `${(v / 1000).toFixed(1).replace(/\.0$/, '')}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly plotW: number;
  readonly plotH: number;
  readonly yMax: number;
  readonly y: (v: number) => number;
  readonly parts: string[];
}

function frame(spec: ChartSpec): Frame {
  const width = spec.width ?? 640;
  const height = spec.height ?? 360;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const values = [...spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null)), ...(spec.references ?? []).map((r) => r.value)];
  const max = Math.max(1e-9, ...values);
  const step = niceStep(max * 1.05);
  const yMax = Math.ceil((max * 1.05) / step) * step;
  const y = (v: number) => MARGIN.top + plotH - (v / yMax) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`,
  ];
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    const yy = y(v);
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${yy + 4}" text-anchor="end" fill="#444">${formatTick(v)}</text>`);
  }
  parts.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${height - 14}" text-anchor="middle">${esc(spec.xLabel)}</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`,
  );
  return { width, height, plotW, plotH, yMax, y, parts };
}

function finish(spec: ChartSpec, f: Frame): string {
  for (const r of spec.references ?? []) {
    const yy = f.y(r.value);
    f.parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + f.plotW}" y1="${yy}" y2="${yy}" stroke="${r.color}" stroke-dasharray="6 4"/>`);
    f.parts.push(`<text x="${MARGIN.left + f.plotW - 4}" y="${yy - 5}" text-anchor="end" fill="${r.color}">${esc(r.label)}</text>`);
  }
  // Legend: one row under the title, so it never hides a data point.
  let lx = MARGIN.left;
  const ly = 40;
  for (const s of spec.series) {
    f.parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${s.color}"/>`);
    f.parts.push(`<text x="${lx + 17}" y="${ly}">${esc(s.name)}</text>`);
    lx += 17 + s.name.length * 6.6 + 18;
  }
  f.parts.push('</svg>');
  return f.parts.join('\n') + '\n';
}

/** Lines with markers; categories evenly spaced on x (e.g. concurrency levels). */
export function lineChart(spec: ChartSpec): string {
  const f = frame(spec);
  const n = spec.categories.length;
  const x = (i: number) => MARGIN.left + (n === 1 ? f.plotW / 2 : 24 + (i * (f.plotW - 48)) / (n - 1));
  spec.categories.forEach((c, i) => {
    f.parts.push(`<text x="${x(i)}" y="${MARGIN.top + f.plotH + 18}" text-anchor="middle" fill="#444">${esc(c)}</text>`);
  });
  for (const s of spec.series) {
    const points = s.values.map((v, i) => (v === null ? null : ([x(i), f.y(v)] as const)));
    let d = '';
    points.forEach((p, i) => {
      if (!p) return;
      d += `${d === '' || !points[i - 1] ? 'M' : 'L'}${p[0].toFixed(1)},${p[1].toFixed(1)} `;
    });
    f.parts.push(`<path d="${d.trim()}" fill="none" stroke="${s.color}" stroke-width="2.5"/>`);
    points.forEach((p, i) => {
      if (!p) return;
      f.parts.push(`<circle cx="${p[0].toFixed(1)}" cy="${p[1].toFixed(1)}" r="4" fill="${s.color}"/>`);
      // The lowest series at a category is labelled below its point, the others above, so labels of close values do not collide.
      const others = spec.series.filter((o) => o !== s).map((o) => o.values[i]).filter((v): v is number => v !== null && v !== undefined);
      const below = others.length > 0 && others.every((v) => v > s.values[i]!);
      const ly = below ? p[1] + 17 : p[1] - 9;
      f.parts.push(`<text x="${p[0].toFixed(1)}" y="${ly.toFixed(1)}" text-anchor="middle" font-size="10" fill="${s.color}">${formatTick(round2(s.values[i]!))}</text>`);
    });
  }
  return finish(spec, f);
}

/** Grouped vertical bars, one group per category, one bar per series. */
export function barChart(spec: ChartSpec): string {
  const f = frame(spec);
  const n = spec.categories.length;
  const groupW = f.plotW / n;
  const barW = Math.min(48, (groupW * 0.7) / spec.series.length);
  spec.categories.forEach((c, i) => {
    const gx = MARGIN.left + i * groupW;
    f.parts.push(`<text x="${gx + groupW / 2}" y="${MARGIN.top + f.plotH + 18}" text-anchor="middle" fill="#444">${esc(c)}</text>`);
    spec.series.forEach((s, j) => {
      const v = s.values[i];
      if (v === null || v === undefined) return;
      const bx = gx + groupW / 2 - (barW * spec.series.length) / 2 + j * barW;
      const by = f.y(v);
      f.parts.push(`<rect x="${bx.toFixed(1)}" y="${by.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(MARGIN.top + f.plotH - by).toFixed(1)}" fill="${s.color}"/>`);
      f.parts.push(`<text x="${(bx + barW / 2 - 1).toFixed(1)}" y="${(by - 5).toFixed(1)}" text-anchor="middle" font-size="10">${formatTick(round2(v))}</text>`);
    });
  });
  return finish(spec, f);
}

const round2 = (v: number) => (v >= 100 ? Math.round(v) : Math.round(v * 10) / 10);
