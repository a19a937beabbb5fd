import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { decryptFileToBuffer, encryptBuffer } from '../vault/files.ts';
import type { FileKeyOpener } from '../vault/format.ts';

/**
 * Not a camera name (it has a dot), so storage reconciliation never takes it for footage, and
 * retention, which only deletes indexed footage, never touches it.
 */
export const FACES_DIR = 'residents.sealed';

/**
 * The sealed files of enrolled faces: per face a JPEG of the face and its embedding (128 float32),
 * each sealed to the vault's public key like footage. Writing needs no passphrase; reading does.
 */
export class FaceFiles {
  constructor(
    private readonly storageDir: string,
    private readonly publicKey: () => Uint8Array | undefined,
  ) {}

  private path(faceId: string, part: 'photo' | 'embedding'): string {
    return join(this.storageDir, FACES_DIR, `${faceId}-${part}.volet`);
  }

  async write(faceId: string, photo: Buffer, embedding: Float32Array): Promise<void> {
    const key = this.publicKey();
    if (!key) throw new Error('the vault is not initialised yet');
    await mkdir(join(this.storageDir, FACES_DIR), { recursive: true, mode: 0o700 });
    const bytes = Buffer.from(embedding.buffer, embedding.byteOffset, embedding.byteLength);
    await encryptBuffer(photo, this.path(faceId, 'photo'), key, 'snapshot');
    await encryptBuffer(bytes, this.path(faceId, 'embedding'), key, 'metadata');
  }

  photo(faceId: string, vault: FileKeyOpener): Promise<Buffer> {
    return decryptFileToBuffer(this.path(faceId, 'photo'), vault);
  }

  async embedding(faceId: string, vault: FileKeyOpener): Promise<Float32Array> {
    const bytes = await decryptFileToBuffer(this.path(faceId, 'embedding'), vault);
    const copy = new Uint8Array(bytes); // aligned for Float32Array
    return new Float32Array(copy.buffer, 0, Math.floor(copy.byteLength / 4));
  }

  /** Deletes both files; a file already gone is fine. */
  async remove(faceId: string): Promise<void> {
    for (const part of ['photo', 'embedding'] as const) {
      await unlink(this.path(faceId, part)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }
}
