import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The project's root folder (the one holding package.json), found by walking up from this
 * compiled file, so shipped data (models/, configs/, data/*.tsv) is found wherever the build
 * output lives (dist/, a helper's own build folder, or a worker thread).
 */
export function projectRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    // A checkout has engine/ beside package.json; an installed package only its build, dist/engine/.
    if (existsSync(join(dir, 'package.json')) && (existsSync(join(dir, 'engine')) || existsSync(join(dir, 'dist', 'engine'))))
      return (cached = dir);
    const up = resolve(dir, '..');
    if (up === dir) throw new Error(`cannot find the project root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
