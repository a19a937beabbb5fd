// Argon2id for the vault passphrase and for login passwords, a few at a time. Each computation
// holds `memlimit` bytes (256 MiB at MODERATE) and, natively, one thread of libuv's pool (4 threads,
// shared with file I/O); a burst of logins waits in line instead of exhausting memory.
import pLimit from 'p-limit';
import { sodiumBinding, type SodiumBinding } from './sodium.ts';

export const ARGON2ID_CONCURRENCY = 2;

export interface Argon2id {
  /** crypto_pwhash (Argon2id13) of `password` into a `keyBytes`-byte key. */
  key(keyBytes: number, password: Uint8Array, salt: Uint8Array, opslimit: number, memlimit: number): Promise<Uint8Array>;
  /** crypto_pwhash_str of a non-empty password. */
  hashString(password: Uint8Array, opslimit: number, memlimit: number): Promise<string>;
  /** crypto_pwhash_str_verify; false for a wrong password, an empty one, or a malformed hash. */
  verifyString(hash: string, password: Uint8Array): Promise<boolean>;
  /** Computations running now and waiting for a slot. */
  load(): { running: number; waiting: number };
}

export function createArgon2id(binding: SodiumBinding, concurrency = ARGON2ID_CONCURRENCY): Argon2id {
  const limit = pLimit(concurrency);
  return {
    key: (keyBytes, password, salt, opslimit, memlimit) => limit(() => binding.argon2idKey(keyBytes, password, salt, opslimit, memlimit)),
    hashString(password, opslimit, memlimit) {
      if (password.length === 0) return Promise.reject(new RangeError('cannot hash an empty password'));
      return limit(() => binding.argon2idHashString(password, opslimit, memlimit));
    },
    verifyString: (hash, password) => (password.length === 0 ? Promise.resolve(false) : limit(() => binding.argon2idVerifyString(hash, password))),
    load: () => ({ running: limit.activeCount, waiting: limit.pendingCount }),
  };
}

/** The process-wide Argon2id: one queue for logins and vault unlocks alike. */
export const argon2id = createArgon2id(sodiumBinding);
