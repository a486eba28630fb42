import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { tableFromIPC } from 'apache-arrow';
import { writeTableAtomic } from '../../results/table-io.js';
import { TABLES } from '../../results/schemas.js';
import { buildReport } from '../../stages/report/index.js';

import { AGREE, tableRows, tempDir, writeExamples, writeRun, type RunSpec } from './report-fixture.js';

/** Built so claims 2–5 fail and claim 1 holds at one of two patch sizes. */
const DISAGREE: RunSpec = {
  images: ['a', 'b'],
  shards: [[0, 1]],
  drops: {
    gt: {
      sglrp: { 1: [0.1, 0.1], 3: [0.5, 0.5] },
      clrp: { 1: [0.05, 0.05], 3: [0.1, 0.1] },
      lrp: { 1: [0.3, 0.3], 3: [0.2, 0.2] },
    },
    top2: {
      sglrp: { 1: [0.1, 0.1], 3: [0.1, 0.1] },
      clrp: { 1: [0.2, 0.2], 3: [0.3, 0.3] },
      lrp: { 1: [0.05, 0.05], 3: [0.05, 0.05] },
      random: { 1: [0, 0], 3: [0.01, 0.01] },
    },
  },
  pointing: {
    sglrp: { 0.5: { hits: [1, 1], misses: [9, 9] } },
    lrp: { 0.5: { hits: [5, 5], misses: [5, 5] } },
    random: { 0.5: { hits: [9, 9], misses: [1, 1] } },
  },
  game: {},
};

function parseCsv(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, v])));
}

const close = (actual: number, expected: number, what: string, tol = 1e-6) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);

// ---------- tests ----------

