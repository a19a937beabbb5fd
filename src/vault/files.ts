// Encrypted files on disk: streaming, atomic writes and reads of the format in format.ts.
import { open, type FileHandle } from 'node:fs/promises';
import { writeFileAtomically } from './atomic-write.ts';
import { VaultFormatError, type VaultFormatErrorCode } from './errors.ts';
import {
  createDecryptor,
  createEncryptor,
  encryptChunks,
  HEADER_BYTES,
  parseHeader,
  RECORD_PREFIX_BYTES,
  recordsBytes,
  type Encryptor,
  type FileHeader,
  type FileKeyOpener,
  type FileKind,
} from './format.ts';
import { SECRETSTREAM_ABYTES } from './sodium.ts';

/** Encrypted files are read in blocks of about this size, each one a whole number of chunks. */
const READ_BLOCK_BYTES = 1024 * 1024;
/**
 * Each block costs a round trip to the thread pool, which on a busy 2-core host costs more than the
 * overlap smaller blocks would buy (measured: 1 MiB beats 512, 256 and 128 KiB). A block encrypts in
 * about 1 ms natively, far within the event loop's 50 ms budget.
 */
const ENCRYPT_BLOCK_BYTES = 1024 * 1024;

export interface EncryptedFileInfo {
  path: string;
  plaintextBytes: number;
  encryptedBytes: number;
}

export type FileHeaderInfo = Pick<FileHeader, 'version' | 'kind' | 'chunkSize' | 'keyId'>;

export type VerifyResult =
  | { ok: true; kind: FileKind; plaintextBytes: number }
  | { ok: false; code: VaultFormatErrorCode; message: string };

export type EncryptOptions = { chunkSize?: number };

/** Encrypts `srcPath` chunk by chunk into `destPath` (atomically, via `destPath + '.tmp'`). */
export async function encryptFile(
  srcPath: string,
  destPath: string,
  vaultPublicKey: Uint8Array,
  kind: FileKind,
  options: EncryptOptions = {},
): Promise<EncryptedFileInfo> {
  const source = await open(srcPath, 'r');
  try {
    return await writeEncrypted(destPath, () => createEncryptor(vaultPublicKey, kind, options), async function* (blockBytes) {
      const block = Buffer.allocUnsafe(blockBytes);
      for (;;) {
        const filled = await readFully(source, block);
        // A full block may be the last one: the next read then finds nothing and an empty final chunk ends the file.
        yield { data: block.subarray(0, filled), last: filled < block.length };
        if (filled < block.length) return;
      }
    });
  } finally {
    await source.close();
  }
}

/** Encrypts an in-memory buffer (snapshot, metadata, export) into `destPath`, atomically. */
export async function encryptBuffer(
  plaintext: Uint8Array,
  destPath: string,
  vaultPublicKey: Uint8Array,
  kind: FileKind,
  options: EncryptOptions = {},
): Promise<EncryptedFileInfo> {
  return writeEncrypted(destPath, () => createEncryptor(vaultPublicKey, kind, options), async function* (blockBytes) {
    let at = 0;
    do {
      const end = Math.min(at + blockBytes, plaintext.length);
      yield { data: plaintext.subarray(at, end), last: end === plaintext.length };
      at = end;
    } while (at < plaintext.length);
  });
}

/**
 * The plaintext of an encrypted file, chunk by chunk. Every chunk is authenticated before it is
 * yielded; a damaged file throws VaultFormatError (and a locked vault VaultLockedError) instead.
 */
export async function* decryptFileStream(path: string, vault: FileKeyOpener): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  try {
    const start = Buffer.allocUnsafe(HEADER_BYTES);
    const decryptor = createDecryptor(start.subarray(0, await readFully(file, start)), vault);
    const block = Buffer.allocUnsafe(blockSize(decryptor.header.chunkSize + SECRETSTREAM_ABYTES + RECORD_PREFIX_BYTES, READ_BLOCK_BYTES));
    for (;;) {
      const filled = await readFully(file, block);
      for (const chunk of decryptor.push(block.subarray(0, filled))) {
        yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
      if (filled < block.length) break;
    }
    decryptor.end();
  } finally {
    await file.close();
  }
}

