import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { projectRoot } from '../../io/project-root.js';
import { runCli } from '../util/run-fixture.js';

/** `sglrp run` on an ONNX model: the whole protocol with the torch preset and torchvision geometry. */

test('sglrp run completes on an .onnx model (torch preset, resize256-crop224); a missing external data file stops it before any shard', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-onnx-run-'));
  try {
    const images = join(dir, 'images');
    mkdirSync(images);
    for (let k = 0; k < 4; k++) {
      const raw = Buffer.alloc(70 * 52 * 3);
      for (let i = 0; i < raw.length; i++) raw[i] = (i * (k + 3) * 17) % 253;
      await sharp(raw, { raw: { width: 70, height: 52, channels: 3 } })
        .png()
        .toFile(join(images, `img${k}.png`));
    }
    const config = (model: string, name: string) => {
      const path = join(dir, `${name}.yaml`);
      writeFileSync(
        path,
        JSON.stringify({
          name,
          dataset: { kind: 'folder', images },
          model: { path: model, preprocess: 'torch', geometry: 'resize256-crop224', size: 48 },
          methods: ['lrp', 'sglrp', 'gbp', 'gradcam', 'random'],
          targets: ['top2'],
          shardSize: 2,
          batchSize: 2,
          workers: 1,
          backend: 'cpu',
          examples: 1,
        }),
      );
      return path;
    };
    const out = join(dir, 'run');
    const r = runCli(['run', config(join(projectRoot(), 'test', 'fixtures', 'onnx', 'resnet18.onnx'), 'onnx'), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(out, 'report', 'report.md')), 'the report is written');
    assert.equal(readdirSync(join(out, 'manifest')).filter((f) => f.startsWith('main-')).length, 2);

    // An external-data model whose data file is missing is a setup error, before any shard.
    const lonely = join(dir, 'alexnet.onnx');
    writeFileSync(lonely, readFileSync(join(projectRoot(), 'test', 'fixtures', 'onnx', 'alexnet.onnx')));
    const bad = runCli(['run', config(lonely, 'missing-data'), '--out', join(dir, 'run2')]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /alexnet\.onnx\.data .*missing; keep them next to the \.onnx file/);
    assert.ok(!existsSync(join(dir, 'run2', 'manifest')) || readdirSync(join(dir, 'run2', 'manifest')).length === 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
