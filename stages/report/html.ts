/**
 * The self-contained HTML report: styles inline, figures as inline SVG, example heatmaps as
 * data: URIs. It must open from an e-mail attachment or an archive with nothing beside it, so it
 * references no external file, font, script or stylesheet.
 */
import { escapeHtml as e } from './format.js';
import type { Block } from './sections.js';

const STYLE = `
body { font-family: 'DejaVu Sans', Arial, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.notices { background: #fff4e5; border: 1px solid #f0b35e; padding: .6em 1em; }
.verdict-yes { background: #dff3df; } .verdict-no { background: #f9dcdc; }
.verdict-partly { background: #fdf3d0; } .verdict-not-measured { background: #eee; }
.verdict-inconclusive { background: #fdf3d0; }
.figure svg { max-width: 100%; height: auto; }
.scroll { max-width: 100%; overflow-x: auto; }
.examples img { width: 104px; height: auto; image-rendering: pixelated; display: block; }
.examples td { text-align: center; font-size: .8em; }
.examples td.caption { text-align: left; min-width: 11em; max-width: 15em; overflow-wrap: anywhere; }
.legend { display: flex; align-items: center; gap: .6em; font-size: .85em; margin: .4em 0; flex-wrap: wrap; }
.legend .bar { width: 220px; height: 14px; border: 1px solid #999; }
.toc { background: #f8f8f8; border: 1px solid #ddd; padding: .4em 1.2em; display: inline-block; }
.toc ul { margin: .2em 0; padding-left: 1.2em; } .toc li { margin: .1em 0; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: .85em; }
td { white-space: pre-line; overflow-wrap: break-word; }
.image-browser .img-controls { display: flex; gap: 1em; flex-wrap: wrap; align-items: center; margin: .5em 0; }
.image-browser th.sortable { cursor: pointer; user-select: none; }
.image-browser #img-table td { white-space: nowrap; }
.image-browser .img-detail { border: 1px solid #ccc; padding: .5em 1em; margin: .5em 0; background: #fcfcfc; }
.image-browser .img-maps { display: flex; flex-wrap: wrap; gap: .5em; }
.image-browser figure { margin: 0; text-align: center; font-size: .8em; }
.image-browser img.map { width: 128px; image-rendering: pixelated; display: block; }
`;

/** The table of contents: every level-2 heading, with its level-3 headings under it. */
function toc(blocks: readonly Block[]): string {
  const items: string[] = [];
  let open = false;
  for (const b of blocks) {
    if (b.kind !== 'heading') continue;
    const link = `<a href="#${e(b.anchor)}">${e(b.text)}</a>`;
    if (b.level === 2) {
      if (open) items.push('</ul></li>');
      items.push(`<li>${link}<ul>`);
      open = true;
    } else items.push(`<li>${link}</li>`);
  }
  if (open) items.push('</ul></li>');
  return `<nav class="toc" id="contents"><b>Contents</b><ul>${items.join('').replace(/<ul><\/ul>/g, '')}</ul></nav>`;
}

function legend(l: NonNullable<Extract<Block, { kind: 'examples' }>['legend']>): string {
  return `<div class="legend"><span>${e(l.low)}</span><span class="bar" style="background: linear-gradient(to right, ${e(l.cssStops)})"></span><span>${e(l.high)}</span><span>${e(l.note)}</span></div>`;
}

function verdictClass(text: string): string {
  return `verdict-${text.replace(/\s+/g, '-')}`;
}

function table(header: string[], rows: string[][], verdictColumn?: number): string {
  const head = `<tr>${header.map((h) => `<th>${e(h)}</th>`).join('')}</tr>`;
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((cell, i) => (i === verdictColumn ? `<td class="${verdictClass(cell)}"><b>${e(cell)}</b></td>` : `<td>${e(cell)}</td>`)).join('')}</tr>`,
    )
    .join('\n');
  return `<div class="scroll"><table>\n${head}\n${body}\n</table></div>`;
}

function block(b: Block): string {
  switch (b.kind) {
    case 'heading':
      return `<h${b.level} id="${e(b.anchor)}">${e(b.text)}</h${b.level}>`;
    case 'paragraph':
      return `<p>${e(b.text)}</p>`;
    case 'notices':
      return `<div class="notices"><ul>${b.items.map((i) => `<li>${e(i)}</li>`).join('')}</ul></div>`;
    case 'table':
      return table(b.header, b.rows, b.verdictColumn);
    case 'figure':
      // The SVG comes from vega's own serializer (escaped text), so it is embedded as is.
      return `<div class="figure">${b.figure.svg}</div>`;
    case 'examples': {
      const head = `<tr>${b.header.map((h) => `<th>${e(h)}</th>`).join('')}</tr>`;
      const rows = b.rows
        .map(
          (r) =>
            `<tr><td class="caption">${r.caption.map(e).join('<br>')}</td>${r.cells
              .map((src, i) =>
                src
                  ? `<td><img alt="${e(b.header[i + 1] ?? '')}" data-map="${e(`${r.imageId}|${b.keys[i] ?? ''}`)}" src="${src}"></td>`
                  : '<td>—</td>',
              )
              .join('')}</tr>`,
        )
        .join('\n');
      return `${b.legend ? legend(b.legend) : ''}<div class="scroll"><table class="examples">\n${head}\n${rows}\n</table></div>`;
    }
    case 'links':
      return `<ul class="links">${b.items.map((l) => `<li><a href="${e(l.href)}">${e(l.text)}</a></li>`).join('')}</ul>`;
    case 'code':
      return `<details><summary>${e(b.summary)}</summary><pre>${e(b.text)}</pre></details>`;
    case 'html':
      return b.html;
  }
}

export function renderHtml(title: string, blocks: readonly Block[]): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${e(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${e(title)}</h1>
${toc(blocks)}
${blocks.map(block).join('\n')}
</body>
</html>
`;
}
