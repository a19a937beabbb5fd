import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import { VaultFormatError, type VaultFormatErrorCode } from '../../src/vault/errors.ts';
import {
  createDecryptor,
  createEncryptor,
  decryptBytes,
  encryptBytes,
  HEADER_BYTES,
  keyPairOpener,
  parseHeader,
  vaultKeyId,
  type FileKeyOpener,
} from '../../src/vault/format.ts';

await sodium.ready;

function newVaultKeys(): FileKeyOpener {
  const { publicKey, privateKey } = sodium.crypto_box_keypair();
  return keyPairOpener(publicKey, privateKey);
}

const vault = newVaultKeys();
const CHUNK = 1000;

/** [start, end) of every chunk record (length prefix included) in a file image. */
function records(file: Uint8Array): Array<[number, number]> {
  const view = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const spans: Array<[number, number]> = [];
  for (let at = HEADER_BYTES; at < file.length; at += 4 + view.readUInt32LE(at)) spans.push([at, at + 4 + view.readUInt32LE(at)]);
  return spans;
}

function rejects(file: Uint8Array, code: VaultFormatErrorCode, opener: FileKeyOpener = vault): void {
  assert.throws(
    () => decryptBytes(file, opener),
    (error: unknown) => error instanceof VaultFormatError && error.code === code,
    `expected a VaultFormatError with code ${code}`,
  );
}

/** Feeds the file record by record and returns what was served before the error. */
function servedBeforeError(file: Uint8Array): { served: Uint8Array[]; error: unknown } {
  const served: Uint8Array[] = [];
  try {
    const decryptor = createDecryptor(file, vault);
    for (const [start, end] of records(file)) served.push(...decryptor.push(file.subarray(start, end)));
    decryptor.end();
  } catch (error) {
    return { served, error };
  }
  return { served, error: null };
}

const manyChunks = randomBytes(CHUNK * 7 + 123);
const sealed = encryptBytes(manyChunks, vault.publicKey, 'segment', { chunkSize: CHUNK });

test('plaintexts of every shape round-trip: empty, 1 byte, one chunk, many chunks with a partial one', () => {
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, CHUNK * 5, CHUNK * 7 + 123]) {
    const plaintext = randomBytes(size);
    assert.deepEqual(Buffer.from(decryptBytes(encryptBytes(plaintext, vault.publicKey, 'snapshot', { chunkSize: CHUNK }), vault)), plaintext, `${size} bytes`);
  }
  const large = randomBytes(64 * 1024 * 3 + 5);
  assert.deepEqual(Buffer.from(decryptBytes(encryptBytes(large, vault.publicKey, 'segment'), vault)), large, 'default 64 KiB chunks');
});

test('a file whose last full chunk was not marked final ends with an empty final chunk and still decrypts', () => {
  const plaintext = randomBytes(CHUNK * 2);
  const encryptor = createEncryptor(vault.publicKey, 'segment', { chunkSize: CHUNK });
  const file = Buffer.concat([
    encryptor.header,
    encryptor.push(plaintext.subarray(0, CHUNK), false),
    encryptor.push(plaintext.subarray(CHUNK), false),
    encryptor.push(new Uint8Array(0), true),
  ]);
  assert.deepEqual(Buffer.from(decryptBytes(file, vault)), plaintext);
});

test('the decryptor accepts the file split at any byte', () => {
  const plaintext = randomBytes(CHUNK * 2 + 7);
  const file = encryptBytes(plaintext, vault.publicKey, 'metadata', { chunkSize: CHUNK });
  const decryptor = createDecryptor(file, vault);
  const out: Uint8Array[] = [];
  for (let at = HEADER_BYTES; at < file.length; at += 3) out.push(...decryptor.push(file.subarray(at, Math.min(at + 3, file.length))));
  decryptor.end();
  assert.deepEqual(Buffer.concat(out), plaintext);
});

test('the header tells kind, version, chunk size and vault key id without any key', () => {
  const header = parseHeader(sealed);
  assert.equal(header.kind, 'segment');
  assert.equal(header.version, 1);
  assert.equal(header.chunkSize, CHUNK);
  assert.equal(header.keyId, vaultKeyId(vault.publicKey));
  assert.equal(parseHeader(encryptBytes(new Uint8Array(0), vault.publicKey, 'index-export')).kind, 'index-export');
});

test('the same plaintext encrypts differently every time (fresh file key)', () => {
  const plaintext = Buffer.alloc(100, 1);
  assert.notDeepEqual(encryptBytes(plaintext, vault.publicKey, 'snapshot'), encryptBytes(plaintext, vault.publicKey, 'snapshot'));
});

