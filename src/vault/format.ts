// The Volet encrypted file format (docs/FORMAT.md): bytes in, bytes out, no I/O.
import { randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import { VaultFormatError } from './errors.ts';
import { SECRETSTREAM_ABYTES, SECRETSTREAM_HEADERBYTES, SECRETSTREAM_KEYBYTES, sodiumBinding, TAG_FINAL, TAG_MESSAGE } from './sodium.ts';

await sodium.ready;

export const MAGIC = Uint8Array.of(0x56, 0x4f, 0x4c, 0x45, 0x54, 0x00); // "VOLET\0"
export const FORMAT_VERSION = 1;
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
export const KEY_ID_BYTES = 16;
export const SEALED_FILE_KEY_BYTES = SECRETSTREAM_KEYBYTES + sodium.crypto_box_SEALBYTES;
/** Every chunk record starts with its ciphertext length, u32 little-endian. */
export const RECORD_PREFIX_BYTES = 4;

const OFFSET = {
  version: 6,
  kind: 7,
  chunkSize: 8,
  keyId: 12,
  sealedKeyLength: 28,
  sealedKey: 30,
  streamHeader: 30 + SEALED_FILE_KEY_BYTES,
} as const;
export const HEADER_BYTES = OFFSET.streamHeader + SECRETSTREAM_HEADERBYTES;

export const FILE_KINDS = ['segment', 'snapshot', 'metadata', 'index-export'] as const;
export type FileKind = (typeof FILE_KINDS)[number];
const KIND_BYTE: Record<FileKind, number> = { segment: 1, snapshot: 2, metadata: 3, 'index-export': 4 };

export interface FileHeader {
  version: number;
  kind: FileKind;
  /** Plaintext bytes per chunk; every chunk but the final one holds exactly this many. */
  chunkSize: number;
  /** Hex BLAKE2b-128 of the vault public key the file key is sealed to. */
  keyId: string;
  sealedFileKey: Uint8Array;
  streamHeader: Uint8Array;
  /** The complete header, authenticated as additional data by every chunk. */
  bytes: Uint8Array;
}

/** What a decryptor needs from a vault: its public key, and opening a sealed file key (which may need unlocking). */
export interface FileKeyOpener {
  readonly publicKey: Uint8Array;
  /** The file key, or null when `sealedFileKey` does not open with this key pair. */
  openFileKey(sealedFileKey: Uint8Array): Uint8Array | null;
}

export interface Encryptor {
  readonly header: Uint8Array;
  readonly chunkSize: number;
  /**
   * Encrypts the next chunk and returns its record. Non-final chunks must hold exactly
   * `chunkSize` bytes; the final chunk holds 0..chunkSize bytes and must be pushed exactly once.
   */
  push(chunk: Uint8Array, final: boolean): Uint8Array;
  /** Same as `push`, but writes the record into `record`, which must be exactly `recordBytes(chunk.length)` long. */
  pushInto(record: Uint8Array, chunk: Uint8Array, final: boolean): void;
}

export interface Decryptor {
  readonly header: FileHeader;
  /** True once the final chunk has been authenticated. */
  readonly done: boolean;
  /**
   * Feeds the bytes that follow the header, split anywhere. Returns the plaintext of every
   * chunk completed by these bytes, each one authenticated before it is returned.
   */
  push(bytes: Uint8Array): Uint8Array[];
  /** Declares the end of the file; throws 'truncated' unless the final chunk was seen. */
  end(): void;
}

export function vaultKeyId(publicKey: Uint8Array): string {
  return sodium.to_hex(sodium.crypto_generichash(KEY_ID_BYTES, publicKey, null));
}

export function keyPairOpener(publicKey: Uint8Array, secretKey: Uint8Array): FileKeyOpener {
  return {
    publicKey,
    openFileKey: (sealedFileKey) => sodiumBinding.boxSealOpen(sealedFileKey, publicKey, secretKey),
  };
}

export function createEncryptor(publicKey: Uint8Array, kind: FileKind, options: { chunkSize?: number } = {}): Encryptor {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunk size must be an integer between 1 and ${MAX_CHUNK_SIZE}, got ${chunkSize}`);
  }
  if (!Object.hasOwn(KIND_BYTE, kind)) throw new TypeError(`unknown file kind "${kind}"; expected one of ${FILE_KINDS.join(', ')}`);
  if (publicKey.length !== sodium.crypto_box_PUBLICKEYBYTES) throw new TypeError('vault public key must be 32 bytes');

  const fileKey = randomBytes(SECRETSTREAM_KEYBYTES);
  const sealedFileKey = sodiumBinding.boxSeal(fileKey, publicKey);
  const { pusher, header: streamHeader } = sodiumBinding.startPush(fileKey);
  sodium.memzero(fileKey);
  const header = encodeHeader(kind, chunkSize, vaultKeyId(publicKey), sealedFileKey, streamHeader);
  let finished = false;

  const pushInto = (record: Uint8Array, chunk: Uint8Array, final: boolean): void => {
    if (finished) throw new Error('encryptor already pushed its final chunk');
    if (final ? chunk.length > chunkSize : chunk.length !== chunkSize) {
      throw new RangeError(`${final ? 'final' : 'non-final'} chunk of ${chunk.length} bytes; chunk size is ${chunkSize}`);
    }
    if (record.length !== recordBytes(chunk.length)) throw new RangeError(`a record of a ${chunk.length}-byte chunk is ${recordBytes(chunk.length)} bytes`);
    new DataView(record.buffer, record.byteOffset, RECORD_PREFIX_BYTES).setUint32(0, SECRETSTREAM_ABYTES + chunk.length, true);
    pusher.pushInto(record.subarray(RECORD_PREFIX_BYTES), chunk, header, final ? TAG_FINAL : TAG_MESSAGE);
    if (final) {
      finished = true;
      pusher.dispose();
    }
  };

  return {
    header,
    chunkSize,
    pushInto,
    push(chunk, final) {
      const record = Buffer.allocUnsafe(recordBytes(chunk.length));
      pushInto(record, chunk, final);
      return record;
    },
  };
}

/** Bytes of the record that holds a chunk of `chunkBytes` plaintext bytes. */
export function recordBytes(chunkBytes: number): number {
  return RECORD_PREFIX_BYTES + SECRETSTREAM_ABYTES + chunkBytes;
}

/** Reads the header from the first bytes of a file; needs no key. */
export function parseHeader(fileStart: Uint8Array): FileHeader {
  const magicSeen = fileStart.subarray(0, MAGIC.length);
  if (!sameBytes(magicSeen, MAGIC.subarray(0, magicSeen.length))) {
    throw new VaultFormatError('bad-magic', 'not a Volet encrypted file (bad magic bytes)');
  }
  if (fileStart.length <= OFFSET.version) throw endsInsideHeader();
  const version = fileStart[OFFSET.version];
  if (version !== FORMAT_VERSION) {
    throw new VaultFormatError('unsupported-version', `format version ${version} is not supported (this Volet reads version ${FORMAT_VERSION})`);
  }
  if (fileStart.length < HEADER_BYTES) throw endsInsideHeader();
  const view = new DataView(fileStart.buffer, fileStart.byteOffset, HEADER_BYTES);
  const kind = FILE_KINDS.find((k) => KIND_BYTE[k] === fileStart[OFFSET.kind]);
  if (!kind) throw new VaultFormatError('bad-header', `unknown file kind byte ${fileStart[OFFSET.kind]}`);
  const chunkSize = view.getUint32(OFFSET.chunkSize, true);
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new VaultFormatError('bad-header', `invalid chunk size ${chunkSize}`);
  const sealedKeyLength = view.getUint16(OFFSET.sealedKeyLength, true);
  if (sealedKeyLength !== SEALED_FILE_KEY_BYTES) {
    throw new VaultFormatError('bad-header', `sealed file key is ${sealedKeyLength} bytes, expected ${SEALED_FILE_KEY_BYTES}`);
  }
  const bytes = new Uint8Array(fileStart.subarray(0, HEADER_BYTES));
  return {
    version,
    kind,
    chunkSize,
    keyId: sodium.to_hex(bytes.subarray(OFFSET.keyId, OFFSET.keyId + KEY_ID_BYTES)),
    sealedFileKey: bytes.subarray(OFFSET.sealedKey, OFFSET.sealedKey + SEALED_FILE_KEY_BYTES),
    streamHeader: bytes.subarray(OFFSET.streamHeader, HEADER_BYTES),
    bytes,
  };
}

/** Parses the header at the start of `fileStart` and opens its file key; records start at `header.bytes.length`. */
export function createDecryptor(fileStart: Uint8Array, opener: FileKeyOpener): Decryptor {
  const header = parseHeader(fileStart);
  const expectedKeyId = vaultKeyId(opener.publicKey);
  if (header.keyId !== expectedKeyId) {
    throw new VaultFormatError('wrong-key', `file is sealed to vault key ${header.keyId}, but this vault's key is ${expectedKeyId}`);
  }
  const fileKey = opener.openFileKey(header.sealedFileKey);
  if (!fileKey) throw new VaultFormatError('bad-header', 'sealed file key does not open although its key id matches this vault: the header is corrupted');
  const puller = sodiumBinding.startPull(fileKey, header.streamHeader);
  sodium.memzero(fileKey);

  const maxRecord = header.chunkSize + SECRETSTREAM_ABYTES;
  let pending: Uint8Array = new Uint8Array(0);
  let chunkIndex = 0;
  let done = false;
  let failure: VaultFormatError | null = null;

  const fail = (code: 'auth-failed' | 'trailing-data' | 'truncated', message: string): never => {
    failure = new VaultFormatError(code, message);
    puller.dispose();
    throw failure;
  };

  return {
    header,
    get done() {
      return done;
    },
    push(bytes) {
      if (failure) throw failure;
      const buf = pending.length > 0 ? Buffer.concat([pending, bytes]) : bytes;
      const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      // One buffer for the plaintext of every complete record here: fresh memory per chunk costs more than the cipher.
      const output = Buffer.allocUnsafe(completeRecordsPlaintextBytes(view, maxRecord));
      const plaintext: Uint8Array[] = [];
      let at = 0;
      let written = 0;
      while (at < buf.length) {
        if (done) fail('trailing-data', `${buf.length - at} or more bytes follow the final chunk`);
        if (buf.length - at < RECORD_PREFIX_BYTES) break;
        const length = view.getUint32(at, true);
        if (length < SECRETSTREAM_ABYTES || length > maxRecord) fail('auth-failed', `chunk ${chunkIndex} declares an impossible length of ${length} bytes`);
        if (buf.length - at - RECORD_PREFIX_BYTES < length) break;
        const record = buf.subarray(at + RECORD_PREFIX_BYTES, at + RECORD_PREFIX_BYTES + length);
        const message = output.subarray(written, written + length - SECRETSTREAM_ABYTES);
        const tag = puller.pullInto(message, record, header.bytes);
        if (tag === null) {
          fail('auth-failed', `chunk ${chunkIndex} failed authentication: the file is corrupted, its chunks were reordered, or its header was altered or swapped`);
        } else if (tag === TAG_FINAL) {
          done = true;
          puller.dispose();
        } else if (tag !== TAG_MESSAGE || message.length !== header.chunkSize) {
          fail('auth-failed', `chunk ${chunkIndex} is authentic but malformed (tag ${tag}, ${message.length} bytes)`);
        }
        if (message.length > 0) plaintext.push(message);
        written += message.length;
        chunkIndex++;
        at += RECORD_PREFIX_BYTES + length;
      }
      // Copy the leftover: callers may reuse the buffer they passed in.
      pending = new Uint8Array(buf.subarray(at));
      return plaintext;
    },
    end() {
      if (failure) throw failure;
      if (done) return;
      if (pending.length > 0) fail('truncated', `file ends inside chunk ${chunkIndex} (${pending.length} bytes of its record present)`);
      fail('truncated', chunkIndex === 0 ? 'file ends right after its header' : `file ends after chunk ${chunkIndex - 1} without its final chunk`);
    },
  };
}

