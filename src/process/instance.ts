import type { Logger } from '../log/logger.ts';
import { OWN_IDENTITY, OWNER_ENV, parseOwner, verifyChildLifetimeGuard, type ProcessIdentity } from './child-lifetime.ts';
import { isRunning, listPids, readEnviron, readStat } from './proc.ts';

/** The storage directory of the Volet instance that started a process, inherited like VOLET_OWNER. */
export const INSTANCE_ENV = 'VOLET_INSTANCE';

const REAP_WAIT_MS = 3000;

export interface Leftover extends ProcessIdentity {
  owner: ProcessIdentity;
}

/**
 * Makes this process the Volet instance of `storageDir`: checks the child-process guard, marks
 * every child started from now on with the instance, and kills what a dead previous instance of
 * the same storage directory left running (a child whose death signal could not fire: started
 * by an older Volet, or outside the guard). Call before any camera starts.
 */
export async function claimInstance(storageDir: string, logger: Logger): Promise<Leftover[]> {
  await verifyChildLifetimeGuard();
  process.env[INSTANCE_ENV] = storageDir;
  const { leftovers, otherLiveOwners } = await findLeftovers(storageDir);
  for (const owner of otherLiveOwners) {
    logger.warn({ pid: owner.pid, storage: storageDir }, 'another running Volet uses this storage directory; its processes are left alone');
  }
  for (const leftover of leftovers) {
    // The start time was read moments ago: a pid reused since then is never signalled.
    if (!(await isRunning(leftover.pid, leftover.startTime))) continue;
    try {
      process.kill(leftover.pid, 'SIGKILL');
      logger.warn({ pid: leftover.pid, previousVolet: leftover.owner.pid }, 'killed a process left running by a previous Volet');
    } catch {
      // Exited on its own meanwhile.
    }
  }
  const deadline = Date.now() + REAP_WAIT_MS;
  for (const leftover of leftovers) {
    while ((await isRunning(leftover.pid, leftover.startTime)) && Date.now() < deadline) await sleep(50);
  }
  return leftovers;
}

/** Processes marked with this instance whose owning Volet is no longer running. */
async function findLeftovers(storageDir: string): Promise<{ leftovers: Leftover[]; otherLiveOwners: ProcessIdentity[] }> {
  const spared = await ownAncestry();
  const leftovers: Leftover[] = [];
  const otherLiveOwners = new Map<number, ProcessIdentity>();
  for (const pid of await listPids()) {
    if (spared.has(pid)) continue;
    const env = await readEnviron(pid);
    if (env?.get(INSTANCE_ENV) !== storageDir) continue;
    const owner = parseOwner(env.get(OWNER_ENV));
    const stat = await readStat(pid);
    if (!owner || !stat || stat.state === 'Z') continue;
    if (owner.pid === OWN_IDENTITY.pid && owner.startTime === OWN_IDENTITY.startTime) continue;
    if (await isRunning(owner.pid, owner.startTime)) {
      otherLiveOwners.set(owner.pid, owner);
      continue;
    }
    leftovers.push({ pid, startTime: stat.startTime, owner });
  }
  return { leftovers, otherLiveOwners: [...otherLiveOwners.values()] };
}

/** This process and its ancestors, which are never reaped whatever they carry. */
async function ownAncestry(): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let pid = process.pid; pid > 0 && !pids.has(pid); ) {
    pids.add(pid);
    pid = (await readStat(pid))?.ppid ?? 0;
  }
  return pids;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
