// vault.json: the vault public key in clear, the secret key wrapped under an Argon2id passphrase key.
import { readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import sodium from 'libsodium-wrappers-sumo';
import { z } from 'zod';
import { writeFileAtomically } from './atomic-write.ts';
import { VaultKeyFileError, WrongPassphraseError } from './errors.ts';
import { checkKdfLimits, derivePassphraseKey, KDF_SALT_BYTES, type KdfLimits } from './passphrase-kdf.ts';

await sodium.ready;

export const KEY_FILE_NAME = 'vault.json';
const KEY_FILE_VERSION = 1;
const WRAP_KEY_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
const WRAP_NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;

const base64Bytes = (length: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
    .transform((text) => new Uint8Array(Buffer.from(text, 'base64')))
    .refine((bytes) => bytes.length === length, `must decode to ${length} bytes`);

const keyFileSchema = z.strictObject({
  version: z.literal(KEY_FILE_VERSION),
  publicKey: base64Bytes(sodium.crypto_box_PUBLICKEYBYTES),
  kdf: z.literal('argon2id13'),
  salt: base64Bytes(KDF_SALT_BYTES),
  opslimit: z.number().int(),
  memlimit: z.number().int(),
  cipher: z.literal('xchacha20poly1305-ietf'),
  nonce: base64Bytes(WRAP_NONCE_BYTES),
  encryptedSecretKey: base64Bytes(sodium.crypto_box_SECRETKEYBYTES + sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES),
});

export interface KeyFile {
  version: typeof KEY_FILE_VERSION;
  publicKey: Uint8Array;
  kdf: 'argon2id13';
  salt: Uint8Array;
  opslimit: number;
  memlimit: number;
  cipher: 'xchacha20poly1305-ietf';
  nonce: Uint8Array;
  encryptedSecretKey: Uint8Array;
}

export function keyFilePath(dir: string): string {
  return join(dir, KEY_FILE_NAME);
}

/** Wraps the secret key: XChaCha20-Poly1305 under Argon2id(passphrase), with the public key as additional data. */
export async function wrapSecretKey(publicKey: Uint8Array, secretKey: Uint8Array, passphrase: string, limits: KdfLimits): Promise<KeyFile> {
  if (passphrase.length === 0) throw new RangeError('the vault passphrase must not be empty');
  const { opslimit, memlimit } = checkKdfLimits(limits);
  const salt = sodium.randombytes_buf(KDF_SALT_BYTES);
  const nonce = sodium.randombytes_buf(WRAP_NONCE_BYTES);
  const wrapKey = await derivePassphraseKey(passphrase, salt, limits, WRAP_KEY_BYTES);
  const encryptedSecretKey = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(secretKey, publicKey, null, nonce, wrapKey);
  sodium.memzero(wrapKey);
  return { version: KEY_FILE_VERSION, publicKey, kdf: 'argon2id13', salt, opslimit, memlimit, cipher: 'xchacha20poly1305-ietf', nonce, encryptedSecretKey };
}

/** The secret key, or WrongPassphraseError. `path` only names the file in errors. */
export async function unwrapSecretKey(keyFile: KeyFile, passphrase: string, path: string): Promise<Uint8Array> {
  const wrapKey = await derivePassphraseKey(passphrase, keyFile.salt, keyFile, WRAP_KEY_BYTES);
  let secretKey: Uint8Array;
  try {
    secretKey = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, keyFile.encryptedSecretKey, keyFile.publicKey, keyFile.nonce, wrapKey);
  } catch {
    throw new WrongPassphraseError(path);
  } finally {
    sodium.memzero(wrapKey);
  }
  if (!sodium.memcmp(sodium.crypto_scalarmult_base(secretKey), keyFile.publicKey)) {
    sodium.memzero(secretKey);
    throw new VaultKeyFileError(`${path}: the unwrapped secret key does not belong to the public key`);
  }
  return secretKey;
}

export function parseKeyFile(text: string, path: string): KeyFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new VaultKeyFileError(`${path} is not valid JSON`);
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VaultKeyFileError(`${path}: ${issue.path.join('.') || '(root)'} ${issue.message}`);
  }
  try {
    checkKdfLimits(parsed.data);
  } catch (error) {
    throw new VaultKeyFileError(`${path}: ${(error as Error).message}`);
  }
  return parsed.data;
}

export function serializeKeyFile(keyFile: KeyFile): string {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  return `${JSON.stringify(
    {
      version: keyFile.version,
      publicKey: b64(keyFile.publicKey),
      kdf: keyFile.kdf,
      salt: b64(keyFile.salt),
      opslimit: keyFile.opslimit,
      memlimit: keyFile.memlimit,
      cipher: keyFile.cipher,
      nonce: b64(keyFile.nonce),
      encryptedSecretKey: b64(keyFile.encryptedSecretKey),
    },
    null,
    2,
  )}\n`;
}

export async function readKeyFile(dir: string): Promise<KeyFile> {
  const path = keyFilePath(dir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new VaultKeyFileError(`No vault in ${dir}: ${KEY_FILE_NAME} is missing (run "volet vault init" to create one)`);
    }
    throw error;
  }
  return parseKeyFile(text, path);
}

const KEY_FILE_MODE = 0o600;

/** Atomically writes vault.json (mode 0600). Refuses to replace an existing key file unless `replace`. */
export async function writeKeyFile(dir: string, keyFile: KeyFile, { replace }: { replace: boolean }): Promise<void> {
  const path = keyFilePath(dir);
  const write = async (file: FileHandle) => {
    // The open mode only applies to a new file: a temp file left by a crash keeps its own.
    await file.chmod(KEY_FILE_MODE);
    await file.writeFile(serializeKeyFile(keyFile));
  };
  try {
    await writeFileAtomically(path, write, { mode: KEY_FILE_MODE, overwrite: replace });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new VaultKeyFileError(`${path} already exists: refusing to replace a vault key (files sealed to it would become unreadable)`);
    }
    throw error;
  }
}
