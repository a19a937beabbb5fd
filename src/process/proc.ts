import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/** What /proc/<pid>/stat says about a process. Linux only. */
export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie: already dead, waiting to be reaped), ... */
  state: string;
  ppid: number;
  /** Clock ticks after boot: with the pid, identifies a process even once its pid is reused. */
  startTime: string;
}

function parseStat(pid: number, text: string): ProcStat {
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: fields[0], ppid: Number(fields[1]), startTime: fields[19] };
}

export async function readStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseStat(pid, await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function readOwnStat(): ProcStat {
  return parseStat(process.pid, readFileSync('/proc/self/stat', 'utf8'));
}

/** The environment the process was started with; undefined when it is gone or not ours to read. */
export async function readEnviron(pid: number): Promise<Map<string, string> | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/environ`, 'utf8');
    const env = new Map<string, string>();
    for (const entry of text.split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    return env;
  } catch {
    return undefined;
  }
}

export async function listPids(): Promise<number[]> {
  return (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
}

/** True while the process that had this pid and start time has not exited. */
export async function isRunning(pid: number, startTime: string): Promise<boolean> {
  const stat = await readStat(pid);
  return stat !== undefined && stat.startTime === startTime && stat.state !== 'Z';
}
