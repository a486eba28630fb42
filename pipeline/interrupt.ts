import { writeSync } from 'node:fs';
import { restoreTerminal } from './terminal.js';

/**
 * Ctrl-C (SIGINT) and SIGTERM during a run: give the terminal back, say how far the run got and
 * how to go on, and exit with the shell's code for the signal (128 + its number). Finished shards
 * are on disk with their manifests already; a shard in flight is simply not recorded (its claim
 * names a dead process, so a rerun on this host takes it over at once) and a rerun resumes.
 */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof SIGNAL_EXIT_CODES;

/** How long the handler may take to find its message before the process exits without it. */
const HANDLER_TIMEOUT_MS = 3000;

/**
 * Installs SIGINT/SIGTERM handlers for the duration of a run; `describe` stops the display and
 * returns the line to print. A second signal while that runs exits at once. Returns the
 * uninstaller (the default signal behaviour comes back).
 */
export function onInterrupt(describe: (signal: StopSignal) => Promise<string> | string): () => void {
  let exiting = false;
  const handle = (signal: StopSignal) => {
    const code = SIGNAL_EXIT_CODES[signal];
    if (exiting) process.exit(code);
    exiting = true;
    const timeout = new Promise<string>((resolve) =>
      setTimeout(() => resolve(`interrupted (${signal}); rerun the same command to resume`), HANDLER_TIMEOUT_MS).unref(),
    );
    Promise.race([Promise.resolve().then(() => describe(signal)), timeout])
      .catch((err: unknown) => `interrupted (${signal}; ${(err as Error)?.message ?? String(err)}); rerun the same command to resume`)
      .then((message) => {
        restoreTerminal();
        writeLine(message);
        process.exit(code);
      });
  };
  const onSigint = () => handle('SIGINT');
  const onSigterm = () => handle('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  return () => {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigterm);
  };
}

function writeLine(line: string): void {
  try {
    // Synchronous: process.exit follows immediately.
    writeSync(2, `${line}\n`);
  } catch {
    // No stderr to write to.
  }
}
