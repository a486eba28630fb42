/**
 * The Markdown report: the same blocks as the HTML one, with figures and example heatmaps as
 * links to the PNG files (relative to the report folder, so the folder can be moved with its run).
 */
import { mdCell } from './format.js';
import type { Block } from './sections.js';

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(header), `|${header.map(() => ' --- |').join('')}`, ...rows.map(line)].join('\n');
}

function block(b: Block): string {
  switch (b.kind) {
    case 'heading':
      // An explicit anchor: the table of contents links to it whatever the viewer's own slug rules.
      return `<a id="${b.anchor}"></a>\n\n${'#'.repeat(b.level)} ${b.text}`;
    case 'paragraph':
      return b.text;
    case 'notices':
      return b.items.map((i) => `> **Note:** ${i}`).join('\n>\n');
    case 'table':
      return table(
        b.header,
        b.rows.map((r) => (b.verdictColumn === undefined ? r : r.map((c, j) => (j === b.verdictColumn ? `**${c}**` : c)))),
      );
    case 'figure':
      return b.figure.png ? `![${b.figure.title}](${b.figure.png})` : '';
    case 'examples':
      return [
        b.legend ? `Colour scale: ![colour scale](${b.legend.png}) ${b.legend.low} → ${b.legend.high}. ${b.legend.note}` : '',
        table(
          b.header,
          b.rows.map((r) => [
            r.caption.join('<br>'),
            ...r.cells.map((src, i) => (src ? `![${b.header[i + 1] ?? ''}](${encodeURI(src)})` : '—')),
          ]),
        ),
      ]
        .filter((x) => x !== '')
        .join('\n\n');
    case 'links':
      return b.items.map((l) => `- [${l.text}](${encodeURI(l.href)})`).join('\n');
    case 'code':
      return `<details><summary>${b.summary}</summary>\n\n\`\`\`${b.language}\n${b.text.trimEnd()}\n\`\`\`\n\n</details>`;
    case 'html':
      return b.markdown;
  }
}

/** The table of contents: level-2 headings, level-3 ones indented under them. */
function toc(blocks: readonly Block[]): string {
  const lines = blocks.flatMap((b) => (b.kind === 'heading' ? [`${b.level === 3 ? '  ' : ''}- [${b.text}](#${b.anchor})`] : []));
  return `**Contents**\n\n${lines.join('\n')}`;
}

export function renderMarkdown(title: string, blocks: readonly Block[]): string {
  return `# ${title}\n\n${[toc(blocks), ...blocks.map(block)].filter((s) => s !== '').join('\n\n')}\n`;
}
