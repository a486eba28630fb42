/** The report's "Provenance" section: what was run, on what, by which software, when and where. */
import { stringify as toYaml } from 'yaml';
import { fmt, fmtPct } from './format.js';
import type { ReportModel } from './model.js';
import type { RunProvenance } from './provenance.js';
import type { Block } from './sections.js';

const show = (v: unknown): string => (v === null || v === undefined ? 'unknown' : typeof v === 'string' ? v : JSON.stringify(v));

function runRows(r: RunProvenance): string[][] {
  const m = r.model;
  const d = r.dataset;
  const span =
    r.start && r.end ? `${r.start} → ${r.end} (${fmt((Date.parse(r.end) - Date.parse(r.start)) / 1000, 1)} s wall clock)` : 'unknown';
  // Shards grouped by phase, backend/device and host: a 500-shard run stays one line per group.
  const groups = new Map<string, { n: number; seconds: number }>();
  for (const s of r.shards) {
    const key = `${s.phase} on ${s.backendDetail ?? s.backend ?? 'unknown backend'}${s.host ? ` at ${s.host}` : ''}`;
    const g = groups.get(key) ?? { n: 0, seconds: 0 };
    g.n++;
    g.seconds += s.seconds ?? 0;
    groups.set(key, g);
  }
  return [
    ['run directory', r.runDir],
    ['config hash', show(r.configHash)],
    ['variant', show(r.variant)],
    ['seed', show(r.seed)],
    ['model', `${show(m.path)} (format ${show(m.format)})`],
    ['model input shape', m.inputShape ? m.inputShape.map((v) => (v === null ? '?' : String(v))).join('×') : 'unknown'],
    ['preprocessing', `${show(m.preprocess)}, geometry ${show(m.geometry)}, size ${show(m.size)}`],
    ['model parameters', m.parameters === null ? 'unknown' : m.parameters.toLocaleString('en')],
    [
      'model files (sha256)',
      m.files.length ? m.files.map((f) => `${f.path}: ${f.sha256} (${f.bytes.toLocaleString('en')} bytes)`).join('\n') : 'unreadable',
    ],
    [
      'dataset',
      d.spec
        ? Object.entries(d.spec)
            .filter(([k]) => k !== 'annotations')
            .map(([k, v]) => `${k} ${show(v)}`)
            .join(', ')
        : 'unknown',
    ],
    [
      'annotations',
      d.annotations
        ? `${d.annotations.form}: ${d.annotations.path}, sha256 ${show(d.annotations.sha256)} (${d.annotations.files} file(s))`
        : 'none (labels from the dataset itself)',
    ],
    ['images planned / evaluated / failed', `${show(d.planned)} / ${d.evaluated} / ${d.failed}`],
    ['backends and devices', r.backends.join(', ') || 'unknown'],
    ['hosts', r.hosts.join(', ') || 'unknown'],
    ['shards', [...groups].map(([k, g]) => `${g.n} ${k}: ${fmt(g.seconds, 1)} s`).join('; ') || 'none'],
    ['run start → end', span],
    ['total compute time', `${fmt(r.computeSeconds, 1)} worker-seconds (Σ over shard records)`],
  ];
}

export function provenanceBlocks(model: ReportModel): Block[] {
  const p = model.provenance;
  const c = p.classifier;
  const rows: string[][] = [
    [
      'sglrp version',
      `${show(p.software.sglrp)}${p.software.gitCommit ? `, git commit ${p.software.gitCommit}` : ' (git commit not available)'}`,
    ],
    ['Node.js / TF.js', `${p.software.node} / ${show(p.software.tfjs)}`],
    [
      'classifier accuracy on the evaluated images',
      c.labelled ? `top-1 ${fmtPct(c.top1)}, top-5 ${fmtPct(c.top5)} (${c.labelled} labelled images)` : 'no labelled images',
    ],
    ...p.runs.flatMap(runRows),
  ];
  const blocks: Block[] = [
    { kind: 'heading', level: 2, text: 'Provenance', anchor: 'provenance' },
    {
      kind: 'paragraph',
      text: 'The software versions are those that built this report; everything else is read from the run directory (config.yaml, manifests, the model and annotation files). All of it is in provenance.json.',
    },
    { kind: 'table', header: ['item', 'value'], rows },
  ];
  for (const r of p.runs) {
    if (r.config) blocks.push({ kind: 'code', summary: `Resolved config of ${r.runDir}`, language: 'yaml', text: toYaml(r.config) });
  }
  return blocks;
}
