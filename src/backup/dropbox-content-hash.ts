import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Dropbox hashes content in blocks of 4 MiB. */
export const DROPBOX_HASH_BLOCK_SIZE = 4 * 1024 * 1024;

/**
 * Dropbox's content_hash: SHA-256 of each 4 MiB block, the block digests concatenated, and the
 * SHA-256 of that, in hex. Feed bytes in any chunking with update().
 */
export class DropboxContentHasher {
  private readonly overall = createHash('sha256');
  private block: Hash = createHash('sha256');
  private blockFill = 0;

  update(data: Uint8Array): this {
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(DROPBOX_HASH_BLOCK_SIZE - this.blockFill, data.length - offset);
      this.block.update(data.subarray(offset, offset + take));
      this.blockFill += take;
      offset += take;
      if (this.blockFill === DROPBOX_HASH_BLOCK_SIZE) this.finishBlock();
    }
    return this;
  }

  digest(): string {
    if (this.blockFill > 0) this.finishBlock();
    return this.overall.digest('hex');
  }

  private finishBlock(): void {
    this.overall.update(this.block.digest());
    this.block = createHash('sha256');
    this.blockFill = 0;
  }
}

/** content_hash of a local file, to compare with what Dropbox reports for the uploaded copy. */
export async function dropboxContentHash(path: string): Promise<string> {
  const hasher = new DropboxContentHasher();
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hasher.update(chunk as Buffer);
  return hasher.digest();
}