/** Plaintext bytes of the complete records at the start of `records`, up to the first impossible length. */
function completeRecordsPlaintextBytes(records: DataView, maxRecord: number): number {
  let total = 0;
  for (let at = 0; records.byteLength - at >= RECORD_PREFIX_BYTES; ) {
    const length = records.getUint32(at, true);
    if (length < SECRETSTREAM_ABYTES || length > maxRecord || records.byteLength - at - RECORD_PREFIX_BYTES < length) break;
    total += length - SECRETSTREAM_ABYTES;
    at += RECORD_PREFIX_BYTES + length;
  }
  return total;
}

/** Encrypts a whole buffer into a complete file image. */
export function encryptBytes(plaintext: Uint8Array, publicKey: Uint8Array, kind: FileKind, options: { chunkSize?: number } = {}): Uint8Array {
  const encryptor = createEncryptor(publicKey, kind, options);
  return Buffer.concat([encryptor.header, encryptChunks(encryptor, plaintext, true)]);
}

/** Decrypts a complete file image, authenticating everything before returning. */
export function decryptBytes(file: Uint8Array, opener: FileKeyOpener): Uint8Array {
  const decryptor = createDecryptor(file, opener);
  const chunks = decryptor.push(file.subarray(decryptor.header.bytes.length));
  decryptor.end();
  return Buffer.concat(chunks);
}

