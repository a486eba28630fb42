import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { createFileExclusive, readIfExists, restoreIfAbsent, tempPathFor, writeFileAtomic } from '../results/atomic-file.js';
import { sha256Hex } from '../results/checksum.js';
import { leaseSchema, parseRecord, type LeaseInfo } from '../results/run-format.js';
import { holderState, processIdentity } from './process-identity.js';

/*
 * Leases on shards, as files in a folder shared by many processes and machines (a local disk or
 * NFS): `claims/<phase>-<00000>.lock` holds who computes the shard and until when. Creating the
 * lock is an exclusive create, so of two claimers exactly one wins. A lock whose lease ran out
 * (its owner died) may be taken over; the taker first wins an exclusive "takeover" marker named
 * after the stale lock's token, so of many takers only one removes that lock, and nobody ever
 * removes a live one.
 *
 * Safety assumes clocks of the machines agree to within `staleGraceMs` (NTP gives milliseconds),
 * and that a process does not stall for longer than its lease without noticing: `renew()` returns
 * false once the lease is lost, and the runner should stop working on the shard then.
 */

export interface LeaseClock {
  now: () => number;
  host: string;
  /** A lock counts as stale only this long after its expiry (clock skew between machines). */
  staleGraceMs: number;
  /** A takeover marker older than this belongs to a taker that died mid-takeover. */
  takeoverTimeoutMs: number;
}

export interface LeaseOptions {
  /** Lease length; renew well before it runs out (every leaseMs/3 is a good rhythm). */
  leaseMs: number;
  /** Who is working (e.g. `host:pid:worker-2`); shown by `status`. */
  owner: string;
}

interface LockRead {
  bytes: Buffer;
  info: LeaseInfo | undefined;
  mtimeMs: number;
}

async function readLock(path: string): Promise<LockRead | undefined> {
  const bytes = await readIfExists(path);
  if (bytes === undefined) return undefined;
  let mtimeMs = Date.now();
  try {
    mtimeMs = (await fs.stat(path)).mtimeMs;
  } catch {
    // Vanished between read and stat: the bytes still tell who held it.
  }
  return { bytes, info: parseLock(bytes), mtimeMs };
}

/** A lock file's lease; undefined for an empty or torn one (file systems without hard links), judged by its age instead. */
export function parseLock(bytes: Buffer | string): LeaseInfo | undefined {
  const parsed = parseRecord(bytes, leaseSchema, 'lease');
  return typeof parsed === 'string' ? undefined : parsed;
}

/** Expiry of a lock; an unreadable one expires one lease after it was last written. */
function expiryOf(lock: LockRead, leaseMs: number): number {
  return lock.info?.expiresAt ?? lock.mtimeMs + leaseMs;
}

function tokenOf(lock: LockRead): string {
  return lock.info?.token ?? `unreadable-${sha256Hex(lock.bytes).slice(0, 16)}`;
}

