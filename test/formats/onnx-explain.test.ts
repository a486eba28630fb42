import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { runExplain } from '../../pipeline/explain-command.js';
import { projectRoot } from '../../io/project-root.js';

/** `sglrp explain` with an .onnx model: --list-layers, and maps written with the torch preset and geometry. */

const RESNET = join(projectRoot(), 'test', 'fixtures', 'onnx', 'resnet18.onnx');
const quiet = () => {};

test('explain --list-layers prints the Grad-CAM candidates of an ONNX model with their ONNX names, the default marked', async () => {
  const lines: string[] = [];
  const s = await runExplain({ model: RESNET, out: '', listLayers: true, backend: 'cpu' }, { log: quiet, print: (l) => lines.push(l) });
  assert.equal(s.exitCode, 0);
  assert.match(lines[0]!, /default: layer4\.1\.relu_1/);
  const marked = lines.filter((l) => l.startsWith('*'));
  assert.equal(marked.length, 1);
  assert.match(marked[0]!, /^\* layer4\.1\.relu_1 .*\/layer4\/layer4\.1\/relu_1\/Relu_output_0/);
  assert.ok(
    lines.some((l) => /^ {2}layer3\.0\.conv1 /.test(l)),
    'an inner conv is listed',
  );
  assert.ok(!lines.some((l) => /\bfc\b/.test(l)), 'the classifier (no feature map) is not a candidate');
});

test('explain an image with an ONNX model, the torch preset and the resize256-crop224 geometry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-onnx-explain-'));
  try {
    const img = join(dir, 'photo.png');
    const raw = Buffer.alloc(80 * 60 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) % 251;
    await sharp(raw, { raw: { width: 80, height: 60, channels: 3 } })
      .png()
      .toFile(img);
    const out = join(dir, 'out');
    const s = await runExplain(
      {
        inputs: [img],
        model: RESNET,
        out,
        methods: 'lrp,sglrp,gradcam',
        preprocess: 'torch',
        geometry: 'resize256-crop224',
        backend: 'cpu',
      },
      { log: quiet },
    );
    assert.equal(s.exitCode, 0, JSON.stringify(s.errors));
    assert.equal(s.inputs[0]!.ok, true);
    assert.ok(s.inputs[0]!.files.some((f) => f.endsWith('.png')) && s.inputs[0]!.files.every((f) => existsSync(f)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