/** Bytes of the records `encryptChunks` makes of `dataBytes` plaintext bytes. */
export function recordsBytes(chunkSize: number, dataBytes: number, last: boolean): number {
  return dataBytes + chunkCount(chunkSize, dataBytes, last) * recordBytes(0);
}

/**
 * Encrypts `data` as consecutive chunks (read as views, no copy) into consecutive records, ready to
 * write: into `into` when given (it must hold `recordsBytes(...)`; a writer reuses it), else into a
 * new buffer. When `last` is true the final chunk is included; otherwise `data.length` must be a
 * multiple of the chunk size.
 */
export function encryptChunks(encryptor: Encryptor, data: Uint8Array, last: boolean, into?: Uint8Array): Uint8Array {
  const { chunkSize } = encryptor;
  if (!last && data.length % chunkSize !== 0) throw new RangeError('only the last block of a file may end with a partial chunk');
  const chunks = chunkCount(chunkSize, data.length, last);
  const total = recordsBytes(chunkSize, data.length, last);
  if (into && into.length < total) throw new RangeError(`${total} bytes of records do not fit in ${into.length}`);
  const records = into ? into.subarray(0, total) : Buffer.allocUnsafe(total);
  let out = 0;
  for (let index = 0; index < chunks; index++) {
    const chunk = data.subarray(index * chunkSize, Math.min((index + 1) * chunkSize, data.length));
    const size = recordBytes(chunk.length);
    encryptor.pushInto(records.subarray(out, out + size), chunk, last && index === chunks - 1);
    out += size;
  }
  return records;
}

/** The final chunk may be full; only an empty last block becomes an empty final chunk. */
function chunkCount(chunkSize: number, dataBytes: number, last: boolean): number {
  return dataBytes === 0 && last ? 1 : Math.ceil(dataBytes / chunkSize);
}

function encodeHeader(kind: FileKind, chunkSize: number, keyId: string, sealedFileKey: Uint8Array, streamHeader: Uint8Array): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  const view = new DataView(header.buffer);
  header.set(MAGIC, 0);
  header[OFFSET.version] = FORMAT_VERSION;
  header[OFFSET.kind] = KIND_BYTE[kind];
  view.setUint32(OFFSET.chunkSize, chunkSize, true);
  header.set(sodium.from_hex(keyId), OFFSET.keyId);
  view.setUint16(OFFSET.sealedKeyLength, sealedFileKey.length, true);
  header.set(sealedFileKey, OFFSET.sealedKey);
  header.set(streamHeader, OFFSET.streamHeader);
  return header;
}

function endsInsideHeader(): VaultFormatError {
  return new VaultFormatError('truncated', `file ends inside its ${HEADER_BYTES}-byte header`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
