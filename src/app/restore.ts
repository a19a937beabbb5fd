import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BackupTarget } from '../backup/target.ts';
import { openDatabase } from '../storage/database.ts';
import { parseVaultFileName } from '../storage/file-names.ts';
import { EXPORTS_DIR, QUARANTINE_DIR, recoverStorage } from '../storage/recovery.ts';
import { StorageIndex } from '../storage/storage-index.ts';
import { decryptFileToBuffer, verifyFile } from '../vault/files.ts';
import { KEY_FILE_NAME } from '../vault/keyfile.ts';
import { Vault } from '../vault/vault.ts';
import { INDEX_EXPORT_NAME, type IndexExport } from './backup.ts';

export interface RestoreReport {
  downloaded: number;
  authenticated: number;
  quarantined: { name: string; reason: string }[];
  events: number;
}

/**
 * Rebuilds a storage directory from a backup target: downloads the vault key and every vault file,
 * authenticates each one with the passphrase (failures go to quarantine/), and rebuilds the index
 * from the file names plus the sealed index export.
 */
export async function restoreFromTarget(
  target: BackupTarget,
  dir: string,
  passphrase: string,
  onProgress?: (done: number, total: number) => void,
): Promise<RestoreReport> {
  const remote = await target.list();
  const names = remote.map((f) => f.name);
  if (!names.includes(KEY_FILE_NAME)) throw new Error(`backup target "${target.name}" has no ${KEY_FILE_NAME}: nothing to restore`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await target.get(KEY_FILE_NAME, join(dir, KEY_FILE_NAME));
  const vault = await Vault.open(dir);
  await vault.unlock(passphrase);
  try {
    const wanted = names.filter((n) => parseVaultFileName(n) !== undefined || n === INDEX_EXPORT_NAME);
    const report: RestoreReport = { downloaded: 0, authenticated: 0, quarantined: [], events: 0 };
    for (const [i, name] of wanted.entries()) {
      const local = name === INDEX_EXPORT_NAME ? join(dir, EXPORTS_DIR, INDEX_EXPORT_NAME) : join(dir, name);
      await mkdir(dirname(local), { recursive: true });
      await target.get(name, local);
      report.downloaded += 1;
      const result = await verifyFile(local, vault);
      if (result.ok) report.authenticated += 1;
      else {
        const quarantined = join(dir, QUARANTINE_DIR, name);
        await mkdir(dirname(quarantined), { recursive: true });
        await rename(local, quarantined);
        report.quarantined.push({ name, reason: result.message });
      }
      onProgress?.(i + 1, wanted.length);
    }
    const db = openDatabase(join(dir, 'volet.db'));
    try {
      const index = new StorageIndex(db);
      await recoverStorage(dir, index);
      const exportPath = join(dir, EXPORTS_DIR, INDEX_EXPORT_NAME);
      if (names.includes(INDEX_EXPORT_NAME) && !report.quarantined.some((q) => q.name === INDEX_EXPORT_NAME)) {
        const exported = JSON.parse((await decryptFileToBuffer(exportPath, vault)).toString('utf8')) as IndexExport;
        for (const event of exported.events) {
          index.upsertEvent({ id: event.id, camera: event.camera, startMs: event.startMs, endMs: event.endMs });
          if (event.kept) index.setKept(event.id, true);
        }
      }
      report.events = index.events({ limit: Number.MAX_SAFE_INTEGER }).length;
    } finally {
      db.close();
    }
    return report;
  } finally {
    vault.lock();
  }
}
