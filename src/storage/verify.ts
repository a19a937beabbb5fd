import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { verifyFile } from '../vault/files.ts';
import type { FileKeyOpener } from '../vault/format.ts';
import { VAULT_FILE_EXTENSION } from './file-names.ts';
import { EXPORTS_DIR, QUARANTINE_DIR } from './recovery.ts';
import type { StorageIndex } from './storage-index.ts';

export interface VerifyReport {
  authenticated: number;
  bytes: number;
  failed: { name: string; code: string; message: string }[];
  /** Index rows whose file is missing. */
  missing: string[];
  /** Vault files the index does not know. */
  unindexed: string[];
}

/** Authenticates every vault file in full and compares the directory with the index. Changes nothing. */
export async function verifyStorage(dir: string, index: StorageIndex, vault: FileKeyOpener, onProgress?: (done: number, total: number) => void): Promise<VerifyReport> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const names = entries
    .filter((e) => e.isFile() && e.name.endsWith(VAULT_FILE_EXTENSION))
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .filter((name) => !name.startsWith(`${QUARANTINE_DIR}/`) && !name.startsWith(`${EXPORTS_DIR}/`))
    .sort();
  const report: VerifyReport = { authenticated: 0, bytes: 0, failed: [], missing: [], unindexed: [] };
  for (const [i, name] of names.entries()) {
    const result = await verifyFile(join(dir, name), vault);
    if (result.ok) {
      report.authenticated += 1;
      report.bytes += result.plaintextBytes;
    } else {
      report.failed.push({ name, code: result.code, message: result.message });
    }
    if (!index.file(name)) report.unindexed.push(name);
    onProgress?.(i + 1, names.length);
  }
  const onDisk = new Set(names);
  report.missing = index.allFiles().filter((row) => !onDisk.has(row.name)).map((row) => row.name);
  return report;
}
