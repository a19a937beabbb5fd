import { mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { readHeader } from '../vault/files.ts';
import { parseVaultFileName, VAULT_FILE_EXTENSION } from './file-names.ts';
import type { StorageIndex } from './storage-index.ts';

export interface RecoveryReport {
  tempRemoved: string[];
  reindexed: string[];
  droppedRows: string[];
  quarantined: { name: string; reason: string }[];
}

export const QUARANTINE_DIR = 'quarantine';
/** Sealed exports of the index (for backups); not footage, never indexed. */
export const EXPORTS_DIR = 'exports';

/**
 * Makes the index and the directory agree after a crash or a manual change: removes temp
 * leftovers, indexes vault files the index lost, drops rows whose file is gone, and moves files
 * that are not well-formed vault files into quarantine/. Needs no key: full authentication is
 * `volet verify`, once the vault is unlocked.
 */
export async function recoverStorage(dir: string, index: StorageIndex): Promise<RecoveryReport> {
  const report: RecoveryReport = { tempRemoved: [], reindexed: [], droppedRows: [], quarantined: [] };
  const onDisk = new Set<string>();
  for (const path of await walk(dir)) {
    const name = relative(dir, path).split(sep).join('/');
    if (name.startsWith(`${QUARANTINE_DIR}/`) || name.startsWith(`${EXPORTS_DIR}/`) || !name.includes('/')) continue;
    if (name.endsWith('.tmp')) {
      await unlink(path);
      report.tempRemoved.push(name);
      continue;
    }
    if (!name.endsWith(VAULT_FILE_EXTENSION)) continue;
    const parsed = parseVaultFileName(name);
    const problem = parsed ? await headerProblem(path) : 'file name is not a vault file name';
    if (problem) {
      await quarantine(dir, name);
      index.removeFile(name);
      report.quarantined.push({ name, reason: problem });
      continue;
    }
    onDisk.add(name);
    if (index.file(name) || !parsed) continue;
    const { size } = await stat(path);
    index.addFile({ name, camera: parsed.camera, kind: parsed.kind, startMs: parsed.startMs, endMs: parsed.endMs, size, eventId: parsed.eventId ?? null });
    if (parsed.eventId && !index.event(parsed.eventId)) {
      index.upsertEvent({ id: parsed.eventId, camera: parsed.camera, startMs: parsed.startMs, endMs: parsed.endMs });
    }
    report.reindexed.push(name);
  }
  for (const row of index.allFiles()) {
    if (onDisk.has(row.name)) continue;
    index.removeFile(row.name);
    report.droppedRows.push(row.name);
  }
  return report;
}

async function headerProblem(path: string): Promise<string | undefined> {
  try {
    await readHeader(path);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

async function quarantine(dir: string, name: string): Promise<void> {
  const target = join(dir, QUARANTINE_DIR, name);
  await mkdir(dirname(target), { recursive: true });
  await rename(join(dir, name), target);
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}
