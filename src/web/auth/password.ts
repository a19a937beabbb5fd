// Argon2id password hashes (libsodium crypto_pwhash_str), computed natively off the main thread
// through the vault's capped Argon2id queue: a burst of logins waits in line, it cannot exhaust memory.
import sodium from 'libsodium-wrappers-sumo';
import { argon2id, type Argon2id } from '../../vault/sodium-argon2id.ts';

await sodium.ready;

export type PasswordStrength = 'moderate' | 'interactive' | 'minimum';

const LIMITS: Record<PasswordStrength, { opslimit: number; memlimit: number }> = {
  moderate: { opslimit: sodium.crypto_pwhash_OPSLIMIT_MODERATE, memlimit: sodium.crypto_pwhash_MEMLIMIT_MODERATE },
  interactive: { opslimit: sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE, memlimit: sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE },
  minimum: { opslimit: sodium.crypto_pwhash_OPSLIMIT_MIN, memlimit: sodium.crypto_pwhash_MEMLIMIT_MIN },
};

export class PasswordHasher {
  private dummy?: Promise<string>;

  constructor(
    readonly strength: PasswordStrength = 'interactive',
    private readonly argon2: Argon2id = argon2id,
  ) {}

  hash(password: string): Promise<string> {
    const { opslimit, memlimit } = LIMITS[this.strength];
    return this.argon2.hashString(Buffer.from(password, 'utf8'), opslimit, memlimit);
  }

  verify(hash: string, password: string): Promise<boolean> {
    return this.argon2.verifyString(hash, Buffer.from(password, 'utf8'));
  }

  /** True when `hash` was made with other limits than this hasher's (e.g. MODERATE from an older Volet). */
  needsRehash(hash: string): boolean {
    const { opslimit, memlimit } = LIMITS[this.strength];
    try {
      return sodium.crypto_pwhash_str_needs_rehash(hash, opslimit, memlimit);
    } catch {
      return true;
    }
  }

  /** Spends the same time as a real check, so an unknown username cannot be told from a wrong password. */
  async verifyNobody(password: string): Promise<false> {
    this.dummy ??= this.hash('volet-no-such-user');
    await this.verify(await this.dummy, password);
    return false;
  }
}
