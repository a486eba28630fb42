/**
 * SVG `<text>` → `<path>` outlines, drawn with the DejaVu Sans faces that ship with the project
 * (npm `@fontsource/dejavu-sans`, Bitstream Vera licence). sharp rasterises SVG with librsvg,
 * which finds fonts through fontconfig; on a machine without DejaVu Sans (or any font) its labels
 * come out as boxes or not at all. Outlined text needs no font at rasterisation time, so the
 * report's PNG figures and the heatmap grids look the same everywhere.
 *
 * Handles what vega's SVG renderer and io/grid.ts write on a `<text>` element itself: `x`/`y`,
 * `dx`/`dy` (px or em), `transform` (kept on the path, so rotated axis titles stay rotated),
 * `text-anchor`, `font-size`, `font-weight` (≥ 600 or bold → the bold face), `font-style`
 * (italic/oblique → the italic face), `dominant-baseline`, and vega's multi-line `<tspan x dy>`
 * lines. Paint attributes (`fill`, `opacity`, `stroke`, …) are copied to the path unchanged.
 * Attributes inherited from a parent `<g>` other than paint are not seen (neither writer uses them).
 *
 * Glyphs are laid out one code point at a time with GPOS pair kerning, not through opentype.js's
 * text shaper: its GSUB `ccmp` step throws on DejaVu's chained-context lookups (opentype.js 2.0,
 * "substFormat: 2 is not yet supported"), and Latin labels need no substitution. A character the
 * face lacks draws its .notdef box, as a browser without a fallback font would.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The slice of the opentype.js 2.x API used here (the package ships no type declarations). */
interface OtPathCommand {
  type: 'M' | 'L' | 'Q' | 'C' | 'Z';
  x?: number;
  y?: number;
  x1?: number;
  y1?: number;
  x2?: number;
  y2?: number;
}
interface OtPath {
  commands: OtPathCommand[];
  extend(other: OtPath): void;
}
interface OtGlyph {
  index: number;
  advanceWidth?: number;
  getPath(x: number, y: number, fontSize: number): OtPath;
}
interface OtFont {
  unitsPerEm: number;
  ascender: number;
  descender: number;
  charToGlyph(ch: string): OtGlyph;
  position: {
    getKerningTables(script: string): unknown;
    getKerningValue(tables: unknown, left: number, right: number): number;
  };
}
interface OpentypeModule {
  parse(buffer: ArrayBuffer): OtFont;
  Path: new () => OtPath;
}

const opentype = require('opentype.js') as OpentypeModule;

type Face = '400-normal' | '700-normal' | '400-italic' | '700-italic';

interface LoadedFace {
  font: OtFont;
  kerning: unknown;
}

const faces = new Map<Face, LoadedFace>();

function loadFace(face: Face): LoadedFace {
  const cached = faces.get(face);
  if (cached) return cached;
  // The package's exports map its `files/*` (WOFF; opentype.js cannot read its WOFF2 twins).
  const file = require.resolve(`@fontsource/dejavu-sans/files/dejavu-sans-latin-${face}.woff`);
  const bytes = readFileSync(file);
  const font = opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  // DejaVu keeps its pair kerning under the `latn` script; the default script has none.
  const loaded = { font, kerning: font.position.getKerningTables('latn') };
  faces.set(face, loaded);
  return loaded;
}

function faceFor(weight: string | undefined, style: string | undefined): Face {
  const w = weight === undefined ? 400 : weight === 'bold' || weight === 'bolder' ? 700 : Number(weight);
  const bold = Number.isFinite(w) && w >= 600;
  const italic = style === 'italic' || style === 'oblique';
  return `${bold ? 700 : 400}-${italic ? 'italic' : 'normal'}`;
}

function layout(face: LoadedFace, text: string, x: number, y: number, fontPx: number): { path: OtPath; width: number } {
  const { font, kerning } = face;
  const scale = fontPx / font.unitsPerEm;
  const path = new opentype.Path();
  let pen = x;
  let prev: OtGlyph | undefined;
  for (const ch of text) {
    const glyph = font.charToGlyph(ch);
    if (prev && kerning) pen += font.position.getKerningValue(kerning, prev.index, glyph.index) * scale;
    path.extend(glyph.getPath(pen, y, fontPx));
    pen += (glyph.advanceWidth ?? 0) * scale;
    prev = glyph;
  }
  return { path, width: pen - x };
}

/**
 * SVG path data with every number space-separated. opentype.js's own `toPathData` packs numbers
 * and drops the separator after a bare `0` ("-0.640-0.64"), which librsvg reads as other points.
 */
