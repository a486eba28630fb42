/** `explain --interpolation / --antialias`: parsed, validated, and used when an image is decoded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import yargs from 'yargs';
import { EXPLAIN_COMMAND, explainCommandOptions, parseExplainArgs } from '../../pipeline/explain-command.js';
import { loadInput } from '../../pipeline/explain-inputs.js';

const parse = async (args: string[]) =>
  yargs(['explain', ...args])
    .command(EXPLAIN_COMMAND, '', explainCommandOptions)
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync();

test('--interpolation and --antialias: defaults, choices, --no-antialias', async () => {
  const base = ['x.png', '--model', 'm', '--out', 'o'];
  const d = parseExplainArgs((await parse(base)) as never);
  assert.deepEqual([d.interpolation, d.antialias], ['bilinear', true]);
  const n = parseExplainArgs((await parse([...base, '--interpolation', 'nearest', '--no-antialias'])) as never);
  assert.deepEqual([n.interpolation, n.antialias], ['nearest', false]);
  assert.throws(
    () => parseExplainArgs({ inputs: ['x.png'], model: 'm', out: 'o', interpolation: 'lanczos' }),
    /--interpolation lanczos: expected one of nearest, bilinear, bicubic, area/,
  );
});

test('an image input is resized with the chosen kernel', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'explain-interp-'));
  try {
    // 4×4, red = 20·row + 4·col; to 2×2: nearest takes rows/cols 1, 3; area averages 2×2 blocks.
    const raw = Buffer.alloc(4 * 4 * 3);
    for (let p = 0; p < 16; p++) raw[3 * p] = 20 * Math.floor(p / 4) + 4 * (p % 4);
    const file = join(dir, 'grid.png');
    await writeFile(
      file,
      await sharp(raw, { raw: { width: 4, height: 4, channels: 3 } })
        .png()
        .toBuffer(),
    );
    const red = async (interpolation: 'nearest' | 'area') => {
      const got = await loadInput(
        file,
        'grid',
        { height: 2, width: 2, channels: 3 },
        { preprocess: 'unit', geometry: 'resize', interpolation, antialias: false },
      );
      return [0, 1, 2, 3].map((p) => Math.round(got.images[0]!.data[3 * p]! * 255));
    };
    assert.deepEqual(await red('nearest'), [24, 32, 64, 72]);
    assert.deepEqual(await red('area'), [12, 20, 52, 60]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
