import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sodium from 'libsodium-wrappers-sumo';
import { VaultFormatError } from '../../src/vault/errors.ts';
import { decryptFileStream, decryptFileToBuffer, encryptBuffer, encryptFile, readHeader, verifyFile } from '../../src/vault/files.ts';
import { HEADER_BYTES, keyPairOpener, vaultKeyId } from '../../src/vault/format.ts';

await sodium.ready;

const { publicKey, privateKey } = sodium.crypto_box_keypair();
const vault = keyPairOpener(publicKey, privateKey);
let dir = '';
let n = 0;
const path = (name: string) => join(dir, `${n++}-${name}`);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'volet-vault-files-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function encryptedCopyOf(plaintext: Buffer): Promise<string> {
  const src = path('plain.mp4');
  await writeFile(src, plaintext);
  const dest = path('segment.vlt');
  await encryptFile(src, dest, publicKey, 'segment');
  return dest;
}

async function corrupt(file: string, change: (bytes: Buffer) => Buffer): Promise<string> {
  const dest = path('corrupt.vlt');
  await writeFile(dest, change(await readFile(file)));
  return dest;
}

test('files of every size round-trip through encryptFile and decryptFileStream', async () => {
  const MiB = 1024 * 1024;
  for (const size of [0, 1, 64 * 1024, MiB, 3 * MiB + 5]) {
    const plaintext = randomBytes(size);
    const dest = await encryptedCopyOf(plaintext);
    const chunks: Buffer[] = [];
    for await (const chunk of decryptFileStream(dest, vault)) chunks.push(chunk);
    assert.deepEqual(Buffer.concat(chunks), plaintext, `${size} bytes`);
  }
});

test('encryptFile reports sizes and leaves only the finished file behind', async () => {
  const plaintext = randomBytes(200_000);
  const src = path('plain.mp4');
  await writeFile(src, plaintext);
  const dest = path('segment.vlt');
  const info = await encryptFile(src, dest, publicKey, 'segment');
  assert.equal(info.path, dest);
  assert.equal(info.plaintextBytes, plaintext.length);
  assert.equal(info.encryptedBytes, (await stat(dest)).size);
  assert.equal(info.encryptedBytes, HEADER_BYTES + plaintext.length + 4 * (4 + 17));
  assert.ok(!(await readdir(dir)).some((name) => name.endsWith('.tmp')));
});

test('a failed encryption leaves neither the destination nor a temporary file', async () => {
  const dest = path('never.vlt');
  await assert.rejects(encryptFile(path('missing.mp4'), dest, publicKey, 'segment'), { code: 'ENOENT' });
  await assert.rejects(stat(dest), { code: 'ENOENT' });
  await assert.rejects(stat(`${dest}.tmp`), { code: 'ENOENT' });
});

test('snapshots and metadata round-trip through encryptBuffer and decryptFileToBuffer', async () => {
  for (const plaintext of [Buffer.alloc(0), Buffer.from('{"event":"person"}'), randomBytes(300_000)]) {
    const dest = path('snapshot.vlt');
    const info = await encryptBuffer(plaintext, dest, publicKey, 'snapshot');
    assert.equal(info.plaintextBytes, plaintext.length);
    assert.deepEqual(await decryptFileToBuffer(dest, vault), plaintext);
  }
});

test('readHeader tells the kind of a file without any key', async () => {
  const dest = path('meta.vlt');
  await encryptBuffer(Buffer.from('{}'), dest, publicKey, 'metadata');
  assert.deepEqual(await readHeader(dest), { version: 1, kind: 'metadata', chunkSize: 64 * 1024, keyId: vaultKeyId(publicKey) });
});

test('verifyFile accepts an intact file and names the problem of a damaged one', async () => {
  const plaintext = randomBytes(2_500_000);
  const good = await encryptedCopyOf(plaintext);
  assert.deepEqual(await verifyFile(good, vault), { ok: true, kind: 'segment', plaintextBytes: plaintext.length });

  const size = (await stat(good)).size;
  const cases = {
    'auth-failed': await corrupt(good, (b) => ((b[size - 40_000] ^= 1), b)),
    truncated: await corrupt(good, (b) => b.subarray(0, size - 1000)),
    'trailing-data': await corrupt(good, (b) => Buffer.concat([b, Buffer.from('garbage')])),
    'bad-magic': await corrupt(good, (b) => ((b[0] = 0), b)),
    'unsupported-version': await corrupt(good, (b) => ((b[6] = 9), b)),
    'wrong-key': await corrupt(good, (b) => ((b[20] ^= 1), b)),
  };
  for (const [code, file] of Object.entries(cases)) {
    const result = await verifyFile(file, vault);
    assert.equal(result.ok, false, code);
    assert.equal(!result.ok && result.code, code);
  }
});

test('streaming stops at a tampered chunk: only the authenticated chunks before it are served', async () => {
  const plaintext = randomBytes(3 * 1024 * 1024);
  const good = await encryptedCopyOf(plaintext);
  const tamperedAt = HEADER_BYTES + 40 * (4 + 64 * 1024 + 17) + 100; // inside chunk 40, in the third 1 MiB read
  const bad = await corrupt(good, (b) => ((b[tamperedAt] ^= 0x80), b));
  const served: Buffer[] = [];
  await assert.rejects(
    (async () => {
      for await (const chunk of decryptFileStream(bad, vault)) served.push(chunk);
    })(),
    (error: unknown) => error instanceof VaultFormatError && error.code === 'auth-failed',
  );
  const servedBytes = Buffer.concat(served);
  assert.ok(servedBytes.length <= 40 * 64 * 1024, 'nothing from the tampered chunk or after it');
  assert.deepEqual(servedBytes, plaintext.subarray(0, servedBytes.length));
});
