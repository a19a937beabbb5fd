// The vault passphrase key: Argon2id through the shared, capped queue in sodium-argon2id.ts.
import sodium from 'libsodium-wrappers-sumo';
import { argon2id } from './sodium-argon2id.ts';

await sodium.ready;

export interface KdfLimits {
  opslimit: number;
  memlimit: number;
}

export const MODERATE_LIMITS: KdfLimits = {
  opslimit: sodium.crypto_pwhash_OPSLIMIT_MODERATE,
  memlimit: sodium.crypto_pwhash_MEMLIMIT_MODERATE,
};

/** The smallest limits libsodium accepts; only for tests. */
export const MINIMUM_LIMITS: KdfLimits = {
  opslimit: sodium.crypto_pwhash_OPSLIMIT_MIN,
  memlimit: sodium.crypto_pwhash_MEMLIMIT_MIN,
};

export const KDF_SALT_BYTES = sodium.crypto_pwhash_SALTBYTES;

/** Refuses limits below libsodium's minimum or above what a small NVR can afford (4 GiB). */
export function checkKdfLimits(limits: KdfLimits): KdfLimits {
  const { opslimit, memlimit } = limits;
  if (!Number.isInteger(opslimit) || opslimit < MINIMUM_LIMITS.opslimit || opslimit > 64) {
    throw new RangeError(`Argon2id opslimit must be an integer between ${MINIMUM_LIMITS.opslimit} and 64, got ${opslimit}`);
  }
  if (!Number.isInteger(memlimit) || memlimit < MINIMUM_LIMITS.memlimit || memlimit > 4 * 1024 ** 3) {
    throw new RangeError(`Argon2id memlimit must be an integer between ${MINIMUM_LIMITS.memlimit} and 4 GiB, got ${memlimit}`);
  }
  return limits;
}

/**
 * Argon2id13 (crypto_pwhash) of the passphrase, computed off the main thread. The passphrase is
 * NFC-normalised first, so "é" typed as one code point or as e + combining accent unlocks alike.
 */
export async function derivePassphraseKey(passphrase: string, salt: Uint8Array, limits: KdfLimits, keyBytes: number): Promise<Uint8Array> {
  checkKdfLimits(limits);
  if (salt.length !== KDF_SALT_BYTES) throw new RangeError(`Argon2id salt must be ${KDF_SALT_BYTES} bytes`);
  const password = Buffer.from(passphrase.normalize('NFC'), 'utf8');
  try {
    return await argon2id.key(keyBytes, password, salt, limits.opslimit, limits.memlimit);
  } finally {
    password.fill(0);
  }
}
