/** Number and text formatting shared by the HTML and Markdown renderers. */

/** 4 decimals in the usual range, exponent notation for tiny/huge values, "n/a" for NaN. */
export function fmt(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'n/a' : String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e5 ? v.toFixed(digits) : v.toExponential(2);
}

/** "0.1234 [0.1000, 0.1468]" — a mean with its 95% interval. */
export function fmtCI(mean: number, lo: number, hi: number): string {
  if (!Number.isFinite(mean)) return 'n/a';
  return `${fmt(mean)} [${fmt(lo)}, ${fmt(hi)}]`;
}

export function fmtPct(v: number): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a';
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Markdown table cell: pipes and line breaks would break the table. */
export function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A curve as a grid: one row per x, one column per method, cells "mean [lo, hi]". */
export function curveGrid<P extends { method: string; mean: number; lo: number; hi: number }>(
  points: readonly P[],
  x: (p: P) => number,
  methods: readonly string[],
): { xs: number[]; cells: string[][] } {
  const xs = [...new Set(points.map(x))].sort((a, b) => a - b);
  const cells = xs.map((xv) =>
    methods.map((m) => {
      const p = points.find((q) => q.method === m && x(q) === xv);
      return p ? fmtCI(p.mean, p.lo, p.hi) : '';
    }),
  );
  return { xs, cells };
}
