/**
 * The report's figures as vega-lite line charts with 95% CI bands, one line per method in its
 * fixed colour, rendered headless (no browser, no canvas) to SVG and rasterised to PNG by sharp.
 * The SVG keeps its `<text>` (a browser has fonts); the PNG is drawn from a copy whose text is
 * outlined with the bundled DejaVu Sans (io/text-outlines.ts), so it needs no system font.
 */
import sharp from 'sharp';
import * as vega from 'vega';
import * as vl from 'vega-lite';

import { outlineSvgText } from '../../io/text-outlines.js';
import { methodColors, methodLabel, sortMethods } from './method-order.js';

export interface CurveDatum {
  method: string;
  x: number;
  mean: number;
  lo: number;
  hi: number;
}

export interface ChartOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  /** Draw a horizontal rule at y = 0 (drops can be negative). */
  zeroRule?: boolean;
  /** Fixed y domain (accuracy is a ratio in [0, 1]); bands are clipped to it. */
  yDomain?: [number, number];
  /** Tick at each distinct x (patch sizes are a handful of integers, not a continuum). */
  tickAtData?: boolean;
}

export interface RenderedChart {
  svg: string;
  png: Buffer;
}

/** The vega-lite spec (exported so tests and users can inspect or re-render it). */
export function curveSpec(data: readonly CurveDatum[], opts: ChartOptions): vl.TopLevelSpec {
  // Non-finite points would break the band; a point with NaN CI (n = 1) still draws its line.
  const values = data
    .filter((d) => Number.isFinite(d.mean))
    .map((d) => ({
      method: methodLabel(d.method),
      x: d.x,
      mean: d.mean,
      lo: Number.isFinite(d.lo) ? d.lo : d.mean,
      hi: Number.isFinite(d.hi) ? d.hi : d.mean,
    }));
  const methods = sortMethods(data.map((d) => d.method));
  const color = {
    field: 'method',
    type: 'nominal' as const,
    title: 'method',
    sort: methods.map(methodLabel),
    scale: { domain: methods.map(methodLabel), range: methodColors(methods) },
  };
  const xs = [...new Set(values.map((v) => v.x))].sort((a, b) => a - b);
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: opts.xTitle,
    // Padding keeps the end points whole; clipping would cut them in half at the frame.
    scale: { zero: false, nice: false, padding: 12 },
    ...(opts.tickAtData ? { axis: { values: xs, format: 'd' } } : {}),
  };
  const yScale = opts.yDomain ? { domain: opts.yDomain } : { zero: false };
  const spec = {
    title: opts.title,
    width: 520,
    height: 320,
    background: 'white',
    data: { values },
    layer: [
      ...(opts.zeroRule
        ? [
            {
              data: { values: [{ y: 0 }] },
              mark: { type: 'rule', color: '#999', strokeDash: [4, 4] },
              encoding: { y: { field: 'y', type: 'quantitative' } },
            },
          ]
        : []),
      {
        mark: { type: 'area', opacity: 0.18, clip: true },
        encoding: { x, y: { field: 'lo', type: 'quantitative', title: opts.yTitle, scale: yScale }, y2: { field: 'hi' }, color },
      },
      {
        mark: { type: 'line', point: true, strokeWidth: 2, clip: true },
        encoding: { x, y: { field: 'mean', type: 'quantitative', title: opts.yTitle, scale: yScale }, color },
      },
    ],
    // One merged legend for band + line; opaque stroke symbols (the band's opacity would wash them out).
    config: { font: 'DejaVu Sans', legend: { orient: 'right', symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 3 } },
  };
  return spec as unknown as vl.TopLevelSpec;
}

/** SVG markup of a vega-lite spec, rendered without a DOM. */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * PNG of an SVG at 2× density (crisp when the Markdown report is viewed on a HiDPI screen). Text
 * is outlined first: librsvg would otherwise look the font up through fontconfig.
 */
export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(outlineSvgText(svg)), { density: 144 })
    .png()
    .toBuffer();
}

export async function renderChart(data: readonly CurveDatum[], opts: ChartOptions): Promise<RenderedChart> {
  const svg = await renderSvg(curveSpec(data, opts));
  return { svg, png: await svgToPng(svg) };
}
