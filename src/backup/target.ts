import type { Throttle } from './throttle.ts';

/** One file on a backup target, named relative to the target's base directory. */
export interface RemoteFile {
  readonly name: string;
  readonly size: number;
  readonly modifiedMs?: number;
  /** A protocol-specific content hash (Dropbox content_hash); compare with `contentHashOf`. */
  readonly contentHash?: string;
}

export interface PutOptions {
  /** Bandwidth limit shared by the uploads of one target. */
  readonly throttle?: Throttle;
  /** Aborts the upload (shutdown); the final name is never created by an aborted upload. */
  readonly signal?: AbortSignal;
}

/**
 * The user's own server, whatever the protocol. Remote names are relative POSIX paths (see
 * remote-name.ts). `put` is atomic where the protocol allows: the file appears under its final
 * name only once it is complete, and parent folders are created as needed.
 */
export interface BackupTarget {
  readonly name: string;
  put(remoteName: string, localPath: string, options?: PutOptions): Promise<void>;
  get(remoteName: string, localPath: string): Promise<void>;
  /** Every file below the base directory whose name starts with `prefix`, `.part` leftovers included. */
  list(prefix?: string): Promise<RemoteFile[]>;
  stat(remoteName: string): Promise<RemoteFile | undefined>;
  /** Removing a file that does not exist is not an error. */
  remove(remoteName: string): Promise<void>;
  close(): Promise<void>;
  /** Present when `stat` reports a content hash: computes the same kind of hash for a local file. */
  contentHashOf?(localPath: string): Promise<string>;
}

/**
 * What went wrong, so the runner can decide: `auth`, `host-key` and `tls` need the user;
 * `unavailable` is the network or the server; `local` concerns the file on this machine and will
 * not get better by retrying.
 */
export type BackupErrorKind =
  | 'auth'
  | 'host-key'
  | 'tls'
  | 'unavailable'
  | 'rejected'
  | 'verification'
  | 'local'
  | 'aborted';

/** Errors name the target and the problem; credentials are scrubbed before they get here. */
export class BackupTargetError extends Error {
  constructor(
    readonly target: string,
    readonly kind: BackupErrorKind,
    message: string,
  ) {
    // No `cause`: a library's error can quote credentials, and loggers serialize causes.
    super(`Backup target "${target}": ${message}`);
    this.name = 'BackupTargetError';
  }
}