test('ciphertext carries no trace of recognisable plaintext (MP4 and JPEG markers)', () => {
  const mp4 = Buffer.from('\x00\x00\x00\x18ftypisom', 'latin1');
  const jpeg = Buffer.from('\xff\xd8\xff\xe0\x00\x10JFIF', 'latin1');
  const plaintext = Buffer.concat(Array.from({ length: 20_000 }, (_, i) => (i % 2 ? mp4 : jpeg)));
  const file = Buffer.from(encryptBytes(plaintext, vault.publicKey, 'segment'));
  assert.equal(file.indexOf(mp4), -1);
  assert.equal(file.indexOf(jpeg), -1);
  assert.equal(file.indexOf('ftyp'), -1);
  const words = new Set<bigint>();
  for (let at = HEADER_BYTES; at + 8 <= file.length; at += 8) words.add(file.readBigUInt64LE(at));
  assert.equal(words.size, Math.floor((file.length - HEADER_BYTES) / 8), 'no repeated 8-byte word: the periodic plaintext left no pattern');
});

test('a tampered chunk is rejected and never served; the chunks before it are', () => {
  const [start, end] = records(sealed)[3];
  const tampered = Buffer.from(sealed);
  tampered[Math.floor((start + end) / 2)] ^= 0x20;
  rejects(tampered, 'auth-failed');
  const { served, error } = servedBeforeError(tampered);
  assert.ok(error instanceof VaultFormatError && error.code === 'auth-failed');
  assert.equal(served.length, 3);
  assert.deepEqual(Buffer.concat(served), manyChunks.subarray(0, 3 * CHUNK));
});

test('a flipped byte anywhere in the file is detected', () => {
  for (let at = 0; at < sealed.length; at += 37) {
    const tampered = Buffer.from(sealed);
    tampered[at] ^= 0x01;
    assert.throws(() => decryptBytes(tampered, vault), VaultFormatError, `flip at byte ${at}`);
  }
});

test('each header field, when altered, fails with the error that names the problem', () => {
  const flipped = (offset: number, value?: number) => {
    const copy = Buffer.from(sealed);
    copy[offset] = value ?? copy[offset] ^ 0x01;
    return copy;
  };
  rejects(flipped(0), 'bad-magic');
  rejects(flipped(6, 2), 'unsupported-version');
  rejects(flipped(7, 0x7f), 'bad-header'); // unknown kind
  rejects(flipped(7, 2), 'auth-failed'); // a segment relabelled as a snapshot
  rejects(flipped(11, 0xff), 'bad-header'); // chunk size beyond 16 MiB
  rejects(flipped(8), 'auth-failed'); // another plausible chunk size
  rejects(flipped(12), 'wrong-key'); // key id
  rejects(flipped(28), 'bad-header'); // sealed key length
  rejects(flipped(40), 'bad-header'); // sealed file key
  rejects(flipped(HEADER_BYTES - 1), 'auth-failed'); // secretstream header
});

test('a file sealed to another vault is refused as wrong-key', () => {
  rejects(sealed, 'wrong-key', newVaultKeys());
});

test('a header swapped in from another file fails authentication', () => {
  const other = encryptBytes(randomBytes(manyChunks.length), vault.publicKey, 'segment', { chunkSize: CHUNK });
  rejects(Buffer.concat([other.subarray(0, HEADER_BYTES), sealed.subarray(HEADER_BYTES)]), 'auth-failed');
});

test('reordered chunks fail authentication', () => {
  const spans = records(sealed);
  const [a, b] = [spans[1], spans[2]];
  const reordered = Buffer.concat([sealed.subarray(0, a[0]), sealed.subarray(b[0], b[1]), sealed.subarray(a[0], a[1]), sealed.subarray(b[1])]);
  rejects(reordered, 'auth-failed');
});

test('a file cut short is reported as truncated, wherever the cut falls', () => {
  const spans = records(sealed);
  const lastStart = spans[spans.length - 1][0];
  rejects(sealed.subarray(0, lastStart), 'truncated'); // final chunk dropped: no final tag
  rejects(sealed.subarray(0, spans[2][0]), 'truncated'); // cut on a chunk boundary
  rejects(sealed.subarray(0, spans[2][0] + 500), 'truncated'); // cut inside a chunk
  rejects(sealed.subarray(0, spans[2][0] + 2), 'truncated'); // cut inside a length prefix
  rejects(sealed.subarray(0, HEADER_BYTES), 'truncated'); // header only
  rejects(sealed.subarray(0, 50), 'truncated'); // cut inside the header
  rejects(sealed.subarray(0, 3), 'truncated');
});

