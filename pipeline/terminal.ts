import { writeSync } from 'node:fs';

/**
 * The terminal state a progress bar changes and must give back: cli-progress hides the cursor
 * (`ESC[?25l`) and turns line wrap off (`ESC[?7l`) while it draws, and only undoes that in its
 * own stop(). A run that ends any other way (Ctrl-C, SIGTERM, an exception, process.exit) would
 * leave the user's shell without a cursor and with long lines cut off, so the process' exit hook
 * writes the undo sequences whenever a bar was started and not stopped.
 */
export const SHOW_CURSOR = '\x1b[?25h';
export const LINE_WRAP_ON = '\x1b[?7h';

let touched = false;
let hooked = false;
/** While a bar is drawn, log lines go above it through the bar (else the bar overdraws them). */
let aboveBar: ((text: string) => void) | undefined;

/** A bar is about to change the terminal (stderr); `writeAbove` prints text above the bar. */
export function terminalTouched(writeAbove?: (text: string) => void): void {
  touched = true;
  aboveBar = writeAbove;
  if (!hooked) {
    hooked = true;
    // 'exit' handlers run on every exit path that runs JavaScript at all, and must be synchronous.
    process.on('exit', restoreTerminal);
  }
}

/** The bar gave the terminal back itself. */
export function terminalRestored(): void {
  touched = false;
  aboveBar = undefined;
}

/** Writes log text to stderr, above the progress bar while one is drawn. */
export function writeLog(text: string): void {
  if (aboveBar) aboveBar(text);
  else process.stderr.write(text);
}

/**
 * Shows the cursor, turns line wrap back on and ends the bar's line, if a bar left them changed.
 * Synchronous (an exit hook cannot wait for a stream).
 */
export function restoreTerminal(): void {
  aboveBar = undefined;
  if (!touched) return;
  touched = false;
  try {
    writeSync(2, `${SHOW_CURSOR}${LINE_WRAP_ON}\n`);
  } catch {
    // stderr is gone (closed pipe): there is no terminal left to restore.
  }
}
