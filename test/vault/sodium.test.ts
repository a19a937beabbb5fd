import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import sodium from 'libsodium-wrappers-sumo';
import { decryptFileToBuffer } from '../../src/vault/files.ts';
import { DEFAULT_CHUNK_SIZE, HEADER_BYTES, parseHeader } from '../../src/vault/format.ts';
import { readKeyFile } from '../../src/vault/keyfile.ts';
import { derivePassphraseKey } from '../../src/vault/passphrase-kdf.ts';
import { loadSodiumBinding, logSodiumBinding, sodiumBinding, type SecretStreamPuller, type SodiumBinding } from '../../src/vault/sodium.ts';
import { createArgon2id } from '../../src/vault/sodium-argon2id.ts';
import { nativeSodiumBinding, type SodiumNative } from '../../src/vault/sodium-native.ts';
import { wasmSodiumBinding } from '../../src/vault/sodium-wasm.ts';
import { Vault } from '../../src/vault/vault.ts';

await sodium.ready;

const native = createRequire(import.meta.url)('sodium-native') as SodiumNative;
const bindings: SodiumBinding[] = [nativeSodiumBinding(native), wasmSodiumBinding()];
const ABYTES = 17;
const TAGS = {
  message: sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
  push: sodium.crypto_secretstream_xchacha20poly1305_TAG_PUSH,
  rekey: sodium.crypto_secretstream_xchacha20poly1305_TAG_REKEY,
  final: sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL,
};
const LENGTHS = [0, 1, 15, 16, 17, DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_SIZE + 1];

// Written by the node:crypto re-implementation of secretstream and the WebAssembly Argon2id
// (before sodium-native replaced them): a vault at minimum KDF cost and files of several lengths.
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const FIXTURE_PASSPHRASE = 'fixture passphrase \u00e9t\u00e9';
const fixturePlaintext = (length: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 31 + 7) & 0xff));

/** `pullInto` a new buffer. */
function pullMessage(puller: SecretStreamPuller, ciphertext: Uint8Array, ad: Uint8Array): { message: Buffer; tag: number } | null {
  const message = Buffer.alloc(Math.max(0, ciphertext.length - ABYTES));
  const tag = puller.pullInto(message, ciphertext, ad);
  return tag === null ? null : { message, tag };
}

/** Pushes `messages` with raw libsodium from a stream state set up from a known key and header. */
function pushWithKnownHeader(impl: 'native' | 'wasm', key: Uint8Array, header: Uint8Array, messages: Array<{ m: Uint8Array; ad: Uint8Array; tag: number }>): Buffer[] {
  if (impl === 'wasm') {
    // init_pull leaves the state init_push would have left after choosing this header.
    const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
    return messages.map(({ m, ad, tag }) => Buffer.from(sodium.crypto_secretstream_xchacha20poly1305_push(state, m, ad, tag)));
  }
  const state = Buffer.alloc(native.crypto_secretstream_xchacha20poly1305_STATEBYTES);
  native.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key);
  return messages.map(({ m, ad, tag }) => {
    const c = Buffer.alloc(m.length + ABYTES);
    native.crypto_secretstream_xchacha20poly1305_push(state, c, m, ad, tag);
    return c;
  });
}

function sampleMessages(): Array<{ m: Uint8Array; ad: Uint8Array; tag: number }> {
  const tags = Object.values(TAGS);
  const ads = [new Uint8Array(0), randomBytes(13), randomBytes(HEADER_BYTES)];
  return LENGTHS.flatMap((length, i) => tags.map((tag, j) => ({ m: randomBytes(length), ad: ads[(i + j) % ads.length], tag })));
}

test('this platform loads the native binding, and the process uses it', () => {
  assert.equal(loadSodiumBinding().binding.name, 'sodium-native');
  assert.equal(sodiumBinding.name, 'sodium-native');
});

test('when the native binding cannot load, the WebAssembly build takes over and the reason is kept', () => {
  const { binding, nativeError } = loadSodiumBinding(() => {
    throw new Error('No native build was found for platform=linux arch=riscv64');
  });
  assert.equal(binding.name, 'libsodium-wrappers-sumo');
  assert.match(nativeError?.message ?? '', /riscv64/);
  const key = randomBytes(32);
  const { pusher, header } = binding.startPush(key);
  const record = Buffer.alloc(5 + ABYTES);
  pusher.pushInto(record, Buffer.from('hello'), new Uint8Array(0), TAGS.final);
  assert.deepEqual(Buffer.from(pullMessage(bindings[0].startPull(key, header), record, new Uint8Array(0))?.message ?? []), Buffer.from('hello'));
});

