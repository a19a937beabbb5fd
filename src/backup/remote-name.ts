/**
 * Remote names are relative POSIX paths below a target's base directory, such as
 * `porch/2026-11-22/segment-1795330000000-1795330004000.volet`. Anything that could escape the
 * base directory or smuggle a command into a line-based protocol (FTP) is refused.
 */

/** Suffix of the temporary name an upload is written to before it is renamed into place. */
export const PART_SUFFIX = '.part';

export class InvalidRemoteNameError extends Error {
  constructor(name: string, reason: string) {
    super(`Invalid backup file name ${JSON.stringify(name)}: ${reason}`);
    this.name = 'InvalidRemoteNameError';
  }
}

function problemWith(name: string, allowTrailingSlash: boolean): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > 1024) return 'it is longer than 1024 characters';
  if (name.includes('\\')) return 'backslashes are not allowed';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'control characters are not allowed';
  if (name.startsWith('/')) return 'absolute paths are not allowed';
  if (/^[a-zA-Z]:/.test(name)) return 'drive letters are not allowed';
  const body = allowTrailingSlash && name.endsWith('/') ? name.slice(0, -1) : name;
  for (const segment of body.split('/')) {
    if (segment === '') return 'empty path segments are not allowed';
    if (segment === '.' || segment === '..') return '"." and ".." segments are not allowed';
    if (segment.trim() !== segment) return 'path segments may not start or end with spaces';
  }
  return undefined;
}

/** Returns the name unchanged when it is a safe relative POSIX path; throws otherwise. */
export function assertRemoteName(name: string): string {
  if (typeof name !== 'string') throw new InvalidRemoteNameError(String(name), 'it is not a string');
  const problem = problemWith(name, false);
  if (problem) throw new InvalidRemoteNameError(name, problem);
  return name;
}

/** A list prefix: '' (everything), a folder ('porch/'), or the start of a name ('porch/2026-11'). */
export function assertRemotePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  const problem = problemWith(prefix, true);
  if (problem) throw new InvalidRemoteNameError(prefix, problem);
  return prefix;
}

export function partNameOf(name: string): string {
  return `${name}${PART_SUFFIX}`;
}

/** 'a/b/c.volet' → ['a', 'a/b']: every folder that must exist before the file can be written. */
export function parentFoldersOf(name: string): string[] {
  const segments = name.split('/').slice(0, -1);
  return segments.map((_, index) => segments.slice(0, index + 1).join('/'));
}

/** The deepest folder that contains every name starting with `prefix`: 'porch/2026-1' → 'porch'. */
export function folderOfPrefix(prefix: string): string {
  const slash = prefix.lastIndexOf('/');
  return slash < 0 ? '' : prefix.slice(0, slash);
}

/** Joins a base directory ('' or '/volet' or 'volet/') and a relative name with exactly one '/'. */
export function joinRemote(base: string, name: string): string {
  const trimmedBase = base.replace(/\/+$/, '');
  if (name === '') return trimmedBase === '' ? '/' : trimmedBase;
  return `${trimmedBase}/${name}`;
}
