import { mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { readHeader } from '../vault/files.ts';
import { parseVaultFileName, VAULT_FILE_EXTENSION } from './file-names.ts';
import type { StorageIndex } from './storage-index.ts';

export interface RecoveryReport {
  tempRemoved: string[];
  reindexed: string[];
  droppedRows: string[];
  quarantined: { name: string; reason: string }[];
  /** `<camera>/<day>` directories compared with the index. */
  daysChecked: number;
  stopped: boolean;
}

export const QUARANTINE_DIR = 'quarantine';
/** Sealed exports of the index (for backups); not footage, never indexed. */
export const EXPORTS_DIR = 'exports';

export interface ReconcileOptions {
  /**
   * 'all': every day directory. 'crash': what a crash can leave, per camera: the newest days (at
   * least two, then older ones until a day matches the index) and the oldest days (retention
   * deletes there) until one matches.
   */
  scope: 'all' | 'crash';
  /** Files starting at or after this belong to the running Volet (being written now): left alone. */
  ownWritesFromMs?: number;
  /** Checked between steps: true ends the reconciliation early. */
  shouldStop?: () => boolean;
  /** Directory listing, injectable to count what is read. */
  readdir?: (path: string) => Promise<string[]>;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const CAMERA = /^[a-z0-9_-]{1,32}$/;
const STEP = 500;
const DAY_MS = 86_400_000;

/**
 * Makes the index and the directory agree after a crash or a manual change, one day directory at
 * a time, yielding to the event loop every few hundred entries: removes temp leftovers, indexes
 * vault files the index lost (after reading their header), drops rows whose file is gone, and moves
 * files that are not well-formed vault files into quarantine/. Needs no key: full authentication
 * is `volet verify`, once the vault is unlocked.
 */
export async function reconcileStorage(dir: string, index: StorageIndex, opts: ReconcileOptions): Promise<RecoveryReport> {
  const report: RecoveryReport = { tempRemoved: [], reindexed: [], droppedRows: [], quarantined: [], daysChecked: 0, stopped: false };
  const list = opts.readdir ?? ((path: string) => readdir(path));
  const listOrEmpty = (path: string) => list(path).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'ENOTDIR' ? [] : Promise.reject(err)));
  const stopping = () => (report.stopped ||= opts.shouldStop?.() ?? false);
  const day = { dir, index, report, ownFrom: opts.ownWritesFromMs ?? Number.MAX_SAFE_INTEGER, list: listOrEmpty, stopping };

  const onDisk = (await listOrEmpty(dir)).filter((name) => CAMERA.test(name) && name !== QUARANTINE_DIR && name !== EXPORTS_DIR);
  const cameras = [...new Set([...onDisk, ...index.cameras()])].sort();
  for (const camera of cameras) {
    const span = index.startSpan(camera);
    const indexDays = span ? [dayOf(span.oldestMs), dayOf(span.newestMs)] : [];
    const days = [...new Set([...(await listOrEmpty(join(dir, camera))).filter((d) => DAY.test(d)), ...indexDays])].sort();
    if (opts.scope === 'all') {
      for (const d of allDaysBetween(days)) {
        if (stopping()) break;
        await reconcileDay(day, camera, d);
      }
      continue;
    }
    const newestFirst = [...days].reverse();
    let checked = 0;
    for (const d of newestFirst) {
      if (stopping()) break;
      checked += 1;
      const consistent = await reconcileDay(day, camera, d);
      if (consistent && checked >= 2) break;
    }
    for (const d of days.slice(0, Math.max(0, days.length - checked))) {
      if (stopping() || (await reconcileDay(day, camera, d))) break;
    }
  }
  return report;
}

/** Every day directory, all of them: for `volet restore` and manual repairs. */
export function recoverStorage(dir: string, index: StorageIndex): Promise<RecoveryReport> {
  return reconcileStorage(dir, index, { scope: 'all' });
}

