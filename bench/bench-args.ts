/**
 * `npm run bench -- [--backend B[,B…]] [--with-cpu] [--images N] [--batch B] [--cases a,b] [--out FILE]`.
 * Parsed by hand (no yargs) so the bench has no command-line surface beyond these few flags.
 */
import { BACKEND_NAMES, type BackendName } from '../engine/types.js';
import { CASE_NAMES, type CaseName } from './bench-cases.js';

export interface BenchArgs {
  /** Backends to try, in order. */
  backends: BackendName[];
  /** Backends named with --backend (not the default list): a software webgpu adapter is then measured too. */
  explicitBackends: boolean;
  /** Images per batch-1 case (each image explained by its own call). */
  images: number;
  /** Images per call of the batched cases (`*-b4` use this). */
  batch: number;
  cases: CaseName[];
  out: string;
}

export const DEFAULT_OUT = 'bench-results/bench.json';
/** Two images per batch-1 case keep a full wasm run near 4–5 minutes on 2 (shared) cores. */
export const DEFAULT_IMAGES = 2;
export const DEFAULT_BATCH = 4;

export const BENCH_USAGE = `usage: npm run bench -- [options]
  --backend B[,B…]  backends to try (${BACKEND_NAMES.join(', ')}); default tensorflow, webgpu, wasm
  --with-cpu        also run the pure-JS cpu backend (about 30× slower than wasm)
  --images N        images per batch-1 case (default ${DEFAULT_IMAGES})
  --batch B         images per call of the batched case (default ${DEFAULT_BATCH})
  --cases a,b       only these cases (${CASE_NAMES.join(', ')})
  --out FILE        JSON results (default ${DEFAULT_OUT})`;

export class BenchUsageError extends Error {}

/** The word after `--name` in `argv` (the standalone scripts' and the bench worker's flags), else undefined. */
export function argValue(name: string, argv: readonly string[] = process.argv): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new BenchUsageError(`${flag} ${v ?? ''}: expected a positive integer\n${BENCH_USAGE}`);
  return n;
}

function list(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let backends: string[] | undefined;
  let withCpu = false;
  let images = DEFAULT_IMAGES;
  let batch = DEFAULT_BATCH;
  let cases: string[] = [...CASE_NAMES];
  let out = DEFAULT_OUT;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--backend':
        backends = [...(backends ?? []), ...list(value())];
        break;
      case '--with-cpu':
        withCpu = true;
        break;
      case '--images':
        images = positiveInt('--images', value());
        break;
      case '--batch':
        batch = positiveInt('--batch', value());
        break;
      case '--cases':
        cases = list(value());
        break;
      case '--out':
        out = value() ?? '';
        if (!out) throw new BenchUsageError(`--out needs a file name\n${BENCH_USAGE}`);
        break;
      case '--help':
      case '-h':
        throw new BenchUsageError(BENCH_USAGE);
      default:
        throw new BenchUsageError(`unknown option '${argv[i]}'\n${BENCH_USAGE}`);
    }
  }
  const chosen = backends ?? ['tensorflow', 'webgpu', 'wasm', ...(withCpu ? ['cpu'] : [])];
  if (backends && withCpu && !chosen.includes('cpu')) chosen.push('cpu');
  for (const b of chosen) {
    if (!(BACKEND_NAMES as readonly string[]).includes(b))
      throw new BenchUsageError(`--backend ${b}: expected one of ${BACKEND_NAMES.join(', ')}`);
  }
  for (const c of cases) {
    if (!(CASE_NAMES as readonly string[]).includes(c))
      throw new BenchUsageError(`--cases ${c}: expected some of ${CASE_NAMES.join(', ')}`);
  }
  if (cases.length === 0) throw new BenchUsageError(`--cases is empty: give some of ${CASE_NAMES.join(', ')}`);
  return {
    backends: [...new Set(chosen)] as BackendName[],
    explicitBackends: backends !== undefined,
    images,
    batch,
    cases: cases as CaseName[],
    out,
  };
}

/** BENCHMARKS.md measurements (c), (d), (e) sizes; `--whole 0`, `--pipeline-limit 0`, `--memory-images 0`, `--vgg16-pipeline 0` skip one. */
export interface ExtraArgs {
  /** Images for the whole per-image work vs the naive sum, per backend (c). */
  whole: number;
  /** Images of the digits-pair pipeline run with 1, then 2 workers (d). */
  pipelineLimit: number;
  /** Images of the long digits-pair run whose memory is sampled (e). */
  memoryImages: number;
  /** Synthetic ImageNet images run through `sglrp run configs/imagenet-vgg16.yaml` with 1, then 2 workers (c), (d), (e) on VGG16. */
  vgg16Pipeline: number;
}

export const DEFAULT_EXTRA: Readonly<ExtraArgs> = { whole: 1, pipelineLimit: 400, memoryImages: 1000, vgg16Pipeline: 8 };

export const EXTRA_USAGE = `  --whole N         images for the whole per-image work vs the naive sum, VGG16 (default ${DEFAULT_EXTRA.whole}; 0 skips)
  --pipeline-limit N  digits-pair pipeline images run with 1 then 2 workers (default ${DEFAULT_EXTRA.pipelineLimit}; 0 skips)
  --memory-images N   digits-pair images of the memory run (default ${DEFAULT_EXTRA.memoryImages}; 0 skips)
  --vgg16-pipeline N  synthetic ImageNet images through 'sglrp run configs/imagenet-vgg16.yaml' (VGG16, random
                      weights, wasm) with 1 then 2 workers: s/image, 2/1 ratio, peak RSS (default ${DEFAULT_EXTRA.vgg16Pipeline}; 0 skips)`;

/** Takes the issue-6 flags out of argv (the rest goes to parseBenchArgs). */
export function splitExtraArgs(argv: readonly string[]): { rest: string[]; extra: ExtraArgs } {
  const extra: ExtraArgs = { ...DEFAULT_EXTRA };
  const keys: Record<string, keyof ExtraArgs> = {
    '--whole': 'whole',
    '--pipeline-limit': 'pipelineLimit',
    '--memory-images': 'memoryImages',
    '--vgg16-pipeline': 'vgg16Pipeline',
  };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const key = keys[flag];
    if (!key) {
      rest.push(argv[i]!);
      continue;
    }
    const v = inline ?? argv[++i];
    const n = Number(v);
    if (v === undefined || v === '' || !Number.isInteger(n) || n < 0)
      throw new BenchUsageError(`${flag} ${v ?? ''}: expected a whole number (0 skips it)\n${EXTRA_USAGE}`);
    extra[key] = n;
  }
  return { rest, extra };
}
