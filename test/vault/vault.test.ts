import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VaultKeyFileError, VaultLockedError, WrongPassphraseError } from '../../src/vault/errors.ts';
import { decryptFileToBuffer, encryptBuffer, verifyFile } from '../../src/vault/files.ts';
import { MINIMUM_LIMITS } from '../../src/vault/passphrase-kdf.ts';
import { Vault, type LockReason, type VaultOptions } from '../../src/vault/vault.ts';

// Argon2id at libsodium's minimum cost keeps these tests fast; production uses MODERATE.
const limits = MINIMUM_LIMITS;
const passphrase = 'correct horse battery staple';
let root = '';
let n = 0;
const newDir = () => join(root, `vault-${n++}`);

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'volet-vault-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function newVault(options: VaultOptions = {}): Promise<Vault> {
  return Vault.init(newDir(), passphrase, { limits, ...options });
}

const isVaultLocked = (error: unknown) => error instanceof VaultLockedError && /unlock it with the passphrase/.test(error.message);

test('init writes vault.json with the public key in clear and the secret key only wrapped', async () => {
  const dir = newDir();
  const vault = await Vault.init(dir, passphrase, { limits });
  const json = JSON.parse(await readFile(join(dir, 'vault.json'), 'utf8'));
  assert.deepEqual(Object.keys(json).sort(), ['cipher', 'encryptedSecretKey', 'kdf', 'memlimit', 'nonce', 'opslimit', 'publicKey', 'salt', 'version']);
  assert.equal(json.version, 1);
  assert.equal(json.kdf, 'argon2id13');
  assert.equal(json.opslimit, limits.opslimit);
  assert.equal(json.memlimit, limits.memlimit);
  assert.deepEqual(Buffer.from(json.publicKey, 'base64'), Buffer.from(vault.publicKey));
  assert.equal((await stat(join(dir, 'vault.json'))).mode & 0o777, 0o600);
  assert.equal(vault.isUnlocked, false, 'a new vault starts locked');
});

test('init refuses to replace an existing vault', async () => {
  const dir = newDir();
  await Vault.init(dir, passphrase, { limits });
  const before = await readFile(join(dir, 'vault.json'), 'utf8');
  await assert.rejects(Vault.init(dir, 'another passphrase', { limits }), VaultKeyFileError);
  assert.equal(await readFile(join(dir, 'vault.json'), 'utf8'), before);
});

test('a locked vault can record (encrypt) but cannot decrypt, with a clear error', async () => {
  const dir = newDir();
  await Vault.init(dir, passphrase, { limits });
  const vault = await Vault.open(dir);
  assert.equal(vault.isUnlocked, false);
  const file = join(dir, 'snapshot.vlt');
  await encryptBuffer(Buffer.from('jpeg bytes'), file, vault.publicKey, 'snapshot');
  await assert.rejects(decryptFileToBuffer(file, vault), isVaultLocked);
  await assert.rejects(verifyFile(file, vault), isVaultLocked);
  await vault.unlock(passphrase);
  assert.equal((await decryptFileToBuffer(file, vault)).toString(), 'jpeg bytes');
});

test('a wrong passphrase is refused with WrongPassphraseError and the vault stays locked', async () => {
  const vault = await newVault();
  await assert.rejects(vault.unlock('wrong horse'), (error: unknown) => error instanceof WrongPassphraseError && /Wrong passphrase/.test(error.message));
  assert.equal(vault.isUnlocked, false);
});

test('a passphrase unlocks however its accents were composed (Unicode NFC)', async () => {
  const vault = await Vault.init(newDir(), 'caf\u00e9 cr\u00e8me', { limits });
  await vault.unlock('cafe\u0301 cre\u0300me');
  assert.equal(vault.isUnlocked, true);
  vault.lock();
});

test('lock forgets the secret key: decryption needs the passphrase again', async () => {
  const vault = await newVault();
  const file = join(vault.dir, 'meta.vlt');
  await encryptBuffer(Buffer.from('{}'), file, vault.publicKey, 'metadata');
  await vault.unlock(passphrase);
  assert.equal(vault.isUnlocked, true);
  vault.lock();
  assert.equal(vault.isUnlocked, false);
  await assert.rejects(decryptFileToBuffer(file, vault), isVaultLocked);
});

