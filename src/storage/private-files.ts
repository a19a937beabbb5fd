import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';

/** Secrets (index, keys) are readable by Volet's own user only, whatever the umask. */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** A file or directory whose mode was looser than it should be, and what it was. */
export interface Tightened {
  path: string;
  from: string;
  to: string;
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/** Sets `mode` when group or others have any access to `path`; undefined when it was already private or is missing. */
function tighten(path: string, mode: number): Tightened | undefined {
  let current: number;
  try {
    current = statSync(path).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if ((current & 0o077) === 0) return undefined;
  chmodSync(path, mode);
  return { path, from: octal(current), to: octal(mode) };
}

/** Creates `dir` (and missing parents) 0700, or tightens it when it already exists with a looser mode. */
export function ensurePrivateDir(dir: string): Tightened | undefined {
  // mkdir applies the umask, which can only remove bits: 0700 stays 0700 or gets stricter.
  if (mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE }) !== undefined) return undefined;
  return tighten(dir, PRIVATE_DIR_MODE);
}

/** Tightens an existing file to 0600 (a missing one is left missing). */
export function tightenFile(path: string): Tightened | undefined {
  return tighten(path, PRIVATE_FILE_MODE);
}

/**
 * Creates `path` empty with mode 0600 if it does not exist, so that a library creating it later
 * (SQLite) finds it private; an existing file is tightened instead.
 */
export function ensurePrivateFile(path: string): Tightened | undefined {
  try {
    closeSync(openSync(path, 'wx', PRIVATE_FILE_MODE));
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return tightenFile(path);
  }
}
