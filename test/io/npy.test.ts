import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { decodeNpy, encodeNpy, readNpy, writeNpy } from '../../io/npy.js';

/** A .npy v1.0 file assembled by hand from a dict string, for decoder tests. */
function handNpy(dict: string, body: Buffer, major = 1): Buffer {
  const lenBytes = major === 1 ? 2 : 4;
  const fixed = 6 + 2 + lenBytes;
  const pad = (64 - ((fixed + dict.length + 1) % 64)) % 64;
  const header = Buffer.from(dict + ' '.repeat(pad) + '\n', 'latin1');
  const len = Buffer.alloc(lenBytes);
  if (major === 1) len.writeUInt16LE(header.length);
  else len.writeUInt32LE(header.length);
  return Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]), len, header, body]);
}

describe('encodeNpy', () => {
  test('writes the exact v1.0 header and little-endian float32 data', () => {
    const got = encodeNpy(new Float32Array([1.5, -2, 1, 2, 3, 4]), [2, 3]);
    // The dict is 59 characters; 10 fixed bytes + 59 + '\n' = 70, so 58 spaces pad to 128.
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const expectedHeader = Buffer.concat([
      Buffer.from('934e554d505901007600', 'hex'), // magic, v1.0, header length 118 = 0x76
      Buffer.from(dict + ' '.repeat(58) + '\n', 'latin1'),
    ]);
    assert.equal(expectedHeader.length, 128);
    assert.deepEqual(got.subarray(0, 128), expectedHeader);
    // 1.5 = 0x3fc00000, -2 = 0xc0000000, 1 = 0x3f800000, 2 = 0x40000000, 3 = 0x40400000, 4 = 0x40800000
    assert.equal(got.subarray(128).toString('hex'), '0000c03f000000c00000803f000000400000404000008040');
  });

  test('formats 0-D and 1-D shapes as Python tuples', () => {
    const scalar = encodeNpy(new Float32Array([7]), []);
    assert.match(scalar.toString('latin1', 10, 80), /'shape': \(\), \}/);
    const vec = encodeNpy(new Float32Array(5), [5]);
    assert.match(vec.toString('latin1', 10, 80), /'shape': \(5,\), \}/);
    const cube = encodeNpy(new Float32Array(24), [2, 3, 4]);
    assert.match(cube.toString('latin1', 10, 80), /'shape': \(2, 3, 4\), \}/);
  });

  test('always starts the data at a multiple of 64 and ends the header with a newline', () => {
    for (const shape of [[], [1], [12345], [3, 224, 224], [1, 2, 3, 4, 5, 6, 7, 8]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const buf = encodeNpy(new Float32Array(n), shape);
      const headerLen = buf.readUInt16LE(8);
      assert.equal((10 + headerLen) % 64, 0, `shape ${shape}`);
      assert.equal(buf[10 + headerLen - 1], 0x0a);
      assert.equal(buf.length, 10 + headerLen + 4 * n);
    }
  });

  test('refuses a shape that does not match the data', () => {
    assert.throws(() => encodeNpy(new Float32Array(6), [2, 2]), /holds 4 values but the data has 6/);
    assert.throws(() => encodeNpy(new Float32Array(2), [2.5]), /not a non-negative integer/);
  });
});