interface DayContext {
  dir: string;
  index: StorageIndex;
  report: RecoveryReport;
  ownFrom: number;
  list: (path: string) => Promise<string[]>;
  stopping: () => boolean;
}

/** Compares one `<camera>/<day>` directory with the index; true when nothing had to change. */
async function reconcileDay(ctx: DayContext, camera: string, day: string): Promise<boolean> {
  const { dir, index, report } = ctx;
  const changesBefore = report.tempRemoved.length + report.reindexed.length + report.droppedRows.length + report.quarantined.length;
  const entries = await ctx.list(join(dir, camera, day));
  const present = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    if (i > 0 && i % STEP === 0) {
      await yieldToLoop();
      if (ctx.stopping()) return false;
    }
    const name = `${camera}/${day}/${entries[i]}`;
    if (name.endsWith('.tmp')) {
      if ((parseVaultFileName(name.slice(0, -'.tmp'.length))?.startMs ?? 0) >= ctx.ownFrom) continue;
      await unlink(join(dir, name)).then(() => report.tempRemoved.push(name), ignoreGone);
      continue;
    }
    if (!name.endsWith(VAULT_FILE_EXTENSION)) continue;
    present.add(name);
    if (index.file(name)) continue;
    const parsed = parseVaultFileName(name);
    if (parsed && parsed.startMs >= ctx.ownFrom) continue;
    const problem = parsed ? await headerProblem(join(dir, name)) : 'file name is not a vault file name';
    if (problem === 'gone') continue;
    if (problem || !parsed) {
      await quarantine(dir, name);
      index.removeFile(name);
      report.quarantined.push({ name, reason: problem ?? 'file name is not a vault file name' });
      continue;
    }
    const size = await stat(join(dir, name)).then((s) => s.size, () => undefined);
    if (size === undefined) continue;
    index.addFile({ name, camera: parsed.camera, kind: parsed.kind, startMs: parsed.startMs, endMs: parsed.endMs, size, eventId: parsed.eventId ?? null });
    if (parsed.eventId && !index.event(parsed.eventId)) {
      index.upsertEvent({ id: parsed.eventId, camera: parsed.camera, startMs: parsed.startMs, endMs: parsed.endMs });
    }
    report.reindexed.push(name);
  }
  const dayStart = Date.parse(`${day}T00:00:00Z`);
  let after: { startMs: number; name: string } | undefined;
  for (;;) {
    const rows = index.filesStartingBetween(camera, dayStart, Math.min(dayStart + DAY_MS, ctx.ownFrom), { after, limit: STEP });
    if (rows.length === 0) break;
    after = rows[rows.length - 1];
    const stale = rows.filter((r) => !present.has(r.name)).map((r) => r.name);
    index.removeFiles(stale);
    report.droppedRows.push(...stale);
    if (rows.length < STEP) break;
    await yieldToLoop();
  }
  report.daysChecked += 1;
  return report.tempRemoved.length + report.reindexed.length + report.droppedRows.length + report.quarantined.length === changesBefore;
}

async function headerProblem(path: string): Promise<string | undefined> {
  try {
    await readHeader(path);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : (err as Error).message;
  }
}

async function quarantine(dir: string, name: string): Promise<void> {
  const target = join(dir, QUARANTINE_DIR, name);
  await mkdir(dirname(target), { recursive: true });
  await rename(join(dir, name), target).catch(ignoreGone);
}

function ignoreGone(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The listed days plus every calendar day between the first and the last (rows may sit in days with no directory). */
function allDaysBetween(days: readonly string[]): string[] {
  if (days.length === 0) return [];
  const all = new Set(days);
  for (let ms = Date.parse(`${days[0]}T00:00:00Z`); ms <= Date.parse(`${days[days.length - 1]}T00:00:00Z`); ms += DAY_MS) all.add(dayOf(ms));
  return [...all].sort();
}