test('the choice is logged once per process', () => {
  const lines: Array<{ level: string; data: object; message: string }> = [];
  const logger = {
    info: (data: object, message: string) => void lines.push({ level: 'info', data, message }),
    warn: (data: object, message: string) => void lines.push({ level: 'warn', data, message }),
  };
  logSodiumBinding(logger as never);
  logSodiumBinding(logger as never);
  assert.equal(lines.length, 1);
  assert.deepEqual(lines[0].data, { libsodium: 'sodium-native' });
});

test('native and WebAssembly libsodium push the same bytes for every length and tag, given the same key and header', () => {
  const key = randomBytes(32);
  const header = randomBytes(24);
  const messages = sampleMessages();
  const fromNative = pushWithKnownHeader('native', key, header, messages);
  const fromWasm = pushWithKnownHeader('wasm', key, header, messages);
  messages.forEach(({ m, tag }, i) => assert.deepEqual(fromNative[i], fromWasm[i], `message ${i}: ${m.length} bytes, tag ${tag}`));
});

for (const [pushing, pulling] of [
  [0, 1],
  [1, 0],
] as const) {
  test(`${bindings[pushing].name} pushes exactly what raw libsodium pushes, and ${bindings[pulling].name} pulls it`, () => {
    const key = randomBytes(32);
    const { pusher, header } = bindings[pushing].startPush(key);
    const messages = sampleMessages();
    const expected = pushWithKnownHeader(pushing === 0 ? 'wasm' : 'native', key, header, messages);
    const puller = bindings[pulling].startPull(key, header);
    messages.forEach(({ m, ad, tag }, i) => {
      const out = Buffer.alloc(m.length + ABYTES);
      pusher.pushInto(out, m, ad, tag);
      assert.deepEqual(out, expected[i], `message ${i}: ${m.length} bytes, tag ${tag}`);
      const pulled = pullMessage(puller, out, ad);
      assert.ok(pulled, `message ${i} authenticates`);
      assert.equal(pulled.tag, tag);
      assert.deepEqual(Buffer.from(pulled.message), Buffer.from(m));
    });
    pusher.dispose();
    puller.dispose();
  });
}

for (const binding of bindings) {
  test(`${binding.name}: pull rejects a flipped bit, a wrong additional data and a short input, and stays usable`, () => {
    for (const length of [0, 5, 64, 100]) {
      const key = randomBytes(32);
      const { pusher, header } = binding.startPush(key);
      const ad = new Uint8Array([1, 2, 3]);
      const ciphertext = Buffer.alloc(length + ABYTES);
      pusher.pushInto(ciphertext, new Uint8Array(length).fill(9), ad, TAGS.message);
      const puller = binding.startPull(key, header);
      for (let at = 0; at < ciphertext.length; at += Math.max(1, Math.floor(ciphertext.length / 10))) {
        const tampered = Buffer.from(ciphertext);
        tampered[at] ^= 0x01;
        assert.equal(pullMessage(puller, tampered, ad), null, `flip at ${at} of a ${length}-byte message`);
      }
      assert.equal(pullMessage(puller, ciphertext, new Uint8Array([1, 2, 4])), null);
      assert.equal(pullMessage(puller, ciphertext.subarray(0, 16), ad), null);
      assert.ok(pullMessage(puller, ciphertext, ad), 'a failed pull leaves the state usable for the genuine message');
    }
  });
}

test('a file key sealed by either binding opens with the other, and only with the right key pair', () => {
  const { publicKey, privateKey } = sodium.crypto_box_keypair();
  const other = sodium.crypto_box_keypair();
  const fileKey = randomBytes(32);
  for (const [seal, open] of [bindings, [...bindings].reverse()]) {
    const sealed = seal.boxSeal(fileKey, publicKey);
    assert.equal(sealed.length, 32 + sodium.crypto_box_SEALBYTES);
    assert.deepEqual(Buffer.from(open.boxSealOpen(sealed, publicKey, privateKey) ?? []), fileKey, `${seal.name} → ${open.name}`);
    assert.equal(open.boxSealOpen(sealed, other.publicKey, other.privateKey), null);
    const tampered = Buffer.from(sealed);
    tampered[40] ^= 1;
    assert.equal(open.boxSealOpen(tampered, publicKey, privateKey), null);
    assert.equal(open.boxSealOpen(sealed.subarray(0, 20), publicKey, privateKey), null);
  }
});

