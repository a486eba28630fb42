import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Explainer, explainImageFile } from '../../index.js';
import { projectRoot } from '../../io/project-root.js';

const tmp = await mkdtemp(join(tmpdir(), 'sglrp-image-file-'));
after(() => fs.rm(tmp, { recursive: true, force: true }));
const model = join(projectRoot(), 'models', 'digits-pair', 'model.json');

test('explainImageFile decodes, resizes and preprocesses a file, then explains it like explain({data, shape})', async () => {
  const explainer = await Explainer.load(model, { backend: 'wasm' });
  try {
    assert.deepEqual(explainer.inputShape, [64, 64, 1]);
    // A 128×96 RGB file: the "resize" geometry squeezes it to 64×64, one gray channel for this model.
    const width = 128;
    const height = 96;
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        rgb.fill(x > 40 && x < 90 && y > 20 && y < 70 ? 255 : 0, (y * width + x) * 3, (y * width + x + 1) * 3);
    const path = join(tmp, 'digit.png');
    await sharp(rgb, { raw: { width, height, channels: 3 } })
      .png()
      .toFile(path);

    const r = await explainImageFile(explainer, path, {
      preprocess: 'unit',
      geometry: 'resize',
      interpolation: 'nearest',
      methods: ['sglrp', 'lrp'],
      targets: ['top1', 'top2'],
    });
    assert.deepEqual(r.input.shape, [64, 64, 1]);
    assert.equal(r.pixels.length, 64 * 64);
    // `unit` preprocessing is pixel / 255, value by value.
    r.pixels.forEach((p, i) => assert.equal(r.input.data[i], Math.fround(p / 255)));
    // Nearest resize of the white square: inside stays 255, a corner stays 0.
    assert.equal(r.pixels[32 * 64 + 32], 255);
    assert.equal(r.pixels[0], 0);
    assert.deepEqual(
      r.explanations.map((e) => [e.method, e.target.kind]).sort(),
      [
        ['lrp', 'top1'],
        ['lrp', 'top2'],
        ['sglrp', 'top1'],
        ['sglrp', 'top2'],
      ].sort(),
    );
    // The same as explaining the preprocessed input directly.
    const direct = await explainer.explain(r.input, { methods: ['sglrp'], targets: ['top1'] });
    const viaFile = r.explanations.find((e) => e.method === 'sglrp' && e.target.kind === 'top1')!;
    assert.deepEqual(direct.explanations[0]!.map, viaFile.map);
    assert.ok(
      viaFile.map.some((v) => v > 0),
      'a non-empty map',
    );

    await assert.rejects(
      explainer.explain({ data: r.input.data, shape: [64, 32, 2] }, { methods: ['lrp'], targets: ['top1'] }),
      /the model expects \[64, 64, 1\]/,
    );
  } finally {
    explainer.dispose();
  }
});