function pathData(path: OtPath): string {
  const n = (v: number | undefined): string => String(Math.round((v ?? 0) * 100) / 100);
  return path.commands
    .map((c) => {
      switch (c.type) {
        case 'M':
        case 'L':
          return `${c.type}${n(c.x)} ${n(c.y)}`;
        case 'Q':
          return `Q${n(c.x1)} ${n(c.y1)} ${n(c.x)} ${n(c.y)}`;
        case 'C':
          return `C${n(c.x1)} ${n(c.y1)} ${n(c.x2)} ${n(c.y2)} ${n(c.x)} ${n(c.y)}`;
        default:
          return 'Z';
      }
    })
    .join('');
}

/** A length attribute in px: plain number, `px`, or `em` (relative to the font size). */
function length(value: string | undefined, fontPx: number): number {
  if (value === undefined) return 0;
  const m = /^\s*(-?[\d.]+(?:e-?\d+)?)\s*(px|em)?\s*$/i.exec(value);
  if (!m) return 0;
  const n = Number(m[1]);
  return m[2]?.toLowerCase() === 'em' ? n * fontPx : n;
}

function parseAttrs(s: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const m of s.matchAll(/([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs.set(m[1]!, m[2] ?? m[3] ?? '');
  return attrs;
}

function decodeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    const k = e.toLowerCase();
    if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
    if (k.startsWith('#')) return String.fromCodePoint(parseInt(k.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[k] ?? '';
  });
}

/** Attributes that only mean something for text; everything else (paint, transform) moves to the path. */
const TEXT_ONLY = new Set([
  'x',
  'y',
  'dx',
  'dy',
  'font-family',
  'font-size',
  'font-weight',
  'font-style',
  'text-anchor',
  'dominant-baseline',
  'alignment-baseline',
  'letter-spacing',
]);

/** Baseline shift for `dominant-baseline`, from the face's ascender/descender (font units). */
function baselineShift(value: string | undefined, font: OtFont, fontPx: number): number {
  const scale = fontPx / font.unitsPerEm;
  switch (value) {
    case 'middle':
    case 'central':
      return ((font.ascender + font.descender) / 2) * scale;
    case 'hanging':
    case 'text-before-edge':
    case 'text-top':
      return font.ascender * scale;
    case 'text-after-edge':
    case 'text-bottom':
    case 'ideographic':
      return font.descender * scale;
    default:
      return 0;
  }
}

/** One `<text>` element (its attribute string and inner markup) as one `<path>`. */
function outlineElement(attrString: string, inner: string): string {
  const attrs = parseAttrs(attrString);
  const fontPx = length(attrs.get('font-size') ?? '16', 16) || 16;
  const face = loadFace(faceFor(attrs.get('font-weight'), attrs.get('font-style')));
  const anchor = attrs.get('text-anchor') ?? 'start';
  const x0 = length(attrs.get('x'), fontPx) + length(attrs.get('dx'), fontPx);
  let y =
    length(attrs.get('y'), fontPx) + length(attrs.get('dy'), fontPx) + baselineShift(attrs.get('dominant-baseline'), face.font, fontPx);

  // vega writes multi-line text as `<tspan>` lines: the first bare, the rest with x and dy.
  const lines: { text: string; x: number; dy: number }[] = [];
  if (/<tspan\b/.test(inner)) {
    const lead = decodeXml(inner.slice(0, inner.search(/<tspan\b/)));
    if (lead.trim()) lines.push({ text: lead, x: x0, dy: 0 });
    for (const m of inner.matchAll(/<tspan\b([^>]*)>([\s\S]*?)<\/tspan>/g)) {
      const ta = parseAttrs(m[1]!);
      lines.push({ text: decodeXml(m[2]!), x: ta.has('x') ? length(ta.get('x'), fontPx) : x0, dy: length(ta.get('dy'), fontPx) });
    }
  } else {
    lines.push({ text: decodeXml(inner), x: x0, dy: 0 });
  }

  const path = new opentype.Path();
  for (const line of lines) {
    y += line.dy;
    const width = layout(face, line.text, 0, 0, fontPx).width;
    const shift = anchor === 'middle' ? -width / 2 : anchor === 'end' ? -width : 0;
    path.extend(layout(face, line.text, line.x + shift, y, fontPx).path);
  }
  const kept = [...attrs].filter(([k]) => !TEXT_ONLY.has(k)).map(([k, v]) => ` ${k}="${v}"`);
  return `<path${kept.join('')} d="${pathData(path)}"/>`;
}

/**
 * The SVG with every `<text>` element replaced by a `<path>` of its glyph outlines (one path per
 * element, at the same place, in the same paint). Everything else is left byte for byte.
 */
export function outlineSvgText(svg: string): string {
  return svg.replace(/<text\b([^>]*?)(?:\/>|>([\s\S]*?)<\/text>)/g, (_, attrString: string, inner: string | undefined) =>
    outlineElement(attrString, inner ?? ''),
  );
}
