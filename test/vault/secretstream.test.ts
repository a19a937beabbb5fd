import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import {
  SecretStreamPuller,
  SecretStreamPusher,
  TAG_FINAL,
  TAG_MESSAGE,
  TAG_PUSH,
  TAG_REKEY,
} from '../../src/vault/secretstream.ts';

await sodium.ready;

// Every length residue mod 16 on both sides of the 64-byte block, plus full Volet chunks.
const lengths = [...Array.from({ length: 70 }, (_, i) => i), 1000, 4096, 65535, 65536, 65537];
const tagFor = (i: number) => (i === lengths.length - 1 ? TAG_FINAL : i % 7 === 3 ? TAG_REKEY : i % 11 === 5 ? TAG_PUSH : TAG_MESSAGE);

function libsodiumStream() {
  const key = sodium.crypto_secretstream_xchacha20poly1305_keygen();
  const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
  return { key, state, header };
}

test('push produces exactly the bytes of libsodium secretstream push, for every length and tag', () => {
  for (const ad of [new Uint8Array(0), randomBytes(13), randomBytes(134)]) {
    const { key, state, header } = libsodiumStream();
    const ours = new SecretStreamPusher(key, header);
    lengths.forEach((length, i) => {
      const message = randomBytes(length);
      const expected = sodium.crypto_secretstream_xchacha20poly1305_push(state, message, ad, tagFor(i));
      assert.deepEqual(ours.push(message, ad, tagFor(i)), Buffer.from(expected), `message ${i} (${length} bytes)`);
    });
  }
});

test('libsodium secretstream pull accepts what pushParts produces, with headroom left in front', () => {
  const key = sodium.crypto_secretstream_xchacha20poly1305_keygen();
  const { pusher, header } = SecretStreamPusher.start(key);
  const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
  const ad = randomBytes(40);
  lengths.forEach((length, i) => {
    const message = randomBytes(length);
    const { head, ciphertext, mac } = pusher.pushParts(message, ad, tagFor(i), 4);
    assert.equal(head.length, 5);
    const pulled = sodium.crypto_secretstream_xchacha20poly1305_pull(state, Buffer.concat([head.subarray(4), ciphertext, mac]), ad);
    assert.ok(pulled, `message ${i} (${length} bytes) authenticates`);
    assert.equal(pulled.tag, tagFor(i));
    assert.deepEqual(Buffer.from(pulled.message), message);
  });
});

test('pull decrypts what libsodium secretstream push produces', () => {
  const { key, state, header } = libsodiumStream();
  const puller = new SecretStreamPuller(key, header);
  const ad = randomBytes(21);
  lengths.forEach((length, i) => {
    const message = randomBytes(length);
    const pulled = puller.pull(sodium.crypto_secretstream_xchacha20poly1305_push(state, message, ad, tagFor(i)), ad);
    assert.ok(pulled, `message ${i} (${length} bytes) authenticates`);
    assert.equal(pulled.tag, tagFor(i));
    assert.deepEqual(pulled.message, message);
  });
});

test('pull rejects a flipped bit, a wrong additional data and a short input on both code paths', () => {
  for (const length of [0, 5, 64, 100]) {
    const key = sodium.crypto_secretstream_xchacha20poly1305_keygen();
    const { pusher, header } = SecretStreamPusher.start(key);
    const ad = new Uint8Array([1, 2, 3]);
    const ciphertext = pusher.push(new Uint8Array(length).fill(9), ad, TAG_MESSAGE);
    const puller = new SecretStreamPuller(key, header);
    for (let at = 0; at < ciphertext.length; at += Math.max(1, Math.floor(ciphertext.length / 10))) {
      const tampered = Buffer.from(ciphertext);
      tampered[at] ^= 0x01;
      assert.equal(puller.pull(tampered, ad), null, `flip at ${at} of a ${length}-byte message`);
    }
    assert.equal(puller.pull(ciphertext, new Uint8Array([1, 2, 4])), null);
    assert.equal(puller.pull(ciphertext.subarray(0, 16), ad), null);
    assert.ok(puller.pull(ciphertext, ad), 'a failed pull leaves the state usable for the genuine message');
  }
});
