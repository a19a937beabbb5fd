import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { PasswordHasher, type PasswordStrength } from '../../src/web/auth/password.ts';
import { createArgon2id } from '../../src/vault/sodium-argon2id.ts';
import { wasmSodiumBinding } from '../../src/vault/sodium-wasm.ts';

// Hashes written by the WebAssembly (libsodium-wrappers-sumo) hasher, before native Argon2id.
const fixture = JSON.parse(await readFile(new URL('./fixtures/password-hashes.json', import.meta.url), 'utf8')) as {
  password: string;
  hashes: Record<PasswordStrength, string>;
};

test('hashes made by the WebAssembly hasher still verify, at every strength', async () => {
  const hasher = new PasswordHasher('minimum');
  for (const [strength, hash] of Object.entries(fixture.hashes)) {
    assert.equal(await hasher.verify(hash, fixture.password), true, `${strength} hash, right password`);
    assert.equal(await hasher.verify(hash, `${fixture.password}!`), false, `${strength} hash, wrong password`);
  }
});

test('a new hash carries its strength, verifies natively and in the WebAssembly fallback', async () => {
  const hash = await new PasswordHasher('interactive').hash('correct horse battery');
  assert.match(hash, /^\$argon2id\$v=19\$m=65536,t=2,p=1\$/);
  assert.equal(await new PasswordHasher('minimum').verify(hash, 'correct horse battery'), true);
  assert.equal(await createArgon2id(wasmSodiumBinding()).verifyString(hash, Buffer.from('correct horse battery')), true);
  assert.equal(await new PasswordHasher('minimum').verify(hash, 'correct horse batterY'), false);
});

test('malformed hashes and empty passwords never verify', async () => {
  const hasher = new PasswordHasher('minimum');
  for (const hash of ['', 'not a hash', '$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA', fixture.hashes.minimum + '\0', 'x'.repeat(500)]) {
    assert.equal(await hasher.verify(hash, fixture.password), false, JSON.stringify(hash.slice(0, 40)));
  }
  assert.equal(await hasher.verify(fixture.hashes.minimum, ''), false);
  await assert.rejects(hasher.hash(''), RangeError);
});

test('an unknown user costs a real verification and is refused', async () => {
  const hasher = new PasswordHasher('minimum');
  assert.equal(await hasher.verifyNobody(fixture.password), false);
});

test('a hash made with other limits (an older MODERATE one) needs a rehash; one made with ours does not', async () => {
  const interactive = new PasswordHasher('interactive');
  assert.equal(interactive.needsRehash(fixture.hashes.moderate), true);
  assert.equal(interactive.needsRehash(fixture.hashes.interactive), false);
  assert.equal(interactive.needsRehash('not a hash'), true);
});
