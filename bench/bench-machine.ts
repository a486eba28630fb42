/** What a bench number needs beside it to mean anything: the machine, and how busy it was. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  /** `nproc`: cores this process may use. */
  nproc: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  platform: string;
}

/** The CPU model as /proc/cpuinfo names it (Node's `os.cpus()` elsewhere). */
export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux: fall through
  }
  return cpus()[0]?.model ?? 'unknown';
}

export function machineInfo(): MachineInfo {
  return {
    nproc: availableParallelism(),
    cpuModel: cpuModel(),
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** Samples the 1-minute load average every `ms` while the bench runs. */
export class LoadSampler {
  private readonly samples: number[] = [loadavg()[0]!];
  private readonly timer: NodeJS.Timeout;
  readonly before = loadavg()[0]!;

  constructor(ms = 10_000) {
    this.timer = setInterval(() => this.samples.push(loadavg()[0]!), ms);
    this.timer.unref();
  }

  stop(): { before: number; max: number; mean: number; after: number } {
    clearInterval(this.timer);
    const after = loadavg()[0]!;
    this.samples.push(after);
    const mean = this.samples.reduce((a, b) => a + b, 0) / this.samples.length;
    return { before: this.before, max: Math.max(...this.samples), mean, after };
  }
}
