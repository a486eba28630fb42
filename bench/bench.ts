/**
 * `npm run bench`: explanation throughput on a VGG16-shaped model (224×224×3, 1000 classes,
 * random weights made here and saved to a temporary folder, never committed), per backend.
 * Each backend runs in its own child process (bench-worker.ts); see bench-cases.ts for what is
 * timed. Then the real pipeline CLI: the same VGG16 on synthetic ImageNet images with
 * configs/imagenet-vgg16.yaml (1 then 2 workers), and the digits-pair config (scaling, memory).
 * Prints a Markdown table and writes JSON (default bench-results/bench.json).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { BackendName } from '../engine/types.js';
import { BenchUsageError, EXTRA_USAGE, parseBenchArgs, splitExtraArgs, type BenchArgs } from './bench-args.js';
import { CASES } from './bench-cases.js';
import { LoadSampler, machineInfo } from './bench-machine.js';
import { formatTable, type BackendResult, type BenchResults, type PipelineBench } from './bench-results.js';
import { benchMemory, benchScaling, benchVgg16Pipeline, stopReason } from './pipeline-bench.js';
import { saveRandomVgg16 } from './random-vgg16.js';

const WORKER = fileURLToPath(new URL('./bench-worker.js', import.meta.url));
/** A backend that runs longer than this is stopped and reported as failed (cpu is ~30× slower). */
const TIMEOUT_MS: Record<BackendName, number> = { tensorflow: 3_600_000, webgpu: 3_600_000, wasm: 3_600_000, cpu: 6 * 3_600_000 };

/** Runs one backend's worker; a crash or timeout becomes a `failed` result with the reason. */
function runWorker(backend: BackendName, modelPath: string, args: BenchArgs, dir: string, whole: number): Promise<BackendResult> {
  const resultFile = join(dir, `result-${backend}.json`);
  const child = spawn(
    process.execPath,
    [
      WORKER,
      '--backend',
      backend,
      '--model',
      modelPath,
      '--images',
      String(args.images),
      '--batch',
      String(args.batch),
      '--cases',
      args.cases.join(','),
      '--result',
      resultFile,
      '--whole',
      String(whole),
      ...(args.explicitBackends ? ['--allow-software-webgpu'] : []),
    ],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
  let tail = '';
  child.stderr.on('data', (d: Buffer) => {
    process.stderr.write(d);
    tail = (tail + d.toString()).slice(-2000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS[backend]);
  return new Promise((done) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = tail.trim().split('\n').slice(-3).join(' | ');
      const reason = `the ${backend} worker stopped (${stopReason(code, signal)})${last ? `: ${last}` : ''}`;
      if (!existsSync(resultFile)) {
        done({ backend, status: 'failed', reason });
        return;
      }
      // The worker writes after every phase, so a crash keeps what was measured before it.
      const r = JSON.parse(readFileSync(resultFile, 'utf8')) as BackendResult;
      if (r.status === 'ok' && (code !== 0 || signal)) {
        for (const name of args.cases)
          if (!r.cases.some((c) => c.name === name)) r.cases.push({ name, label: CASES[name].label, status: 'failed', reason });
      }
      done(r);
    });
  });
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const { rest, extra } = splitExtraArgs(process.argv.slice(2));
  const args = parseBenchArgs(rest);
  const load = new LoadSampler();
  const dir = mkdtempSync(join(tmpdir(), 'sglrp-bench-'));
  try {
    process.stderr.write(`bench: building VGG16 with random weights in ${dir} …\n`);
    const { modelPath, parameters } = await saveRandomVgg16(dir);
    const info = { name: 'VGG16 (Keras layer names and shapes, random weights)', inputShape: [224, 224, 3], classes: 1000, parameters };

    const backends: BackendResult[] = [];
    for (const b of args.backends) {
      process.stderr.write(`bench: ${b} …\n`);
      backends.push(await runWorker(b, modelPath, args, dir, extra.whole));
    }
    // The real pipeline (the CLI in a child process, wasm), after the backends' children have
    // exited: VGG16 on synthetic ImageNet images, then the digits-pair config.
    let pipeline: PipelineBench | undefined;
    if (extra.pipelineLimit > 0 || extra.memoryImages > 0 || extra.vgg16Pipeline > 0) {
      pipeline = {};
      const failed = (e: unknown) => ({ status: 'failed' as const, reason: (e as Error).message.split('\n')[0]! });
      if (extra.vgg16Pipeline > 0) pipeline.vgg16 = await benchVgg16Pipeline(modelPath, extra.vgg16Pipeline).catch(failed);
      if (extra.pipelineLimit > 0) pipeline.scaling = await benchScaling(extra.pipelineLimit).catch(failed);
      if (extra.memoryImages > 0) pipeline.memory = await benchMemory(extra.memoryImages).catch(failed);
    }
    const results: BenchResults = {
      date: new Date().toISOString(),
      machine: machineInfo(),
      model: info,
      options: { images: args.images, batch: args.batch, cases: args.cases },
      backends,
      ...(pipeline ? { pipeline } : {}),
      load: load.stop(),
      seconds: (performance.now() - t0) / 1000,
    };
    const out = resolve(args.out);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    const m = results.machine;
    process.stdout.write(
      `\n${m.cpuModel}, nproc ${m.nproc}, Node ${m.node}; ${results.date}; load average (1 min) before ${results.load.before.toFixed(2)}, ` +
        `max ${results.load.max.toFixed(2)}, mean ${results.load.mean.toFixed(2)} during the run\n\n${formatTable(results)}\nwrote ${out} (${results.seconds.toFixed(0)} s in all)\n`,
    );
    if (!backends.some((b) => b.status === 'ok')) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  if (e instanceof BenchUsageError) {
    process.stderr.write(`${e.message}\n${e.message.includes(EXTRA_USAGE) ? '' : `${EXTRA_USAGE}\n`}`);
    process.exit(2);
  }
  process.stderr.write(`bench: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