describe('decodeNpy', () => {
  test('round-trips values bit for bit, including special values', () => {
    const values = new Float32Array([0, -0, 1e-40, -3.25, 3.4028234663852886e38, Infinity, -Infinity, NaN, 0.1]);
    const { data, shape } = decodeNpy(encodeNpy(values, [3, 3]));
    assert.deepEqual(shape, [3, 3]);
    assert.equal(data.length, values.length);
    for (let i = 0; i < values.length; i++) assert.ok(Object.is(data[i], values[i]), `index ${i}: ${data[i]}`);
  });

  test('round-trips 0-D, 1-D and empty arrays', () => {
    assert.deepEqual(decodeNpy(encodeNpy(new Float32Array([2.5]), [])), { data: new Float32Array([2.5]), shape: [] });
    assert.deepEqual(decodeNpy(encodeNpy(new Float32Array([1, 2, 3, 4, 5]), [5])).shape, [5]);
    const empty = decodeNpy(encodeNpy(new Float32Array(0), [0, 3]));
    assert.deepEqual(empty.shape, [0, 3]);
    assert.equal(empty.data.length, 0);
  });

  test('reads a buffer that sits at an odd offset inside a larger allocation', () => {
    const bytes = encodeNpy(new Float32Array([1, 2, 3]), [3]);
    const big = Buffer.alloc(bytes.length + 3);
    bytes.copy(big, 3);
    assert.deepEqual(decodeNpy(big.subarray(3)).data, new Float32Array([1, 2, 3]));
  });

  test('converts <f8 to float32', () => {
    const body = Buffer.alloc(16);
    body.writeDoubleLE(0.1, 0);
    body.writeDoubleLE(-1e300, 8); // beyond float32: becomes -Infinity
    const { data, shape } = decodeNpy(handNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", body));
    assert.deepEqual(shape, [2]);
    assert.equal(data[0], Math.fround(0.1));
    assert.equal(data[1], -Infinity);
  });

  test('reads a v2.0 header', () => {
    const body = Buffer.alloc(8);
    body.writeFloatLE(4, 0);
    body.writeFloatLE(-8, 4);
    const got = decodeNpy(handNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", body, 2));
    assert.deepEqual(got, { data: new Float32Array([4, -8]), shape: [1, 2] });
  });

  test('rejects Fortran order, other dtypes and bad bytes, naming the file', () => {
    const f4 = Buffer.alloc(16);
    assert.throws(
      () => decodeNpy(handNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", f4), 'stats/mean.npy'),
      /stats\/mean\.npy.*Fortran/,
    );
    assert.throws(
      () => decodeNpy(handNpy("{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", f4), 'x.npy'),
      /x\.npy has dtype '<i4'/,
    );
    assert.throws(() => decodeNpy(handNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", f4), 'x.npy'), /dtype '>f4'/);
    assert.throws(
      () => decodeNpy(handNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", f4), 'short.npy'),
      /short\.npy has 16 data bytes but shape \(5,\).*needs 20/,
    );
    assert.throws(() => decodeNpy(Buffer.from('hello, not numpy'), 'a.txt'), /a\.txt is not a \.npy file/);
  });
});

describe('writeNpy / readNpy', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'npy-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('write then read gives the array back and leaves no temp file', async () => {
    const path = join(dir, 'mean.npy');
    const data = new Float32Array(2 * 4 * 3).map((_, i) => i * 0.5 - 3);
    await writeNpy(path, data, [2, 4, 3]);
    assert.deepEqual(await readNpy(path), { data, shape: [2, 4, 3] });
    assert.deepEqual(await readdir(dir), ['mean.npy']);
  });

  test('readNpy names a missing file', async () => {
    await assert.rejects(readNpy(join(dir, 'nope.npy')), /cannot read .*nope\.npy/);
  });

  const numpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  const skip = numpy.status === 0 ? false : 'python3 with numpy is not available';

  test('numpy reads what encodeNpy writes, and we read what numpy writes', { skip }, async () => {
    const ours = join(dir, 'ours.npy');
    await writeFile(ours, encodeNpy(new Float32Array([1, -2.5, 3, 1e-3, 5, 6]), [3, 2]));
    const script = [
      'import json, sys, numpy as np',
      'a = np.load(sys.argv[1])',
      "print(json.dumps({'dtype': str(a.dtype), 'shape': list(a.shape), 'values': a.ravel().tolist()}))",
      "np.save(sys.argv[2], np.arange(12, dtype='<f4').reshape(2, 3, 2) / 4)",
      "np.save(sys.argv[3], np.array([0.1, -7.0], dtype='<f8'))",
      'np.save(sys.argv[4], np.float32(3.5))',
    ].join('\n');
    const f4 = join(dir, 'np-f4.npy');
    const f8 = join(dir, 'np-f8.npy');
    const f0 = join(dir, 'np-0d.npy');
    const run = spawnSync('python3', ['-c', script, ours, f4, f8, f0], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const seen = JSON.parse(run.stdout) as { dtype: string; shape: number[]; values: number[] };
    assert.equal(seen.dtype, 'float32');
    assert.deepEqual(seen.shape, [3, 2]);
    assert.deepEqual(seen.values, [1, -2.5, 3, Math.fround(1e-3), 5, 6]);

    const a = decodeNpy(await readFile(f4), f4);
    assert.deepEqual(a.shape, [2, 3, 2]);
    assert.deepEqual(Array.from(a.data), [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75]);
    const b = await readNpy(f8);
    assert.deepEqual(b, { data: new Float32Array([Math.fround(0.1), -7]), shape: [2] });
    assert.deepEqual(await readNpy(f0), { data: new Float32Array([3.5]), shape: [] });
  });
});
