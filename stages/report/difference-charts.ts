/**
 * Small multiples for the masking and pointing figures: one panel per rival, showing the mean
 * per-image difference SGLRP − rival with its paired bootstrap 95% band and a zero line. Seven
 * overlapping bands cannot be read in the middle of one chart; a panel per comparison can, and
 * where a band leaves zero is exactly where the verdict rule (docs/PROTOCOL.md §8) sees evidence.
 */
import type * as vl from 'vega-lite';
import { renderSvg, svgToPng, type RenderedChart } from './charts.js';
import { methodColors, methodLabel } from './method-order.js';
import type { FigureId } from './model.js';
import type { PairedResults } from './paired.js';

export function comparisonLabel(a: string, b: string): string {
  return `${methodLabel(a)} − ${methodLabel(b)}`;
}

/** The faceted vega-lite spec; null when the figure has no comparison with data. */
export function differenceSpec(
  paired: PairedResults,
  figure: FigureId,
  title: string,
  xTitle: string,
  yTitle: string,
): vl.TopLevelSpec | null {
  const rows = paired.comparisons.filter((c) => c.figure === figure && Number.isFinite(c.meanDiff));
  if (rows.length === 0) return null;
  const pairs = [...new Map(rows.map((c) => [comparisonLabel(c.a, c.b), c.b])).entries()];
  const values = rows.map((c) => ({
    comparison: comparisonLabel(c.a, c.b),
    x: c.x,
    mean: c.meanDiff,
    lo: Number.isFinite(c.lo) ? c.lo : c.meanDiff,
    hi: Number.isFinite(c.hi) ? c.hi : c.meanDiff,
  }));
  const xs = [...new Set(values.map((v) => v.x))].sort((u, v) => u - v);
  const integerX = xs.every((x) => Number.isInteger(x));
  const x = {
    field: 'x',
    type: 'quantitative',
    title: xTitle,
    scale: { zero: false, nice: false, padding: 8 },
    ...(integerX ? { axis: { values: xs, format: 'd' } } : {}),
  };
  const color = {
    field: 'comparison',
    type: 'nominal',
    legend: null,
    scale: { domain: pairs.map(([l]) => l), range: methodColors(pairs.map(([, b]) => b)) },
  };
  const spec = {
    title,
    background: 'white',
    data: { values },
    columns: Math.min(3, pairs.length),
    facet: { field: 'comparison', type: 'nominal', title: null, sort: pairs.map(([l]) => l) },
    spec: {
      width: 230,
      height: 140,
      layer: [
        { mark: { type: 'rule', color: '#999', strokeDash: [4, 4] }, encoding: { y: { datum: 0, type: 'quantitative' } } },
        {
          mark: { type: 'area', opacity: 0.25 },
          encoding: { x, y: { field: 'lo', type: 'quantitative', title: yTitle }, y2: { field: 'hi' }, color },
        },
        {
          mark: { type: 'line', point: true, strokeWidth: 2 },
          encoding: { x, y: { field: 'mean', type: 'quantitative', title: yTitle }, color },
        },
      ],
    },
    resolve: { scale: { y: 'shared' } },
    config: { font: 'DejaVu Sans' },
  };
  return spec as unknown as vl.TopLevelSpec;
}

export async function renderDifferenceChart(
  paired: PairedResults,
  figure: FigureId,
  title: string,
  xTitle: string,
  yTitle: string,
): Promise<RenderedChart | null> {
  const spec = differenceSpec(paired, figure, title, xTitle, yTitle);
  if (!spec) return null;
  const svg = await renderSvg(spec);
  return { svg, png: await svgToPng(svg) };
}