/** Move `path` aside only if it still holds `expected`; put back whatever else was there. */
async function removeIfUnchanged(path: string, expected: Buffer): Promise<boolean> {
  const aside = tempPathFor(path);
  try {
    await fs.rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  const moved = await fs.readFile(aside);
  if (moved.equals(expected)) {
    await fs.rm(aside, { force: true });
    return true;
  }
  // Not the lock we judged: restore it (unless a newer one already took the name).
  await restoreIfAbsent(aside, path);
  return false;
}

/** A held lease on one shard. */
export class ShardLease {
  #lost = false;
  /** The lease length it was taken with; every renewal extends it by this much from "now". */
  readonly leaseMs: number;

  constructor(
    readonly lockPath: string,
    readonly phase: string,
    readonly shard: number,
    readonly owner: string,
    readonly token: string,
    private info: LeaseInfo,
    private readonly clock: LeaseClock,
  ) {
    this.leaseMs = info.expiresAt - info.acquiredAt;
  }

  get expiresAt(): number {
    return this.info.expiresAt;
  }

  /** True once renew() found the lease gone (expired and taken over) or release() ran. */
  get lost(): boolean {
    return this.#lost;
  }

  /**
   * Extend the lease to now + leaseMs. Returns false (and marks the lease lost) when the lease
   * ran out long enough ago that someone may have taken the shard, or the lock is not ours.
   */
  async renew(leaseMs = this.leaseMs): Promise<boolean> {
    if (this.#lost) return false;
    const now = this.clock.now();
    // Past half the grace period a taker may already be at work: do not touch the file.
    if (now >= this.info.expiresAt + this.clock.staleGraceMs / 2) {
      this.#lost = true;
      return false;
    }
    const current = await readLock(this.lockPath);
    if (current?.info?.token !== this.token) {
      this.#lost = true;
      return false;
    }
    const next: LeaseInfo = { ...this.info, expiresAt: now + leaseMs };
    await writeFileAtomic(this.lockPath, JSON.stringify(next));
    this.info = next;
    return true;
  }

  /** Give the shard up (after its manifest is written, or on failure so others may retry it). */
  async release(): Promise<void> {
    if (this.#lost) return;
    this.#lost = true;
    const current = await readLock(this.lockPath);
    if (current?.info?.token !== this.token) return;
    // Expired long ago: a taker may be moving it right now; leave it to them.
    if (this.clock.now() >= this.info.expiresAt + this.clock.staleGraceMs / 2) return;
    await removeIfUnchanged(this.lockPath, current.bytes);
  }

  /**
   * Renew every `intervalMs` (default a third of the lease) until stopped; `onLost` runs once if
   * the lease is lost. The timer is unref'd so it never keeps the process alive.
   */
  keepAlive(options: { intervalMs?: number; onLost?: (lease: ShardLease) => void } = {}): () => void {
    const leaseMs = this.leaseMs;
    const timer = setInterval(
      () => {
        this.renew(leaseMs).then(
          (ok) => {
            if (!ok) {
              clearInterval(timer);
              options.onLost?.(this);
            }
          },
          () => undefined, // A transient I/O error: the next tick tries again before the lease ends.
        );
      },
      options.intervalMs ?? Math.max(1, Math.floor(leaseMs / 3)),
    );
    timer.unref();
    return () => clearInterval(timer);
  }
}

export interface LiveLock extends LeaseInfo {
  path: string;
  state: 'live' | 'expired' | 'stale';
}

/** Lease, take over, release and list leases in one claims folder. */
export class LeaseStore {
  constructor(
    readonly dir: string,
    private readonly clock: LeaseClock,
  ) {}

  lockPath(name: string): string {
    return join(this.dir, `${name}.lock`);
  }

  /**
   * Try to lease the shard. Returns the ShardLease, or null when someone else holds a live lease (or
   * is taking over a stale one right now). After winning, check again that the shard is not done:
   * it may have been finished between your check and your claim.
   */
  async claim(phase: string, shard: number, name: string, options: LeaseOptions): Promise<ShardLease | null> {
    if (!(options.leaseMs > 0)) throw new RangeError(`claim: leaseMs must be > 0, got ${options.leaseMs}`);
    const path = this.lockPath(name);
    await fs.mkdir(this.dir, { recursive: true });
    // Up to three rounds: each after the first follows a takeover (or a lock that vanished while we looked).
    for (let round = 0; round < 3; round++) {
      const now = this.clock.now();
      const me = processIdentity();
      const info: LeaseInfo = {
        owner: options.owner,
        host: this.clock.host,
        pid: process.pid,
        token: randomBytes(12).toString('hex'),
        processToken: me.token,
        bootId: me.bootId,
        pidNamespace: me.pidNamespace,
        startTime: me.startTime,
        phase,
        shard,
        acquiredAt: now,
        expiresAt: now + options.leaseMs,
      };
      if (await createFileExclusive(path, JSON.stringify(info))) {
        return new ShardLease(path, phase, shard, options.owner, info.token, info, this.clock);
      }
      const current = await readLock(path);
      if (current === undefined) continue;
      const live = this.clock.now() <= expiryOf(current, options.leaseMs) + this.clock.staleGraceMs;
      if (live && !this.ownerDiedHere(current)) return null;
      if (!(await this.takeOver(path, current))) return null;
    }
    return null;
  }

  /**
   * A lease held by a process of this host, boot and PID namespace that no longer exists (no
   * process with its pid and start time) is stale at once: a killed run restarted on the same
   * machine must not wait out the lease of its own dead predecessor. Anywhere else (another
   * machine, container or PID namespace) only the lease's expiry can tell.
   */
  private ownerDiedHere(lock: LockRead): boolean {
    return lock.info !== undefined && holderState(lock.info, processIdentity(), this.clock.host) === 'gone';
  }

  /** Remove a stale lock if we win the right to; false when another taker has it. */
  private async takeOver(path: string, stale: LockRead): Promise<boolean> {
    const token = tokenOf(stale);
    const me = JSON.stringify({ host: this.clock.host, pid: process.pid, at: this.clock.now() });
    // Marker n+1 is only tried when marker n is older than the takeover timeout, i.e. its taker
    // died between winning the marker and removing the lock; otherwise the shard would stay
    // locked forever.
    for (let n = 1; n <= 50; n++) {
      const marker = `${path}.takeover-${token}-${n}`;
      if (await createFileExclusive(marker, me)) return removeIfUnchanged(path, stale.bytes);
      let age: number;
      try {
        age = this.clock.now() - (await fs.stat(marker)).mtimeMs;
      } catch {
        continue; // Cleaned up under us: the takeover already finished; try the next number.
      }
      if (age < this.clock.takeoverTimeoutMs) return false;
    }
    return false;
  }

  /** Locks whose lease is not over (running shards); `names` filters lock file names. */
  async live(names?: RegExp): Promise<LiveLock[]> {
    return (await this.leases(names)).filter((l) => l.state === 'live');
  }

  /**
   * Every readable lock with its state: 'live' (someone holds it), 'expired' (its lease ran out:
   * anyone may take it over) or 'stale' (its holder ran here and is gone: taken over at once).
   */
  async leases(names?: RegExp): Promise<LiveLock[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const now = this.clock.now();
    const out: LiveLock[] = [];
    for (const name of entries) {
      if (!name.endsWith('.lock') || (names !== undefined && !names.test(name))) continue;
      const path = join(this.dir, name);
      const lock = await readLock(path);
      if (!lock?.info) continue;
      const state = now > lock.info.expiresAt + this.clock.staleGraceMs ? 'expired' : this.ownerDiedHere(lock) ? 'stale' : 'live';
      out.push({ ...lock.info, path, state });
    }
    return out;
  }

  /** Delete leftover takeover markers of one lock (after its shard is done). */
  async cleanMarkers(name: string): Promise<void> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return;
    }
    const prefix = `${name}.lock.takeover-`;
    await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => fs.rm(join(this.dir, n), { force: true })));
  }
}

export function defaultClock(overrides: Partial<LeaseClock> = {}): LeaseClock {
  return { now: Date.now, host: processIdentity().host, staleGraceMs: 10_000, takeoverTimeoutMs: 60_000, ...overrides };
}
