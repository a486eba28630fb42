/** SHA-256 helpers: shard files are identified by the hex digest of their exact bytes. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Streams the file, so checking a large shard does not hold it in memory twice. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
