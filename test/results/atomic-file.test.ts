import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createFileExclusive, isTempName, restoreIfAbsent, writeFileAtomic } from '../../results/atomic-file.js';
import { sha256File, sha256Hex } from '../../results/checksum.js';

const dir = await mkdtemp(join(tmpdir(), 'atomic-'));
after(() => fs.rm(dir, { recursive: true, force: true }));

describe('atomic-file', () => {
  it('createFileExclusive: of many simultaneous creators exactly one wins, with its full content', async () => {
    const path = join(dir, 'one.lock');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => createFileExclusive(path, `writer ${i} `.repeat(1000))));
    assert.equal(results.filter(Boolean).length, 1);
    const winner = results.indexOf(true);
    assert.equal(await fs.readFile(path, 'utf8'), `writer ${winner} `.repeat(1000));
    assert.deepEqual(await fs.readdir(dir), ['one.lock'], 'no temp files left');
  });

  it('writeFileAtomic replaces, creates folders, leaves no temp', async () => {
    const path = join(dir, 'a', 'b', 'c.json');
    await writeFileAtomic(path, 'first');
    await writeFileAtomic(path, 'second');
    assert.equal(await fs.readFile(path, 'utf8'), 'second');
    assert.deepEqual(await fs.readdir(join(dir, 'a', 'b')), ['c.json']);
  });

  it('restoreIfAbsent puts a file back only when the name is free', async () => {
    const target = join(dir, 'target');
    await fs.writeFile(join(dir, 'aside1'), 'old');
    assert.equal(await restoreIfAbsent(join(dir, 'aside1'), target), true);
    assert.equal(await fs.readFile(target, 'utf8'), 'old');
    await fs.writeFile(join(dir, 'aside2'), 'older');
    assert.equal(await restoreIfAbsent(join(dir, 'aside2'), target), false);
    assert.equal(await fs.readFile(target, 'utf8'), 'old', 'the newer file is kept');
    await assert.rejects(fs.stat(join(dir, 'aside2')), { code: 'ENOENT' });
  });

  it('recognises temp names and hashes files like buffers', async () => {
    assert.ok(isTempName('.shard-00001.arrow.tmp-host-12-abcdef'));
    assert.ok(!isTempName('shard-00001.arrow'));
    const path = join(dir, 'h.bin');
    await fs.writeFile(path, 'abc');
    assert.equal(await sha256File(path), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(sha256Hex('abc'), await sha256File(path));
  });
});
