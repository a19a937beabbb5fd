export type VaultFormatErrorCode =
  | 'bad-magic'
  | 'unsupported-version'
  | 'bad-header'
  | 'wrong-key'
  | 'auth-failed'
  | 'truncated'
  | 'trailing-data';

/** An encrypted file is not a valid Volet file for this vault. No plaintext of a failing chunk is ever returned. */
export class VaultFormatError extends Error {
  override readonly name = 'VaultFormatError';
  constructor(
    readonly code: VaultFormatErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class WrongPassphraseError extends Error {
  override readonly name = 'WrongPassphraseError';
  constructor(keyFilePath: string) {
    super(`Wrong passphrase: it does not unlock the vault key in ${keyFilePath} (or that file was modified).`);
  }
}

export class VaultLockedError extends Error {
  override readonly name = 'VaultLockedError';
  constructor() {
    super('The vault is locked: unlock it with the passphrase to view recordings. Recording continues while locked.');
  }
}

/** vault.json is missing, unreadable, malformed, or would be overwritten. */
export class VaultKeyFileError extends Error {
  override readonly name = 'VaultKeyFileError';
}
