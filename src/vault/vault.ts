import { access, mkdir } from 'node:fs/promises';
import sodium from 'libsodium-wrappers-sumo';
import { VaultKeyFileError, VaultLockedError } from './errors.ts';
import { vaultKeyId, type FileKeyOpener } from './format.ts';
import { keyFilePath, readKeyFile, unwrapSecretKey, wrapSecretKey, writeKeyFile, type KeyFile } from './keyfile.ts';
import { MODERATE_LIMITS, type KdfLimits } from './passphrase-kdf.ts';
import { sodiumBinding } from './sodium.ts';

await sodium.ready;

export const DEFAULT_AUTO_LOCK_MS = 15 * 60 * 1000;

export type LockReason = 'manual' | 'idle';

export interface VaultOptions {
  /** Lock after this long without a decryption; 0 never locks on its own. Default 15 minutes. */
  autoLockMs?: number;
  /** Called whenever an unlocked vault locks. */
  onLock?: (reason: LockReason) => void;
}

export interface VaultStatus {
  dir: string;
  keyFile: string;
  keyId: string;
  unlocked: boolean;
  autoLockMs: number;
  kdf: KdfLimits;
}

/**
 * The vault key pair of one storage directory. Anyone can seal files to `publicKey` (recording
 * never needs the passphrase); opening them needs the secret key, which exists in memory only
 * between `unlock` and `lock` (or the idle auto-lock).
 */
export class Vault implements FileKeyOpener {
  readonly dir: string;
  #keyFile: KeyFile;
  #secretKey: Uint8Array | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  readonly #autoLockMs: number;
  readonly #onLock: ((reason: LockReason) => void) | undefined;

  private constructor(dir: string, keyFile: KeyFile, options: VaultOptions) {
    const autoLockMs = options.autoLockMs ?? DEFAULT_AUTO_LOCK_MS;
    if (!Number.isInteger(autoLockMs) || autoLockMs < 0) throw new RangeError(`autoLockMs must be a whole number ≥ 0, got ${autoLockMs}`);
    this.dir = dir;
    this.#keyFile = keyFile;
    this.#autoLockMs = autoLockMs;
    this.#onLock = options.onLock;
  }

  /** Creates a new key pair and vault.json in `dir`; never replaces an existing one. The vault is returned locked. */
  static async init(dir: string, passphrase: string, options: VaultOptions & { limits?: KdfLimits } = {}): Promise<Vault> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Fail before the slow key derivation; writeKeyFile still refuses atomically if one appears meanwhile.
    const existing = await access(keyFilePath(dir)).then(() => true, () => false);
    if (existing) throw new VaultKeyFileError(`${keyFilePath(dir)} already exists: this directory already has a vault`);
    const { publicKey, privateKey } = sodium.crypto_box_keypair();
    let keyFile: KeyFile;
    try {
      keyFile = await wrapSecretKey(publicKey, privateKey, passphrase, options.limits ?? MODERATE_LIMITS);
    } finally {
      sodium.memzero(privateKey);
    }
    await writeKeyFile(dir, keyFile, { replace: false });
    return new Vault(dir, keyFile, options);
  }

  /** Opens the vault in `dir` locked: it can seal new files right away. */
  static async open(dir: string, options: VaultOptions = {}): Promise<Vault> {
    return new Vault(dir, await readKeyFile(dir), options);
  }

  get publicKey(): Uint8Array {
    return this.#keyFile.publicKey;
  }

  get keyId(): string {
    return vaultKeyId(this.publicKey);
  }

  get isUnlocked(): boolean {
    return this.#secretKey !== null;
  }

  /** Throws WrongPassphraseError when the passphrase does not unwrap the secret key. */
  async unlock(passphrase: string): Promise<void> {
    const secretKey = await unwrapSecretKey(this.#keyFile, passphrase, keyFilePath(this.dir));
    if (this.#secretKey) sodium.memzero(this.#secretKey);
    this.#secretKey = secretKey;
    this.#restartIdleTimer();
  }

  lock(): void {
    this.#lock('manual');
  }

  /** Re-wraps the same secret key under a new passphrase; files already sealed stay readable. */
  async changePassphrase(oldPassphrase: string, newPassphrase: string, limits?: KdfLimits): Promise<void> {
    const current = this.#keyFile;
    const secretKey = await unwrapSecretKey(current, oldPassphrase, keyFilePath(this.dir));
    try {
      const next = await wrapSecretKey(current.publicKey, secretKey, newPassphrase, limits ?? { opslimit: current.opslimit, memlimit: current.memlimit });
      await writeKeyFile(this.dir, next, { replace: true });
      this.#keyFile = next;
    } finally {
      sodium.memzero(secretKey);
    }
  }

  status(): VaultStatus {
    const { opslimit, memlimit } = this.#keyFile;
    return {
      dir: this.dir,
      keyFile: keyFilePath(this.dir),
      keyId: this.keyId,
      unlocked: this.isUnlocked,
      autoLockMs: this.#autoLockMs,
      kdf: { opslimit, memlimit },
    };
  }

  /** Opens a file key sealed to this vault; each use restarts the idle auto-lock timer. */
  openFileKey(sealedFileKey: Uint8Array): Uint8Array | null {
    if (!this.#secretKey) throw new VaultLockedError();
    this.#restartIdleTimer();
    return sodiumBinding.boxSealOpen(sealedFileKey, this.publicKey, this.#secretKey);
  }

  #lock(reason: LockReason): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (!this.#secretKey) return;
    sodium.memzero(this.#secretKey);
    this.#secretKey = null;
    this.#onLock?.(reason);
  }

  #restartIdleTimer(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (this.#autoLockMs === 0) return;
    this.#idleTimer = setTimeout(() => this.#lock('idle'), this.#autoLockMs);
    this.#idleTimer.unref();
  }
}
