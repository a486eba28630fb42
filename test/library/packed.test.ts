import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../io/project-root.js';

/**
 * The package as a user gets it: `npm pack` (its prepack builds the library), the tarball unpacked into a
 * temporary project's node_modules, and the README's "Use as a library" example compiled with
 * tsc against the shipped declarations and run on the shipped digits model. The package's
 * dependencies are this project's own node_modules, linked into the temporary project (no
 * network, and no copy of ~600 MB of TF.js and Dawn binaries).
 */

const run = promisify(execFile);
const root = projectRoot();
const tmp = await mkdtemp(join(tmpdir(), 'sglrp-packed-'));
after(() => fs.rm(tmp, { recursive: true, force: true }));

/** The fenced block after the `library-example` marker in README.md. */
async function readmeExample(): Promise<string> {
  const readme = await fs.readFile(join(root, 'README.md'), 'utf8');
  const block = /<!-- library-example[^>]*-->\s*```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'README.md has a ```ts block after the library-example marker');
  return block[1]!;
}

test('npm pack → install into a temporary project → the README example compiles and explains an image', { timeout: 180_000 }, async () => {
  // Packed from a copy of the sources, as from a clean checkout: its prepack build writes the
  // copy's dist/, never the dist/ that other tests are importing from meanwhile.
  const src = join(tmp, 'src');
  const notSources = new Set(['node_modules', 'dist', '.git', 'runs', 'out', 'bench-results', '.build', '.device']);
  await fs.cp(root, src, { recursive: true, filter: (from) => !notSources.has(relative(root, from).split(sep)[0]!) });
  await fs.symlink(join(root, 'node_modules'), join(src, 'node_modules'));
  await run('npm', ['pack', '--pack-destination', tmp, '--silent'], { cwd: src, maxBuffer: 16 << 20 });
  const tarballs = (await fs.readdir(tmp)).filter((f) => f.endsWith('.tgz'));
  assert.equal(tarballs.length, 1, `one tarball, got ${tarballs.join(', ')}`);
  const tarball = join(tmp, tarballs[0]!);

  // What is published: the library's build with declarations, the shipped model; no tests, benches, scripts or sources.
  const listed = (await run('tar', ['-tzf', tarball], { maxBuffer: 16 << 20 })).stdout.split('\n').filter(Boolean);
  for (const want of [
    'package/package.json',
    'package/dist/index.js',
    'package/dist/index.d.ts',
    'package/dist/pipeline/cli.js',
    'package/models/digits-pair/model.json',
  ]) {
    assert.ok(listed.includes(want), `${want} is in the package`);
  }
  const unwanted = listed.filter((f) => /^package\/dist\/(test|bench|scripts)\//.test(f) || (/\.ts$/.test(f) && !/\.d\.ts$/.test(f)));
  assert.deepEqual(unwanted, [], 'tests, benches, scripts and TypeScript sources stay out of the package');

  // The temporary project: the unpacked tarball, and the package's dependencies linked from this project.
  const app = join(tmp, 'app');
  const modules = join(app, 'node_modules');
  await fs.mkdir(join(modules, 'sglrp'), { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', join(modules, 'sglrp'), '--strip-components=1']);
  for (const entry of await fs.readdir(join(root, 'node_modules'))) {
    if (entry.startsWith('.') || entry === 'sglrp') continue;
    await fs.symlink(join(root, 'node_modules', entry), join(modules, entry));
  }
  await fs.writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { sglrp: `file:${tarball}` } }),
  );
  await fs.writeFile(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true },
      files: ['example.ts'],
    }),
  );
  await fs.writeFile(join(app, 'example.ts'), await readmeExample());

  // Compiles against the shipped declarations (a type error fails here, with tsc's message).
  await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app }).catch(
    (err: { stdout?: string }) => {
      assert.fail(`the README example does not compile against the package:\n${err.stdout ?? String(err)}`);
    },
  );
  const { stdout } = await run(process.execPath, ['example.js'], { cwd: app, maxBuffer: 16 << 20 });
  const line = /^sglrp map for class (\d+): (\d+)×(\d+), peak at row (\d+), column (\d+)$/m.exec(stdout);
  assert.ok(line, `the example prints one sglrp map, got:\n${stdout}`);
  const [, cls, h, w, row, col] = line.map(Number) as number[];
  assert.ok(cls! >= 0 && cls! < 10, 'a digit class');
  assert.deepEqual([h, w], [64, 64], "the digits model's input size");
  assert.ok(row! < h! && col! < w!);

  // Only the public entry point is importable: internals stay behind `exports`.
  const internal = await run(process.execPath, ['--input-type=module', '-e', "await import('sglrp/dist/engine/explainer.js')"], {
    cwd: app,
  }).then(
    () => '',
    (err: { stderr?: string }) => err.stderr ?? '',
  );
  assert.match(internal, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
});
