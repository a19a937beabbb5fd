import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readOwnStat } from './proc.ts';

/**
 * No child process outlives Volet, even after `kill -9`: every ffmpeg runs through
 * guarded-ffmpeg.sh, which has the kernel send it SIGKILL when its parent dies (setpriv
 * --pdeathsig, util-linux) and refuses to start ffmpeg if Volet died before that was armed.
 *
 * The kernel ties the death signal to the parent *thread*: spawn from the main thread only (as
 * child_process does), never from a worker thread that may exit before Volet.
 */
export const GUARDED_FFMPEG = fileURLToPath(new URL('./guarded-ffmpeg.sh', import.meta.url));

export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

/** "pid:startTime" of the Volet process, inherited by every child it starts. */
export const OWNER_ENV = 'VOLET_OWNER';

export function formatOwner(owner: ProcessIdentity): string {
  return `${owner.pid}:${owner.startTime}`;
}

export function parseOwner(value: string | undefined): ProcessIdentity | undefined {
  const match = /^(\d+):(\d+)$/.exec(value ?? '');
  return match ? { pid: Number(match[1]), startTime: match[2] } : undefined;
}

const self = readOwnStat();
export const OWN_IDENTITY: ProcessIdentity = { pid: self.pid, startTime: self.startTime };
// Always overwritten: a Volet started by another marked process must not pass on its parent's mark.
process.env[OWNER_ENV] = formatOwner(OWN_IDENTITY);

/**
 * Starts the guarded ffmpeg once (-version): Volet refuses to run when the guard cannot work,
 * rather than leave ffmpeg processes behind after a crash.
 */
export function verifyChildLifetimeGuard(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(GUARDED_FFMPEG, ['-hide_banner', '-version'], { timeout: 20_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const why = stderr.trim().split('\n').pop() || err.message;
      reject(
        new Error(
          `cannot start ffmpeg under the parent-death guard (${why}). ` +
            `Needs ffmpeg and setpriv from util-linux (Debian: apt-get install ffmpeg util-linux), and ${GUARDED_FFMPEG} executable.`,
        ),
      );
    });
  });
}
