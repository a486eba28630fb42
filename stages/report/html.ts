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
.figure svg { max-width: 100%; height: auto; }
.examples img { width: 112px; height: auto; image-rendering: pixelated; display: block; }
.examples td { text-align: center; font-size: .8em; }
`;

function verdictClass(text: string): string {
  return `verdict-${text.replace(/\s+/g, '-')}`;
}

function table(header: string[], rows: string[][], verdictColumn?: number): string {
  const head = `<tr>${header.map((h) => `<th>${e(h)}</th>`).join('')}</tr>`;
  const body = rows
    .map((r) => `<tr>${r.map((cell, i) => (i === verdictColumn ? `<td class="${verdictClass(cell)}"><b>${e(cell)}</b></td>` : `<td>${e(cell)}</td>`)).join('')}</tr>`)
    .join('\n');
  return `<table>\n${head}\n${body}\n</table>`;
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
            `<tr><td>${e(r.imageId)}</td>${r.cells.map((src, i) => (src ? `<td><img alt="${e(b.header[i + 1] ?? '')}" src="${src}"></td>` : '<td>—</td>')).join('')}</tr>`,
        )
        .join('\n');
      return `<table class="examples">\n${head}\n${rows}\n</table>`;
    }
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
${blocks.map(block).join('\n')}
</body>
</html>
`;
}
