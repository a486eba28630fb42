/**
 * Who this process is, in a form that does not collide across machines, reboots, containers and
 * PID namespaces: host + pid alone do (every container's first process is pid 1, and a fresh PID
 * namespace on the same host reuses pids), so a lease also records the boot id, the PID namespace,
 * the process start time and a random per-process token (docs/PROTOCOL.md §9).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessIdentity {
  host: string;
  pid: number;
  /** Random, fresh for every process: two processes never share it. */
  token: string;
  /** Linux boot id ('' elsewhere). */
  bootId: string;
  /** `pid:[…]` of /proc/self/ns/pid ('' elsewhere). */
  pidNamespace: string;
  /** Field 22 of /proc/<pid>/stat: start time in clock ticks after boot ('' elsewhere). */
  startTime: string;
}

function readOr(read: () => string, fallback: string): string {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** Start time of a process of this PID namespace, or undefined when no such process exists. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? '';
}

let self: ProcessIdentity | undefined;

export function processIdentity(): ProcessIdentity {
  self ??= {
    host: hostname(),
    pid: process.pid,
    token: randomBytes(12).toString('hex'),
    bootId: readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), ''),
    pidNamespace: readOr(() => readlinkSync('/proc/self/ns/pid'), ''),
    startTime: processStartTime(process.pid) ?? '',
  };
  return self;
}

/** What a lease says about its holder (the fields of ProcessIdentity it recorded). */
export interface HolderFields {
  host: string;
  pid: number;
  processToken?: string | undefined;
  bootId?: string | undefined;
  pidNamespace?: string | undefined;
  startTime?: string | undefined;
}

/**
 * 'gone' only when this process can tell for sure: the holder ran on this host, in this boot and
 * this PID namespace (so its pid means the same process table), and no process with its pid and
 * start time exists. 'self' for this very process. Otherwise 'unknown': only the lease's expiry
 * can tell (another machine, another container, or a lease of an older format).
 */
export function holderState(
  holder: HolderFields,
  me: ProcessIdentity = processIdentity(),
  host: string = me.host,
): 'self' | 'gone' | 'alive' | 'unknown' {
  if (holder.processToken !== undefined && holder.processToken === me.token) return 'self';
  if (holder.host !== host || !holder.bootId || !holder.pidNamespace || !holder.startTime) return 'unknown';
  if (holder.bootId !== me.bootId || holder.pidNamespace !== me.pidNamespace) return 'unknown';
  const start = processStartTime(holder.pid);
  if (start === undefined || start !== holder.startTime) return 'gone';
  return 'alive';
}
