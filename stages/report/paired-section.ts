/**
 * The report's "Paired comparisons" section: per figure, the small multiples of differences and a
 * table with one row per patch size / energy level and one column per comparison, each cell the
 * mean per-image difference, its paired bootstrap 95% interval and the Holm-corrected Wilcoxon p.
 */
import { fmtP } from './claims.js';
import { comparisonLabel } from './difference-charts.js';
import { fmt } from './format.js';
import type { FigureId, ReportModel } from './model.js';
import type { PairedComparison, PairedResults } from './paired.js';
import type { Block } from './sections.js';
import type { ReportTable } from './report-tables.js';

const FIGURE_TITLES: Record<FigureId, { title: string; x: string }> = {
  fig11a: { title: 'Masking, ground-truth target (Fig. 11a): drop of y_t', x: 'p' },
  fig11b: { title: 'Masking, 2nd most probable class (Fig. 11b): drop of y_t', x: 'p' },
  fig13: { title: 'Extended pointing game (Fig. 13): accuracy', x: 'E' },
};

/** "+0.0123 [0.0050, 0.0200] p 0.0030 ▲": ▲ / ▼ where the interval leaves 0 above / below. */
export function comparisonCell(c: PairedComparison): string {
  if (c.n === 0) return 'no shared images';
  const mark = c.lo > 0 ? ' ▲' : c.hi < 0 ? ' ▼' : '';
  const sign = c.meanDiff > 0 ? '+' : '';
  return `${sign}${fmt(c.meanDiff)} [${fmt(c.lo)}, ${fmt(c.hi)}] p ${fmtP(c.pHolm)}${mark}`;
}

export function pairedBlocks(model: ReportModel): Block[] {
  const r = model.paired;
  const blocks: Block[] = [
    { kind: 'heading', level: 2, text: 'Paired comparisons', anchor: 'paired' },
    {
      kind: 'paragraph',
      text:
        `Every method is evaluated on the same images, so methods are compared per image (docs/PROTOCOL.md §8). Each cell: the mean per-image difference ` +
        `(higher is better for both metrics, so a positive value favours the first method), its paired bootstrap 95% interval ` +
        `(${r.resamples.toLocaleString('en')} resamples, seed ${r.seed}) and the two-sided Wilcoxon signed-rank p-value, Holm-corrected across all comparisons of the figure. ` +
        `▲ / ▼: the interval lies above / below 0. ` +
        (r.fullMatrix
          ? 'Every pair of methods is compared (full matrix).'
          : 'Each rival is compared with SGLRP; the report option fullMatrix (sglrp report --paired-matrix) compares every pair.'),
    },
  ];
  if (r.comparisons.length === 0)
    return [...blocks, { kind: 'paragraph', text: 'No paired comparison in this run (SGLRP and at least one rival are needed).' }];
  for (const figure of ['fig11a', 'fig11b', 'fig13'] as const) {
    const rows = r.comparisons.filter((c) => c.figure === figure);
    if (rows.length === 0) continue;
    const t = FIGURE_TITLES[figure]!;
    blocks.push({ kind: 'heading', level: 3, text: t.title, anchor: `paired-${figure}` });
    const chart = model.differenceFigures.find((f) => f.id === `${figure}-diff`);
    if (chart?.png) blocks.push({ kind: 'figure', figure: chart });
    const pairs = [...new Map(rows.map((c) => [`${c.a}\u0000${c.b}`, [c.a, c.b] as const])).values()];
    const xs = [...new Set(rows.map((c) => c.x))].sort((u, v) => u - v);
    blocks.push({
      kind: 'table',
      header: [t.x, ...pairs.map(([a, b]) => comparisonLabel(a, b))],
      rows: xs.map((x) => [
        String(x),
        ...pairs.map(([a, b]) => {
          const c = rows.find((q) => q.x === x && q.a === a && q.b === b);
          return c ? comparisonCell(c) : '';
        }),
      ]),
    });
  }
  return blocks;
}

export function pairedTable(r: PairedResults): ReportTable {
  return {
    name: 'paired-comparisons',
    columns: [
      { name: 'figure', type: 'string' },
      { name: 'target_kind', type: 'string' },
      { name: 'x', type: 'number' },
      { name: 'a', type: 'string' },
      { name: 'b', type: 'string' },
      { name: 'n', type: 'int' },
      { name: 'mean_diff', type: 'number' },
      { name: 'lo', type: 'number' },
      { name: 'hi', type: 'number' },
      { name: 'wilcoxon_p', type: 'number' },
      { name: 'wilcoxon_p_holm', type: 'number' },
    ],
    rows: r.comparisons.map((c) => ({
      figure: c.figure,
      target_kind: c.targetKind,
      x: c.x,
      a: c.a,
      b: c.b,
      n: c.n,
      mean_diff: c.meanDiff,
      lo: c.lo,
      hi: c.hi,
      wilcoxon_p: c.p,
      wilcoxon_p_holm: c.pHolm,
    })),
  };
}
