/**
 * A small, dependency-free SVG line chart: two panels sharing the time axis (memory on top,
 * latency below). Pure and deterministic: numbers are printed with fixed precision, so the
 * same data always gives the same bytes.
 */

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly points: readonly (readonly [x: number, y: number])[];
  /** Dashed line (used for limits and budgets). */
  readonly dashed?: boolean;
}

export interface ChartPanel {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly ChartSeries[];
}

export interface ChartOptions {
  readonly width?: number;
  readonly panelHeight?: number;
  readonly xLabel?: string;
}

const MARGIN = { left: 64, right: 16, top: 28, bottom: 34 };

export function renderLineChart(panels: readonly ChartPanel[], options: ChartOptions = {}): string {
  const width = options.width ?? 760;
  const panelHeight = options.panelHeight ?? 220;
  const all = panels.flatMap((p) => p.series.flatMap((s) => s.points));
  const xScale = niceScale(Math.max(1, ...all.map(([x]) => x)));
  const xMin = Math.min(0, ...all.map(([x]) => x));
  const height = panels.length * panelHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="11" role="img">`,
  ];
  panels.forEach((panel, i) => parts.push(renderPanel(panel, i * panelHeight, width, panelHeight, xMin, xScale, options.xLabel ?? 'seconds')));
  parts.push('</svg>');
  return parts.join('\n');
}

function renderPanel(panel: ChartPanel, top: number, width: number, height: number, xMin: number, xScale: Scale, xLabel: string): string {
  const xMax = xScale.max;
  const plotLeft = MARGIN.left;
  const plotRight = width - MARGIN.right;
  const plotTop = top + MARGIN.top;
  const plotBottom = top + height - MARGIN.bottom;
  const ys = panel.series.flatMap((s) => s.points.map(([, y]) => y));
  const yScale = niceScale(Math.max(1e-9, ...ys) * 1.05);
  const yMax = yScale.max;
  const sx = (x: number): number => plotLeft + ((x - xMin) / (xMax - xMin || 1)) * (plotRight - plotLeft);
  const sy = (y: number): number => plotBottom - (y / yMax) * (plotBottom - plotTop);
  const out: string[] = [`<g>`, `<text x="${plotLeft}" y="${fmt(top + 16)}" font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`];
  for (let y = 0; y <= yMax + 1e-9; y += yScale.step) {
    out.push(`<line x1="${plotLeft}" x2="${plotRight}" y1="${fmt(sy(y))}" y2="${fmt(sy(y))}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${plotLeft - 6}" y="${fmt(sy(y) + 4)}" text-anchor="end">${escapeXml(formatTick(y))}</text>`);
  }
  for (let x = xMin; x <= xMax + 1e-9; x += xScale.step) {
    out.push(`<text x="${fmt(sx(x))}" y="${fmt(plotBottom + 14)}" text-anchor="middle">${escapeXml(formatTick(x))}</text>`);
  }
  out.push(`<text x="${fmt((plotLeft + plotRight) / 2)}" y="${fmt(plotBottom + 28)}" text-anchor="middle" fill="#555">${escapeXml(xLabel)}</text>`);
  out.push(`<text x="14" y="${fmt((plotTop + plotBottom) / 2)}" text-anchor="middle" fill="#555" transform="rotate(-90 14 ${fmt((plotTop + plotBottom) / 2)})">${escapeXml(panel.unit)}</text>`);
  out.push(`<rect x="${plotLeft}" y="${fmt(plotTop)}" width="${fmt(plotRight - plotLeft)}" height="${fmt(plotBottom - plotTop)}" fill="none" stroke="#999"/>`);
  panel.series.forEach((series, i) => {
    if (series.points.length > 0) {
      const d = series.points.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${fmt(sx(x))},${fmt(sy(y))}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${escapeXml(series.color)}" stroke-width="1.8"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    }
    const lx = plotLeft + 8 + i * 170;
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${fmt(plotTop + 10)}" y2="${fmt(plotTop + 10)}" stroke="${escapeXml(series.color)}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${lx + 22}" y="${fmt(plotTop + 14)}">${escapeXml(series.label)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

export interface Scale {
  readonly max: number;
  readonly step: number;
}

/**
 * An axis from 0 to at least `value` in about five ticks, each tick 1, 2 or 5 times a power of
 * ten: 5.2 s → 0, 2, 4, 6; 23 s → 0, 5, ... 25; 84 MiB → 0, 20, ... 100.
 */
export function niceScale(value: number, ticks = 5): Scale {
  if (!(value > 0)) return { max: 1, step: 0.2 };
  const raw = value / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw - 1e-12) ?? 10) * power;
  return { max: Math.ceil(value / step - 1e-9) * step, step };
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return String(Math.round(value * 100) / 100);
}

function fmt(value: number): string {
  return (Math.round(value * 10) / 10).toFixed(1);
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}