test('vault files written before sodium-native decrypt, and both bindings read every record alike', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'volet-fixture-vault-'));
  try {
    await copyFile(join(FIXTURES, 'vault.json'), join(dir, 'vault.json'));
    const vault = await Vault.open(dir, { autoLockMs: 0 });
    // Typed decomposed (e + combining accents), the passphrase still unlocks: it is NFC-normalised.
    await vault.unlock(FIXTURE_PASSPHRASE.normalize('NFD'));
    const names = (await readdir(join(FIXTURES, 'files'))).sort();
    assert.equal(names.length, 9);
    for (const name of names) {
      const path = join(FIXTURES, 'files', name);
      const length = Number(/len(\d+)/.exec(name)?.[1]);
      assert.deepEqual(await decryptFileToBuffer(path, vault), fixturePlaintext(length), name);

      const file = await readFile(path);
      const header = parseHeader(file);
      const fileKey = vault.openFileKey(header.sealedFileKey);
      assert.ok(fileKey);
      const pullers = bindings.map((binding) => binding.startPull(fileKey, header.streamHeader));
      for (let at = HEADER_BYTES; at < file.length; at += 4 + file.readUInt32LE(at)) {
        const record = file.subarray(at + 4, at + 4 + file.readUInt32LE(at));
        const [fromNative, fromWasm] = pullers.map((puller) => pullMessage(puller, record, header.bytes));
        assert.ok(fromNative && fromWasm, `${name}: record at ${at} authenticates with both`);
        assert.equal(fromNative.tag, fromWasm.tag);
        assert.deepEqual(Buffer.from(fromNative.message), Buffer.from(fromWasm.message));
      }
    }
    vault.lock();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the vault.json passphrase key is the same natively, in WebAssembly and through derivePassphraseKey', async () => {
  const keyFile = await readKeyFile(FIXTURES);
  const password = Buffer.from(FIXTURE_PASSPHRASE, 'utf8');
  const [fromNative, fromWasm] = await Promise.all(
    bindings.map((binding) => createArgon2id(binding).key(32, password, keyFile.salt, keyFile.opslimit, keyFile.memlimit)),
  );
  assert.deepEqual(Buffer.from(fromNative), Buffer.from(fromWasm));
  assert.deepEqual(Buffer.from(await derivePassphraseKey(FIXTURE_PASSPHRASE, keyFile.salt, keyFile, 32)), Buffer.from(fromNative));
});

test('at most two Argon2id computations run at once; the others wait their turn', async () => {
  let running = 0;
  let most = 0;
  const counting: SodiumBinding = {
    ...bindings[0],
    async argon2idHashString(password, opslimit, memlimit) {
      running++;
      most = Math.max(most, running);
      try {
        return await bindings[0].argon2idHashString(password, opslimit, memlimit);
      } finally {
        running--;
      }
    },
  };
  const argon2 = createArgon2id(counting);
  const hashes = Array.from({ length: 6 }, (_, i) => argon2.hashString(Buffer.from(`password ${i}`), 1, 4 * 1024 * 1024));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(argon2.load(), { running: 2, waiting: 4 });
  const done = await Promise.all(hashes);
  assert.equal(most, 2);
  assert.equal(new Set(done).size, 6);
  assert.deepEqual(argon2.load(), { running: 0, waiting: 0 });
});

test('native Argon2id runs off the event loop: timers keep firing during an INTERACTIVE hash', async () => {
  const argon2 = createArgon2id(bindings[0]);
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = performance.now();
  await argon2.hashString(Buffer.from('a long enough password'), sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE, sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE);
  const elapsed = performance.now() - started;
  delay.disable();
  // On the main thread the worst delay would be the whole hash; on a busy 2-core host the OS alone can add tens of ms.
  assert.ok(elapsed > 20, `the hash took ${elapsed.toFixed(0)} ms, long enough to be measured`);
  assert.ok(delay.max / 1e6 < elapsed / 2, `worst event-loop delay ${(delay.max / 1e6).toFixed(1)} ms during a ${elapsed.toFixed(0)} ms hash`);
});
