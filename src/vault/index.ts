// The vault's public API: encrypted recording storage (docs/FORMAT.md).
export { Vault, DEFAULT_AUTO_LOCK_MS, type LockReason, type VaultOptions, type VaultStatus } from './vault.ts';
export {
  decryptFileStream,
  decryptFileToBuffer,
  encryptBuffer,
  encryptFile,
  readHeader,
  verifyFile,
  type EncryptedFileInfo,
  type EncryptOptions,
  type FileHeaderInfo,
  type VerifyResult,
} from './files.ts';
export {
  createDecryptor,
  createEncryptor,
  decryptBytes,
  encryptBytes,
  FILE_KINDS,
  keyPairOpener,
  parseHeader,
  vaultKeyId,
  type Decryptor,
  type Encryptor,
  type FileHeader,
  type FileKeyOpener,
  type FileKind,
} from './format.ts';
export { VaultFormatError, VaultKeyFileError, VaultLockedError, WrongPassphraseError, type VaultFormatErrorCode } from './errors.ts';
export { MODERATE_LIMITS, type KdfLimits } from './passphrase-kdf.ts';
