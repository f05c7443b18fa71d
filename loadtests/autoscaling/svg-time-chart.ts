/**
 * Dependency-free SVG line chart over a numeric time axis (minutes). The benchmark's svg-chart.ts spaces
 * categories evenly and labels every point, which suits a handful of concurrency levels, not thousands
 * of one-second samples; this draws polylines without markers, in the same look.
 */

export interface TimeSeries {
  /** Legend text; empty: drawn without a legend entry. */
  readonly name: string;
  readonly color: string;
  /** [minute, value]; null values leave a gap. */
  readonly points: readonly (readonly [number, number | null])[];
  readonly dashed?: boolean;
}

export interface TimeChartSpec {
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly TimeSeries[];
  /** Shaded interval on x (e.g. the spike), in minutes. */
  readonly band?: { readonly from: number; readonly to: number; readonly label: string };
  readonly width?: number;
  readonly height?: number;
}

const MARGIN = { top: 58, right: 24, bottom: 48, left: 72 };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function niceStep(range: number, ticks = 5): number {
  const raw = range / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const n = raw / magnitude;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * magnitude;
}

function tick(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1).replace(/\.0$/, '')}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1).replace(/\.0$/, '')}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

export function timeChart(spec: TimeChartSpec): string {
  const width = spec.width ?? 720;
  const height = spec.height ?? 320;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1]).filter((v): v is number => v !== null && Number.isFinite(v)));
  const xMax = Math.max(1, ...xs);
  const yStep = niceStep(Math.max(1e-9, ...ys) * 1.05);
  const yMax = Math.ceil((Math.max(1e-9, ...ys) * 1.05) / yStep) * yStep;
  const xStep = niceStep(xMax, 8);
  const x = (m: number) => MARGIN.left + (m / xMax) * plotW;
  const y = (v: number) => MARGIN.top + plotH - (Math.min(v, yMax) / yMax) * plotH;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`,
  ];
  if (spec.band) {
    parts.push(`<rect x="${x(spec.band.from).toFixed(1)}" y="${MARGIN.top}" width="${(x(spec.band.to) - x(spec.band.from)).toFixed(1)}" height="${plotH}" fill="#f3e6d0"/>`);
    parts.push(`<text x="${((x(spec.band.from) + x(spec.band.to)) / 2).toFixed(1)}" y="${MARGIN.top + 14}" text-anchor="middle" fill="#8a6d3b" font-size="11">${esc(spec.band.label)}</text>`);
  }
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#444">${tick(v)}</text>`);
  }
  for (let m = 0; m <= xMax + 1e-9; m += xStep) {
    parts.push(`<text x="${x(m).toFixed(1)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle" fill="#444">${tick(m)}</text>`);
  }
  parts.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${height - 10}" text-anchor="middle">minutes</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`,
  );
  for (const s of spec.series) {
    let d = '';
    let pen = false;
    for (const [m, v] of s.points) {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(m).toFixed(1)},${y(v).toFixed(1)} `;
      pen = true;
    }
    parts.push(`<path d="${d.trim()}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
  }
  let lx = MARGIN.left;
  for (const s of spec.series.filter((x) => x.name !== '')) {
    parts.push(`<rect x="${lx}" y="30" width="12" height="12" fill="${s.color}"/>`);
    parts.push(`<text x="${lx + 17}" y="40">${esc(s.name)}</text>`);
    lx += 17 + s.name.length * 6.6 + 18;
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
