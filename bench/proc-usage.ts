import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100;

interface ProcTimes {
  cpuSeconds: number;
  rssBytes: number;
}

/** CPU seconds (user + system) and RSS of a process, from /proc/<pid>/stat. */
function procTimes(pid: number): ProcTimes | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { cpuSeconds: (utime + stime) / CLOCK_TICKS, rssBytes: rssPages * 4096 };
  } catch {
    return undefined;
  }
}

/** The pids of a process and all its descendants. */
export function processTree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), pid]);
    } catch {
      // the process ended meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i]) ?? []));
  return tree;
}

/**
 * CPU use of a process tree over a window, in % of one core, and its RSS at the end, leaving out
 * the subtree of `excludeRoot` (a test server the tree started). Processes that exist at both ends
 * are counted; the window should be long compared to process restarts.
 */
export async function measureTree(root: number, seconds: number, excludeRoot?: number): Promise<{ cpuPercent: number; rssBytes: number; pids: number }> {
  const excluded = new Set(excludeRoot === undefined ? [] : processTree(excludeRoot));
  const tree = () => processTree(root).filter((pid) => !excluded.has(pid));
  const before = new Map(tree().map((pid) => [pid, procTimes(pid)?.cpuSeconds ?? 0]));
  const started = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  let cpu = 0;
  let rss = 0;
  const pids = tree();
  for (const pid of pids) {
    const now = procTimes(pid);
    if (!now) continue;
    cpu += now.cpuSeconds - (before.get(pid) ?? 0);
    rss += now.rssBytes;
  }
  return { cpuPercent: (cpu / elapsed) * 100, rssBytes: rss, pids: pids.length };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
