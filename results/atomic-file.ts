/**
 * Atomic file writes for a directory that many processes (and machines, over a shared file
 * system) read while others write: a reader sees either no file or the complete file, never a
 * half-written one. The bytes go to a unique temporary name in the same folder (rename is only
 * atomic within one file system), are fsynced, then renamed (replace) or hard-linked (create
 * only if absent) to the final name.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** Test seam: runs after the temp file is complete and before it takes the final name. */
export interface AtomicWriteHooks {
  beforeCommit?: (tempPath: string) => Promise<void> | void;
}

/** Suffix marker of temp files, so cleanup tools and `status` can recognise and skip them. */
export const TEMP_MARKER = '.tmp-';

/** A unique temp name beside `path`; host + pid + random so machines sharing a folder never collide. */
export function tempPathFor(path: string): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 40);
  return join(dirname(path), `.${basename(path)}${TEMP_MARKER}${host}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARKER);
}

/**
 * TEST-ONLY: SGLRP_TEST_ENOSPC=substring makes writes to paths containing it fail with ENOSPC,
 * as on a full disk (see pipeline/test-hooks.ts; never set outside tests).
 */
function injectedWriteError(path: string): NodeJS.ErrnoException | undefined {
  const match = process.env['SGLRP_TEST_ENOSPC'];
  if (!match || !path.includes(match)) return undefined;
  const err: NodeJS.ErrnoException = new Error(`ENOSPC: no space left on device, write '${path}' (test-injected)`);
  Object.assign(err, { code: 'ENOSPC', errno: -28, syscall: 'write', path });
  return err;
}

async function writeTemp(path: string, data: Uint8Array | string): Promise<string> {
  await fs.mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  const handle = await fs.open(temp, 'wx');
  try {
    const injected = injectedWriteError(path);
    if (injected) throw injected;
    await handle.writeFile(data);
    // Without fsync a crash after the rename can leave a complete-looking name with no data.
    await handle.sync();
  } catch (err) {
    // A failed write (a full disk) leaves no half-written temp file behind.
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  await handle.close();
  return temp;
}

/** Best-effort fsync of a folder so the new name survives a crash; some file systems refuse it. */
async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EPERM/EINVAL on some platforms and network file systems: durability is best effort.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Write `data` to `path` atomically, replacing any existing file. Creates missing folders. */
export async function writeFileAtomic(path: string, data: Uint8Array | string, hooks?: AtomicWriteHooks): Promise<void> {
  const temp = await writeTemp(path, data);
  try {
    await hooks?.beforeCommit?.(temp);
    await fs.rename(temp, path);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDir(dirname(path));
}

/** Error codes of link(2) on file systems that have no hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * Move `from` back to `to` unless a file already took that name (then `from` is discarded):
 * used to undo moving a file aside after finding it was not the one we meant to move.
 * Returns whether `to` now holds `from`'s content.
 */
export async function restoreIfAbsent(from: string, to: string): Promise<boolean> {
  try {
    await fs.link(from, to);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(code)) throw err;
    // No hard links: check-then-rename has a small window, the best this file system allows.
    if ((await readIfExists(to)) !== undefined) return false;
    await fs.rename(from, to);
    return true;
  } finally {
    await fs.rm(from, { force: true });
  }
}

/**
 * Create `path` with `data` only if no file has that name; returns false when one exists.
 * Uses link(2), which fails atomically with EEXIST and, unlike open(O_EXCL), is also atomic on
 * NFS, and the file appears with its full content. File systems without hard links (some FUSE
 * mounts) fall back to open('wx') + write, where a reader can briefly see an empty file.
 */
export async function createFileExclusive(path: string, data: Uint8Array | string): Promise<boolean> {
  const temp = await writeTemp(path, data);
  try {
    await fs.link(temp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(code ?? '')) throw err;
    return createWithOpenExclusive(path, data);
  } finally {
    await fs.rm(temp, { force: true });
    await syncDir(dirname(path));
  }
}

async function createWithOpenExclusive(path: string, data: Uint8Array | string): Promise<boolean> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

/** Read a file, or undefined when it does not exist (any other error is thrown). */
export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