test('a complete run: curves equal hand-computed means and t intervals, every claim agrees', async () => {
  const runDir = await tempDir();
  await writeRun(runDir, AGREE);
  await writeExamples(runDir, 'img0', ['input', 'sglrp_gt', 'lrp_gt', 'clrp_top2']);
  await writeExamples(runDir, 'img2', ['input', 'sglrp_gt']);
  const res = await buildReport([runDir], { now: new Date('2024-01-02T03:04:05Z') });
  const out = join(runDir, 'report');
  assert.equal(res.htmlPath, join(out, 'report.html'));

  // Fig. 11a, SGLRP p=1: drops .4 .5 .6 .7 → mean .55, sd √(.05/3) = .1290994, half = 3.182446·sd/2 = .2054260
  const fig11a = parseCsv(await fs.readFile(join(out, 'fig11a.csv'), 'utf8'));
  const sg1 = fig11a.find((r) => r.method === 'sglrp' && r.patch_size === '1')!;
  assert.equal(sg1.n, '4');
  close(Number(sg1.mean), 0.55, 'mean');
  close(Number(sg1.sd), 0.1290994, 'sd');
  close(Number(sg1.lo), 0.55 - 0.205426, 'lo');
  close(Number(sg1.hi), 0.55 + 0.205426, 'hi');
  // LRP p=3: .1 .1 .2 .2 → mean .15, sd √(.01/3) = .0577350, half = 3.182446·.057735/2 = .0918693
  const lrp3 = fig11a.find((r) => r.method === 'lrp' && r.patch_size === '3')!;
  close(Number(lrp3.mean), 0.15, 'lrp mean');
  close(Number(lrp3.hi), 0.15 + 0.0918693, 'lrp hi');
  assert.deepEqual(
    fig11a.map((r) => r.method),
    ['lrp', 'lrp', 'clrp', 'clrp', 'sglrp', 'sglrp', 'random', 'random'],
  );
  assert.ok(fig11a.every((r) => r.target_kind === 'gt'));

  // Fig. 11b, Random p=1: −.05 −.05 0 0 → mean −.025
  const fig11b = parseCsv(await fs.readFile(join(out, 'fig11b.csv'), 'utf8'));
  close(Number(fig11b.find((r) => r.method === 'random' && r.patch_size === '1')!.mean), -0.025, 'random top2');

  // Fig. 13, SGLRP E=.5: accuracies .8 .6 .9 .7 → mean .75; pooled 27/35 = .7714286
  const fig13 = parseCsv(await fs.readFile(join(out, 'fig13.csv'), 'utf8'));
  const sgE = fig13.find((r) => r.method === 'sglrp' && r.energy === '0.5')!;
  close(Number(sgE.mean), 0.75, 'pointing mean');
  close(Number(sgE.pooled), 27 / 35, 'pooled');
  // sd of .8 .6 .9 .7 = √(.05/3); same half-width as above
  close(Number(sgE.lo), 0.75 - 0.205426, 'pointing lo');
  const rndE = fig13.find((r) => r.method === 'random' && r.energy === '0.5')!;
  assert.equal(rndE.empty, '1');
  assert.equal(rndE.n, '4'); // the empty map counts, with accuracy 0
  assert.equal(rndE.pooled, '0'); // 0 hits of 25 selected

  // The original pointing game: SGLRP hits 3 of 4
  const game = parseCsv(await fs.readFile(join(out, 'pointing-game.csv'), 'utf8'));
  close(Number(game.find((r) => r.method === 'sglrp')!.hit_rate), 0.75, 'hit rate');
  close(Number(game.find((r) => r.method === 'lrp')!.tolerance_rate), 0.5, 'tolerance rate');
  close(Number(game.find((r) => r.method === 'sglrp')!.hit_hi), 1, 'rate interval clipped to 1');

  // The Arrow copy holds the same numbers.
  const arrow = tableFromIPC(await fs.readFile(join(out, 'fig11a.arrow')));
  const means = arrow.getChild('mean')!.toArray() as Float64Array;
  const methods = arrow.getChild('method')!.toArray() as string[];
  close(means[methods.indexOf('sglrp')]!, 0.55, 'arrow mean');

  // Counts: 4 images, errors by stage.
  const counts = Object.fromEntries(parseCsv(await fs.readFile(join(out, 'counts.csv'), 'utf8')).map((r) => [r.item, Number(r.value)]));
  assert.equal(counts['images.forward'], 4);
  assert.equal(counts['rows.masking'], 4 * 16);
  assert.equal(counts['errors.relevance'], 1);
  assert.equal(counts['errors.read'], 1);
  assert.equal(counts['errors.masking'], 1);
  assert.equal(counts['run0.main_shards_done'], 2);

  // docs/PROTOCOL.md §8 on four images: Random's accuracy at E = 1 (0.05, 0, 0, 0.05) has a bootstrap interval
  // reaching 0.05, so "near zero" stays open (claim 4); Random's top2 drops at p = 1 (−0.05, −0.05, 0, 0) have an
  // interval reaching 0, so "increases y_t" stays open (claim 5). Inconclusive, not yes.
  assert.deepEqual(
    res.claims.map((c) => [c.id, c.agrees]),
    [
      [1, 'yes'],
      [2, 'yes'],
      [3, 'yes'],
      [4, 'inconclusive'],
      [5, 'inconclusive'],
    ],
  );
  assert.match(res.claims[4]!.evidence, /Not holding: p=1 Random: -0\.0250 \[-0\.0500, 0\]/);
  // Every image's SGLRP − CLRP drop at p = 1 is 0.3: a degenerate interval, and the test is named.
  assert.match(res.claims[0]!.evidence, /p=1 SGLRP − CLRP: 0\.3000 \[0\.3000, 0\.3000\]/);
  assert.match(
    res.claims[0]!.evidence,
    /^Test: paired bootstrap 95% CI of the per-image difference \(2,000 resamples, seed 0\); Wilcoxon signed-rank p/,
  );
  assert.match(res.claims[2]!.evidence, /Holds in 4 of 4 checks/);

  // HTML: self-contained, SVG inline, example PNGs as data URIs, no external references.
  const html = await fs.readFile(res.htmlPath, 'utf8');
  // Three curve figures and their three small-multiple difference figures.
  assert.equal((html.match(/<svg[\s>]/g) ?? []).length, 6);
  // gt table: img0 input, LRP, SGLRP + img2 input, SGLRP; top2 table: img0 input, CLRP + img2 input.
  assert.equal((html.match(/src="data:image\/png;base64,/g) ?? []).length, 8);
  // Only inline data, anchors, and links to the data files beside the report.
  for (const attr of html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g))
    assert.match(attr[1]!, /^(data:|#|[\w.-]+$)/, `external reference ${attr[1]}`);
  assert.doesNotMatch(html, /<link\b|<script\b[^>]*\bsrc=|@import|url\(\s*['"]?https?:/i);
  assert.match(html, /<h2 id="provenance">Provenance<\/h2>/);
  assert.match(html, /<h2 id="images">Images<\/h2>/);
  assert.match(html, /<nav class="toc"/);
  assert.match(html, /<a href="paired-comparisons\.csv">paired-comparisons\.csv<\/a>/);
  assert.doesNotMatch(html, /Partial run/);
  // Example columns: input, then gt methods in the fixed order, then top2.
  const headerRow = html.slice(html.indexOf('<table class="examples">')).split('</tr>')[0]!;
  assert.deepEqual(
    [...headerRow.matchAll(/<th>([^<]*)<\/th>/g)].map((m) => m[1]),
    ['image', 'input', 'LRP (gt)', 'SGLRP (gt)'],
  );

  // Markdown links the figure PNGs and the example PNGs where they lie.
  const md = await fs.readFile(res.mdPath, 'utf8');
  assert.match(md, /!\[[^\]]*\]\(fig11a\.png\)/);
  assert.match(md, /\(\.\.\/examples\/img0\/sglrp_gt\.png\)/);
  assert.match(md, /\| 1 \| Targeting the ground truth.*\| \*\*yes\*\* \|/);

  // The PNGs decode.
  for (const f of ['fig11a', 'fig11b', 'fig13']) {
    const meta = await sharp(join(out, `${f}.png`)).metadata();
    assert.equal(meta.format, 'png');
    assert.ok((meta.width ?? 0) > 300, `${f} width ${meta.width}`);
  }
});

test('a run built to disagree gets no verdicts', async () => {
  const runDir = await tempDir();
  await writeRun(runDir, DISAGREE);
  const res = await buildReport([runDir], { outDir: join(runDir, 'elsewhere') });
  assert.equal(res.htmlPath, join(runDir, 'elsewhere', 'report.html'));
  // Claim 1 holds against CLRP at both patch sizes but LRP is clearly better at p = 1 (every image): one failing check is a no.
  assert.deepEqual(
    res.claims.map((c) => [c.id, c.agrees]),
    [
      [1, 'no'],
      [2, 'no'],
      [3, 'no'],
      [4, 'no'],
      [5, 'no'],
    ],
  );
  assert.match(
    res.claims[0]!.evidence,
    /Holds in 3 of 4 checks, fails in 1, open in 0\. Not holding: p=1 SGLRP − LRP: -0\.2000 \[-0\.2000, -0\.2000\]/,
  );
  // gt curve is there; no pointing_game rows → the report says so instead of failing
  const html = await fs.readFile(res.htmlPath, 'utf8');
  assert.match(html, /No pointing_game rows/);
  assert.match(html, /No example heatmaps/);
});

test('partial run: corrupt and unlisted shards are reported, not merged; duplicates across run dirs count once', async () => {
  const runDir = await tempDir();
  // 2 of 4 planned shards; shard 1's masking file is damaged after its manifest was written.
  await writeRun(runDir, {
    ...AGREE,
    shards: [
      [0, 1],
      [2, 3],
    ],
    plan: { shardCount: 4 },
    corruptMasking: [1],
  });
  // A shard file nobody vouches for (a worker still writing, or a crash).
  await writeTableAtomic(join(runDir, 'tables', 'masking', 'shard-00002.arrow'), TABLES.masking, tableRows(AGREE, [0]).masking);
  // A second run directory repeats img0 and img1 with other values: they must be ignored.
  const dupDir = await tempDir();
  const dup: RunSpec = JSON.parse(JSON.stringify({ ...AGREE, shards: [[0, 1]], errors: [] }));
  dup.drops.gt!.sglrp![1] = [9, 9, 9, 9];
  await writeRun(dupDir, dup);

  const res = await buildReport([runDir, dupDir], { outDir: join(runDir, 'r') });
  const out = join(runDir, 'r');
  const fig11a = parseCsv(await fs.readFile(join(out, 'fig11a.csv'), 'utf8'));
  const sg1 = fig11a.find((r) => r.method === 'sglrp' && r.patch_size === '1')!;
  // Only shard 0 of the first run merged (img0, img1: .4 .5): mean .45, half = 12.706205·(.0707107/√2) = .6353103
  assert.equal(sg1.n, '2');
  close(Number(sg1.mean), 0.45, 'mean');
  close(Number(sg1.hi), 0.45 + 0.6353103, 'hi');
  // Pointing rows of shard 1 were intact, so all four images are there.
  const fig13 = parseCsv(await fs.readFile(join(out, 'fig13.csv'), 'utf8'));
  assert.equal(fig13.find((r) => r.method === 'sglrp')!.n, '4');

  const html = await fs.readFile(res.htmlPath, 'utf8');
  const top = html.slice(0, html.indexOf('id="claims"'));
  assert.match(top, /Partial run: .* has 2 of 4 planned main-phase shards finished/);
  assert.match(html, /<td>corrupt<\/td><td>[^<]*tables\/masking\/shard-00001\.arrow<\/td><td>checksum mismatch/);
  assert.match(html, /<td>unlisted<\/td><td>[^<]*tables\/masking\/shard-00002\.arrow<\/td>/);
  const counts = Object.fromEntries(parseCsv(await fs.readFile(join(out, 'counts.csv'), 'utf8')).map((r) => [r.item, Number(r.value)]));
  assert.equal(counts['images.forward'], 4);
  // dupDir's img0/img1 rows: 2 forward + 32 masking + 16 pointing + 6 pointing_game (masking of run 1 shard 1 was never read)
  assert.equal(counts['duplicate_rows'], 2 + 32 + 16 + 6);
  assert.equal(counts['run0.main_shards_planned'], 4);
});

test('methods the claims need are missing → not measured, and a missing run dir is refused', async () => {
  const runDir = await tempDir();
  await writeRun(runDir, {
    images: ['x'],
    shards: [[0]],
    drops: { gt: { gbp: { 1: [0.2] } } },
    pointing: { gbp: { 0.5: { hits: [1], misses: [1] } } },
    game: {},
  });
  const res = await buildReport([runDir]);
  assert.deepEqual(
    res.claims.map((c) => c.agrees),
    ['not-measured', 'not-measured', 'not-measured', 'not-measured', 'not-measured'],
  );
  const fig11a = parseCsv(await fs.readFile(join(runDir, 'report', 'fig11a.csv'), 'utf8'));
  // n = 1: zero-width interval
  assert.deepEqual([fig11a[0]!.n, fig11a[0]!.lo, fig11a[0]!.hi], ['1', fig11a[0]!.mean, fig11a[0]!.mean]);
  await assert.rejects(buildReport([join(runDir, 'nope')]), /does not exist/);
});