export async function decryptFileToBuffer(path: string, vault: FileKeyOpener): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of decryptFileStream(path, vault)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Authenticates the whole file. Format problems are returned; a locked vault or an unreadable file throws. */
export async function verifyFile(path: string, vault: FileKeyOpener): Promise<VerifyResult> {
  let plaintextBytes = 0;
  try {
    for await (const chunk of decryptFileStream(path, vault)) plaintextBytes += chunk.length;
  } catch (error) {
    if (error instanceof VaultFormatError) return { ok: false, code: error.code, message: error.message };
    throw error;
  }
  return { ok: true, kind: (await readHeader(path)).kind, plaintextBytes };
}

/** Kind, version, chunk size and vault key id of an encrypted file; needs no key. */
export async function readHeader(path: string): Promise<FileHeaderInfo> {
  const file = await open(path, 'r');
  try {
    const start = Buffer.allocUnsafe(HEADER_BYTES);
    const { version, kind, chunkSize, keyId } = parseHeader(start.subarray(0, await readFully(file, start)));
    return { version, kind, chunkSize, keyId };
  } finally {
    await file.close();
  }
}

type PlaintextBlocks = (blockBytes: number) => AsyncGenerator<{ data: Uint8Array; last: boolean }>;

/**
 * Seals the file key while the file opens, then encrypts block N+1 while block N is being written.
 * Records go into two buffers used in turn and kept for the next file: on a small VM, touching
 * fresh memory (page faults) costs more than the cipher itself.
 */
async function writeEncrypted(destPath: string, makeEncryptor: () => Encryptor, blocks: PlaintextBlocks): Promise<EncryptedFileInfo> {
  return writeFileAtomically(
    destPath,
    async (dest, encryptor) => {
      const blockBytes = blockSize(encryptor.chunkSize, ENCRYPT_BLOCK_BYTES);
      const outputs = [0, 1].map(() => takeRecordBuffer(recordsBytes(encryptor.chunkSize, blockBytes, true)));
      let plaintextBytes = 0;
      let encryptedBytes = 0;
      let turn = 0;
      let writing = writeAll(dest, [encryptor.header]);
      for await (const { data, last } of blocks(blockBytes)) {
        const records = encryptChunks(encryptor, data, last, outputs[turn]);
        turn ^= 1;
        plaintextBytes += data.length;
        encryptedBytes += await writing;
        writing = writeAll(dest, [records]);
      }
      encryptedBytes += await writing;
      // Only now, with no write in flight, may another file reuse them.
      outputs.forEach(giveBackRecordBuffer);
      return { path: destPath, plaintextBytes, encryptedBytes };
    },
    { prepare: makeEncryptor },
  );
}

/** Record buffers (ciphertext only) kept between files: a few cameras write at once; huge chunk sizes are not kept. */
const spareRecordBuffers: Buffer[] = [];
const MAX_SPARE_RECORD_BUFFERS = 8;
const MAX_SPARE_RECORD_BUFFER_BYTES = 2 * 1024 * 1024;

function takeRecordBuffer(bytes: number): Buffer {
  const at = spareRecordBuffers.findIndex((buffer) => buffer.length >= bytes);
  return at >= 0 ? spareRecordBuffers.splice(at, 1)[0] : Buffer.allocUnsafeSlow(bytes);
}

function giveBackRecordBuffer(buffer: Buffer): void {
  if (spareRecordBuffers.length < MAX_SPARE_RECORD_BUFFERS && buffer.length <= MAX_SPARE_RECORD_BUFFER_BYTES) spareRecordBuffers.push(buffer);
}

function writeAll(file: FileHandle, buffers: Uint8Array[]): Promise<number> {
  const expected = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
  const writing = file.writev(buffers).then(({ bytesWritten }) => {
    if (bytesWritten !== expected) throw new Error(`short write: ${bytesWritten} of ${expected} bytes (disk full?)`);
    return bytesWritten;
  });
  // Awaited later, after the next block is encrypted; meanwhile a failure must not count as unhandled.
  writing.catch(() => {});
  return writing;
}

async function readFully(file: FileHandle, buffer: Buffer): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await file.read(buffer, filled, buffer.length - filled, null);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

function blockSize(unit: number, target: number): number {
  return unit * Math.max(1, Math.floor(target / unit));
}
