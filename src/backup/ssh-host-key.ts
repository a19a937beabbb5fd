import { createHash } from 'node:crypto';

export interface HostKeyIdentity {
  /** "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256" … */
  readonly type: string;
  /** Unpadded base64 SHA256 of the key blob, as OpenSSH prints it after "SHA256:". */
  readonly sha256: string;
}

/** Fingerprint of a raw SSH public key blob (the bytes ssh2 hands to hostVerifier). */
export function hostKeyIdentity(keyBlob: Buffer): HostKeyIdentity {
  const sha256 = createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
  let type = 'unknown';
  if (keyBlob.length >= 4) {
    const length = keyBlob.readUInt32BE(0);
    if (length > 0 && length < 64 && keyBlob.length >= 4 + length) type = keyBlob.toString('ascii', 4, 4 + length);
  }
  return { type, sha256 };
}

/**
 * Accepts what a user copies from `ssh-keygen -lf` or `ssh-keyscan | ssh-keygen -lf -`:
 * "SHA256:abc…", "abc…", with or without base64 padding.
 */
export function normalizeHostKeySha256(pinned: string): string {
  return pinned.trim().replace(/^SHA256:/i, '').replace(/=+$/, '');
}
