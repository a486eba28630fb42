/**
 * TEST-ONLY fault injection, driven by environment variables that only the crash-safety tests
 * (test/pipeline/crash.test.ts) set. With none of them set (every real run) each hook is a no-op
 * costing one object lookup. Never set these outside tests: they make runs slow or fail on purpose.
 *
 *  SGLRP_TEST_DELAY_AT=point[@phase:shard][,…]  at each listed point (optionally only for that
 *      shard), print `sglrp-test: at <point> <phase> <shard> pid <pid>` to stderr and sleep
 *      SGLRP_TEST_DELAY_MS (default 3000) ms — a wide, known window for a test to `kill -9` in.
 *      Points: model-load (worker, before the model is read), mid-shard (worker, after the first
 *      batch of a shard), write-table (runner: the shard's first table file is in place and the
 *      second one's temp file is complete, not yet renamed), manifest (runner, after every table
 *      of the shard is written and before its manifest record).
 *  SGLRP_TEST_TRACE=1  print the same line at every point, without sleeping (tests use it to see
 *      which process computed which shard).
 *  SGLRP_TEST_FAIL=phase:shard:kind[:times][,…]  the worker fails that shard: kind `throw` (an
 *      ordinary exception) or `oom` (the wasm out-of-memory abort, after which the worker thread
 *      exits and the pool replaces it). `times` attempts fail (default: all); the count is kept
 *      in the file SGLRP_TEST_FAIL_COUNTER (one byte per failure), shared by threads.
 *  SGLRP_TEST_ENOSPC=substring  a file write whose target path contains `substring` fails with
 *      ENOSPC, as on a full disk (implemented in results/atomic-file.ts, which sits below pipeline/).
 */
import { appendFileSync, readFileSync } from 'node:fs';

export type HookPoint = 'model-load' | 'mid-shard' | 'write-table' | 'manifest';

interface DelayRule {
  point: string;
  phase?: string;
  shard?: number;
}

function delayRules(): DelayRule[] {
  const raw = process.env['SGLRP_TEST_DELAY_AT'];
  if (!raw) return [];
  return raw.split(',').map((item) => {
    const [point, where] = item.trim().split('@');
    if (!where) return { point: point! };
    const [phase, shard] = where.split(':');
    return { point: point!, phase: phase!, shard: Number(shard) };
  });
}

/** A hook point: traces and/or pauses when the test variables ask for it. */
export async function testHook(point: HookPoint, phase: string, shard: number): Promise<void> {
  const env = process.env;
  if (!env['SGLRP_TEST_DELAY_AT'] && !env['SGLRP_TEST_TRACE']) return;
  const pause = delayRules().some((r) => r.point === point && (r.phase === undefined || (r.phase === phase && r.shard === shard)));
  if (!pause && !env['SGLRP_TEST_TRACE']) return;
  process.stderr.write(`sglrp-test: at ${point} ${phase} ${shard} pid ${process.pid}\n`);
  if (pause) await new Promise((r) => setTimeout(r, Number(env['SGLRP_TEST_DELAY_MS'] ?? 3000)));
}

/** The injected failure for this shard attempt, if SGLRP_TEST_FAIL asks for one. */
export function testFailure(phase: string, shard: number): Error | undefined {
  const raw = process.env['SGLRP_TEST_FAIL'];
  if (!raw) return undefined;
  for (const item of raw.split(',')) {
    const [p, s, kind, times] = item.trim().split(':');
    if (p !== phase || Number(s) !== shard) continue;
    if (times !== undefined) {
      const counter = process.env['SGLRP_TEST_FAIL_COUNTER'];
      if (!counter) throw new Error('SGLRP_TEST_FAIL with a count needs SGLRP_TEST_FAIL_COUNTER (a file path)');
      const key = `${phase}:${shard}`;
      let used = 0;
      try {
        used = readFileSync(counter, 'utf8')
          .split('\n')
          .filter((l) => l === key).length;
      } catch {
        /* no failures yet */
      }
      if (used >= Number(times)) return undefined;
      appendFileSync(counter, `${key}\n`);
    }
    return kind === 'oom'
      ? new Error(`RuntimeError: Aborted(). Out of memory (test-injected for ${phase} shard ${shard})`)
      : new Error(`test-injected failure in ${phase} shard ${shard}`);
  }
  return undefined;
}
