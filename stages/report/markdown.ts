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
      return `${'#'.repeat(b.level)} ${b.text}`;
    case 'paragraph':
      return b.text;
    case 'notices':
      return b.items.map((i) => `> **Note:** ${i}`).join('\n>\n');
    case 'table':
      return table(b.header, b.rows.map((r) => (b.verdictColumn === undefined ? r : r.map((c, j) => (j === b.verdictColumn ? `**${c}**` : c)))));
    case 'figure':
      return b.figure.png ? `![${b.figure.title}](${b.figure.png})` : '';
    case 'examples':
      return table(
        b.header,
        b.rows.map((r) => [r.imageId, ...r.cells.map((src, i) => (src ? `![${b.header[i + 1] ?? ''}](${encodeURI(src)})` : '—'))]),
      );
  }
}

export function renderMarkdown(title: string, blocks: readonly Block[]): string {
  return `# ${title}\n\n${blocks.map(block).filter((s) => s !== '').join('\n\n')}\n`;
}