test('changing the passphrase keeps old files readable and retires the old passphrase', async () => {
  const dir = newDir();
  const vault = await Vault.init(dir, passphrase, { limits });
  const file = join(dir, 'segment.vlt');
  await encryptBuffer(Buffer.from('recorded before the change'), file, vault.publicKey, 'segment');
  await vault.changePassphrase(passphrase, 'a new passphrase');

  const reopened = await Vault.open(dir);
  await assert.rejects(reopened.unlock(passphrase), WrongPassphraseError);
  await reopened.unlock('a new passphrase');
  assert.equal((await decryptFileToBuffer(file, reopened)).toString(), 'recorded before the change');
  assert.deepEqual(reopened.publicKey, vault.publicKey);
});

test('changing the passphrase requires the current one', async () => {
  const dir = newDir();
  const vault = await Vault.init(dir, passphrase, { limits });
  const keyFile = await readFile(join(dir, 'vault.json'), 'utf8');
  await assert.rejects(vault.changePassphrase('not it', 'new'), WrongPassphraseError);
  assert.equal(await readFile(join(dir, 'vault.json'), 'utf8'), keyFile);
});

/** The auto-lock timer is unref'd so it never keeps a process alive; tests waiting on it must. */
async function keepingProcessAlive<T>(run: () => Promise<T>): Promise<T> {
  const keepAlive = setInterval(() => {}, 1000);
  try {
    return await run();
  } finally {
    clearInterval(keepAlive);
  }
}

test('an idle vault locks itself and says why', async () => {
  const reasons: LockReason[] = [];
  let locked!: () => void;
  const lockedOnce = new Promise<void>((resolve) => (locked = resolve));
  const vault = await newVault({ autoLockMs: 20, onLock: (reason) => (reasons.push(reason), locked()) });
  await vault.unlock(passphrase);
  await keepingProcessAlive(() => lockedOnce);
  assert.equal(vault.isUnlocked, false);
  assert.deepEqual(reasons, ['idle']);
});

test('each decryption restarts the idle timer', async () => {
  const vault = await newVault({ autoLockMs: 400 });
  const file = join(vault.dir, 'meta.vlt');
  await encryptBuffer(Buffer.from('{}'), file, vault.publicKey, 'metadata');
  await vault.unlock(passphrase);
  for (let i = 0; i < 12; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    await decryptFileToBuffer(file, vault);
  }
  assert.equal(vault.isUnlocked, true, 'used every 50 ms for 600 ms, longer than the 400 ms idle limit');
  vault.lock();
});

test('status reports the key, lock state and settings without revealing secrets', async () => {
  const vault = await newVault({ autoLockMs: 60_000 });
  const status = vault.status();
  assert.deepEqual(status, {
    dir: vault.dir,
    keyFile: join(vault.dir, 'vault.json'),
    keyId: vault.keyId,
    unlocked: false,
    autoLockMs: 60_000,
    kdf: limits,
  });
  assert.match(status.keyId, /^[0-9a-f]{32}$/);
  await vault.unlock(passphrase);
  assert.equal(vault.status().unlocked, true);
  vault.lock();
});

test('opening a directory without a vault, or with a damaged vault.json, explains what is wrong', async () => {
  await assert.rejects(Vault.open(newDir()), (error: unknown) => error instanceof VaultKeyFileError && /volet vault init/.test(error.message));
  const dir = newDir();
  await Vault.init(dir, passphrase, { limits });
  const json = JSON.parse(await readFile(join(dir, 'vault.json'), 'utf8'));
  await writeFile(join(dir, 'vault.json'), JSON.stringify({ ...json, salt: 'AAAA' }));
  await assert.rejects(Vault.open(dir), (error: unknown) => error instanceof VaultKeyFileError && /salt/.test(error.message));
  await writeFile(join(dir, 'vault.json'), '{ not json');
  await assert.rejects(Vault.open(dir), VaultKeyFileError);
});

test('a vault.json whose public key was swapped no longer unlocks', async () => {
  const [a, b] = [newDir(), newDir()];
  await Vault.init(a, passphrase, { limits });
  await Vault.init(b, passphrase, { limits });
  const jsonA = JSON.parse(await readFile(join(a, 'vault.json'), 'utf8'));
  const jsonB = JSON.parse(await readFile(join(b, 'vault.json'), 'utf8'));
  await writeFile(join(a, 'vault.json'), JSON.stringify({ ...jsonA, publicKey: jsonB.publicKey }));
  const vault = await Vault.open(a);
  await assert.rejects(vault.unlock(passphrase), WrongPassphraseError);
});
