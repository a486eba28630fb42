/**
 * `sglrp explain` on Keras files: `--model x.h5` / `--model x.keras` write the same maps, byte for
 * byte, as the same weights' TF.js model.json; `--arch NAME --weights FILE` refuses a file made for
 * another network with the layer named.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { projectRoot } from '../../io/project-root.js';
import { writeNpy } from '../../io/npy.js';
import { runExplain } from '../../pipeline/explain-command.js';
import { randomImage } from '../util/models.js';

const FIXTURES = join(projectRoot(), 'test', 'fixtures', 'keras');
const dir = mkdtempSync(join(tmpdir(), 'sglrp-keras-explain-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const quiet = () => {};

/** The .npy files `explain` writes for `model`, by name. */
async function explainNpy(model: string, name: string): Promise<Map<string, Buffer>> {
  const input = join(dir, 'x.npy');
  if (!existsSync(input)) await writeNpy(input, randomImage(2 * 12 * 12 * 3, 11, -1, 1), [2, 12, 12, 3]);
  const out = join(dir, name);
  const s = await runExplain(
    { inputs: [input], model, out, methods: 'lrp,sglrp,gradcam', target: 'top1,top2', 'input-bounds': '-1,1', backend: 'wasm' },
    { log: quiet },
  );
  assert.equal(s.exitCode, 0, JSON.stringify(s.errors));
  const files = readdirSync(out).filter((f) => f.endsWith('.npy'));
  return new Map(files.map((f) => [f, readFileSync(join(out, f))]));
}

test('explain --model x.h5 / x.keras writes the TF.js model’s maps byte for byte', async () => {
  const want = await explainNpy(join(FIXTURES, 'tiny_residual_tfjs', 'model.json'), 'tfjs');
  assert.ok(want.size >= 6, `only ${[...want.keys()].join(', ')}`);
  for (const file of ['tiny_residual.h5', 'tiny_residual.keras']) {
    const got = await explainNpy(join(FIXTURES, file), file);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), file);
    for (const [name, bytes] of want) assert.ok(bytes.equals(got.get(name)!), `${file}: ${name} differs`);
  }
});

test('explain --arch vgg16 --weights with another network’s file is refused, naming its layer', async () => {
  const out = join(dir, 'arch');
  await assert.rejects(
    runExplain(
      { inputs: [join(dir, 'x.npy')], arch: 'vgg16', weights: join(FIXTURES, 'tiny_residual.h5'), out, backend: 'wasm' },
      { log: quiet },
    ),
    /tiny_residual\.h5: layer 'conv1' of the weight file is not in the model, and the file has 4 weighted layers where the model has 16/,
  );
  assert.equal(existsSync(out), false, 'nothing is written');
});