test('bytes after the final chunk are rejected as trailing data', () => {
  rejects(Buffer.concat([sealed, Buffer.from([0])]), 'trailing-data');
  rejects(Buffer.concat([sealed, randomBytes(5000)]), 'trailing-data');
  const spans = records(sealed);
  const [start, end] = spans[spans.length - 1];
  rejects(Buffer.concat([sealed, sealed.subarray(start, end)]), 'trailing-data');
});

test('something that is not a Volet file is rejected by its magic', () => {
  rejects(Buffer.from('\x00\x00\x00\x18ftypisom and the rest of an mp4 file...........', 'latin1'), 'bad-magic');
});

test('the encryptor refuses chunks that would break the format', () => {
  const encryptor = createEncryptor(vault.publicKey, 'segment', { chunkSize: CHUNK });
  assert.throws(() => encryptor.push(new Uint8Array(CHUNK - 1), false), RangeError);
  assert.throws(() => encryptor.push(new Uint8Array(CHUNK + 1), true), RangeError);
  encryptor.push(new Uint8Array(10), true);
  assert.throws(() => encryptor.push(new Uint8Array(0), true), /already pushed its final chunk/);
  assert.throws(() => createEncryptor(vault.publicKey, 'segment', { chunkSize: 0 }), RangeError);
});

// The test vector published in docs/FORMAT.md (vault key pair from crypto_box_seed_keypair(32 x 0x42)).
const VECTOR_SEED = Buffer.alloc(32, 0x42);
const VECTOR_PLAINTEXT = 'Volet test vector: an independent decrypter must recover this sentence.';
const VECTOR_FILE_HEX =
  '564f4c455400010320000000606769d7f7831cae6aee4cab4d5b4ead5000682bb0ba60790bb678536e718a730a1b952809cc323a21ea598fe773c778b82c9be8a8b90aea0871c935fd22aa4eb67f177bbb3fb869f6e6a0e5a907de152ede36a0dd908797' +
  'dd0028cb5fc59a58c4c5be84140367cb3b117595e210dbd09443f00f0a75ac120c1e3100000094f6d358803f998794498b852efd57719a3937b6b896426b8a7e7270d0bd1cfe0f0fc4c1873c27fab16068bbafe3f3365a31000000c0602e1cc91c880511' +
  'a49e430471611d49d517571cb7c7ae6430b88bd151adc9dcee7cbded54bfed11428d49c9fb1be57218000000afa0c6641910622a879eb4960f0a4c687808d8abc650b0e9';

test('the published test vector decrypts', () => {
  const { publicKey, privateKey } = sodium.crypto_box_seed_keypair(VECTOR_SEED);
  const file = Buffer.from(VECTOR_FILE_HEX, 'hex');
  assert.equal(Buffer.from(decryptBytes(file, keyPairOpener(publicKey, privateKey))).toString('utf8'), VECTOR_PLAINTEXT);
  assert.deepEqual(
    { ...parseHeader(file), sealedFileKey: undefined, streamHeader: undefined, bytes: undefined },
    { version: 1, kind: 'metadata', chunkSize: 32, keyId: vaultKeyId(publicKey), sealedFileKey: undefined, streamHeader: undefined, bytes: undefined },
  );
});

test('an independent decrypter using only libsodium, following docs/FORMAT.md, recovers the test vector', () => {
  const { publicKey, privateKey } = sodium.crypto_box_seed_keypair(VECTOR_SEED);
  const file = Buffer.from(VECTOR_FILE_HEX, 'hex');
  assert.equal(file.subarray(0, 6).toString('latin1'), 'VOLET\0');
  const sealedKeyLength = file.readUInt16LE(28);
  const header = file.subarray(0, 30 + sealedKeyLength + 24);
  const fileKey = sodium.crypto_box_seal_open(file.subarray(30, 30 + sealedKeyLength), publicKey, privateKey);
  const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(file.subarray(30 + sealedKeyLength, header.length), fileKey);
  const plaintext: Uint8Array[] = [];
  let at = header.length;
  let tag = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  while (tag !== sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
    const length = file.readUInt32LE(at);
    const pulled = sodium.crypto_secretstream_xchacha20poly1305_pull(state, file.subarray(at + 4, at + 4 + length), header);
    assert.ok(pulled, 'chunk authenticates');
    plaintext.push(pulled.message);
    tag = pulled.tag;
    at += 4 + length;
  }
  assert.equal(at, file.length, 'nothing follows the final chunk');
  assert.equal(Buffer.concat(plaintext).toString('utf8'), VECTOR_PLAINTEXT);
});
