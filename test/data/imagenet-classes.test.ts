import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classIndexOf, loadImageNetClasses, parseClassesTsv, parseSynsetMapping, wnidIndex } from '../../data/imagenet-classes.js';

test('the shipped list has the 1000 classes in Keras order (sorted wnids)', () => {
  const c = loadImageNetClasses();
  assert.equal(c.wnids.length, 1000);
  assert.equal(c.names.length, 1000);
  assert.equal(new Set(c.wnids).size, 1000);
  for (let i = 1; i < 1000; i++) assert.ok(c.wnids[i - 1]! < c.wnids[i]!, `not sorted at ${i}`);
  // Well-known Keras indices.
  const known: Array<[number, string, string]> = [
    [0, 'n01440764', 'tench'],
    [1, 'n01443537', 'goldfish'],
    [207, 'n02099601', 'golden retriever'],
    [281, 'n02123045', 'tabby'],
    [340, 'n02391049', 'zebra'],
    [999, 'n15075141', 'toilet tissue'],
  ];
  for (const [i, w, n] of known) {
    assert.equal(c.wnids[i], w);
    assert.equal(c.names[i], n);
  }
});

test('classIndexOf takes a wnid or an exact name (any case) and explains failures', () => {
  const c = loadImageNetClasses();
  assert.equal(classIndexOf('n02123045', c), 281);
  assert.equal(classIndexOf('Tabby', c), 281);
  assert.equal(classIndexOf(' GOLDEN RETRIEVER ', c), 207);
  assert.equal(wnidIndex('n15075141', c), 999);
  assert.equal(wnidIndex('n00000000', c), -1);
  // "crane" is both a bird (134) and a machine (517).
  assert.throws(() => classIndexOf('crane', c), /ambiguous: n02012849 \(index 134\), n03126707 \(index 517\)/);
  assert.throws(() => classIndexOf('n99999999', c), /unknown class "n99999999"/);
  assert.throws(() => classIndexOf('golden', c), /unknown class "golden".*similar names: "golden retriever"/);
});

test('LOC_synset_mapping.txt: file order, first synonym as the name, errors with line numbers', () => {
  const c = parseSynsetMapping('n01443537 goldfish, Carassius auratus\r\nn01440764 tench, Tinca tinca\n\n');
  assert.deepEqual(c, { wnids: ['n01443537', 'n01440764'], names: ['goldfish', 'tench'] });
  assert.equal(classIndexOf('TENCH', c), 1);
  assert.throws(() => parseSynsetMapping('n01440764 tench\nfoo bar\n', 'm.txt'), /m\.txt line 2: expected/);
  assert.throws(() => parseSynsetMapping('n01440764 tench\nn01440764 again\n', 'm.txt'), /n01440764 occurs twice/);
  assert.throws(() => parseSynsetMapping('\n', 'm.txt'), /no classes/);
});

test('a damaged class TSV is refused with the line', () => {
  assert.throws(() => parseClassesTsv('wnid\tname\n', 'x.tsv'), /header/);
  assert.throws(() => parseClassesTsv('index\twnid\tname\n0\tn01440764\ttench\n2\tn01443537\tgoldfish\n', 'x.tsv'), /x\.tsv line 3/);
  assert.deepEqual(parseClassesTsv('index\twnid\tname\n0\tn01440764\ttench\n'), { wnids: ['n01440764'], names: ['tench'] });
});
