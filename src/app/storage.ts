import { existsSync } from 'node:fs';
import { mkdir, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { VoletConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import { openDatabase, type Db } from '../storage/database.ts';
import { ensurePrivateDir, tightenFile } from '../storage/private-files.ts';
import { reconcileStorage, type RecoveryReport } from '../storage/recovery.ts';
import { RetentionRunner } from '../storage/retention-runner.ts';
import { StorageIndex, type FileRow } from '../storage/storage-index.ts';
import { VaultStore } from '../storage/vault-store.ts';
import { keyFilePath } from '../vault/keyfile.ts';
import { logSodiumBinding } from '../vault/sodium.ts';
import { Vault, type VaultOptions } from '../vault/vault.ts';

export interface OpenStorage {
  dir: string;
  db: Db;
  index: StorageIndex;
  /** Undefined until the vault is initialised: nothing is recorded without it. */
  vault?: Vault;
  store?: VaultStore;
  retention?: RetentionRunner;
  /**
   * The background reconciliation after an unclean shutdown (undefined after a clean one: the
   * index is trusted and the directory is not read). Recording does not wait for it.
   */
  reconciliation?: Promise<RecoveryReport>;
  /** Creates the vault (first setup) and makes recording possible. */
  initVault(passphrase: string): Promise<Vault>;
  /** Stops retention and reconciliation, marks a clean shutdown if the index is known to match, closes the index. */
  close(): Promise<void>;
}

const TMPFS_MAGIC = 0x01021994;

/**
 * Opens the data directory: index, vault public key, retention; after an unclean shutdown, a
 * reconciliation of the directory runs in the background (openStorage does not wait for it).
 */
export async function openStorage(
  config: VoletConfig,
  logger: Logger,
  vaultOptions: VaultOptions = {},
  onStored?: (row: FileRow) => void,
): Promise<OpenStorage> {
  const dir = resolve(config.storage.path);
  logSodiumBinding(logger);
  for (const loose of [ensurePrivateDir(dir), tightenFile(keyFilePath(dir))]) {
    if (loose) logger.warn(loose, 'storage: was readable by other users; mode tightened');
  }
  await assertRamCache(config.storage.cachePath);
  const db = openDatabase(join(dir, 'volet.db'), logger);
  const index = new StorageIndex(db);
  let stopping = false;
  let reconciled = index.takeCleanShutdown();
  const abandoned = index.closeAbandonedEvents();
  if (abandoned > 0) logger.warn({ events: abandoned }, 'storage: closed events the last run left open (it stopped while they ran)');
  let reconciliation: Promise<RecoveryReport> | undefined;
  if (reconciled) logger.info('storage: last shutdown was clean; the directory is not walked');
  else {
    logger.warn('storage: last shutdown was not clean; reconciling recent and oldest days with the index in the background');
    reconciliation = reconcileStorage(dir, index, { scope: 'crash', ownWritesFromMs: Date.now(), shouldStop: () => stopping });
    reconciliation.then(
      (report) => {
        logRecovery(logger, report);
        reconciled = !report.stopped;
      },
      (err: Error) => logger.error({ err: err.message }, 'recovery: reconciling the storage directory failed; "volet verify" checks it in full'),
    );
  }

  const padding = Math.max(0, ...Object.values(config.cameras).map((c) => Math.max(c.record.preRollSeconds, c.record.postRollSeconds)));
  const storage: OpenStorage = {
    dir,
    db,
    index,
    async initVault(passphrase) {
      if (storage.vault) throw new Error('the vault is already initialised');
      await Vault.init(dir, passphrase);
      return attach();
    },
    reconciliation,
    async close() {
      stopping = true;
      storage.retention?.stop();
      await Promise.all([storage.retention?.idle(), reconciliation?.catch(() => undefined)]);
      if (reconciled) index.markCleanShutdown();
      storage.vault?.lock();
      db.close();
    },
  };
  const attach = async (): Promise<Vault> => {
    const vault = await Vault.open(dir, vaultOptions);
    const store = new VaultStore({ dir, index, publicKey: vault.publicKey, logger, onStored, onDiskFull: (headroomBytes) => retention.makeRoom(headroomBytes) });
    const retention = new RetentionRunner({ store, index, retention: config.storage.retention, eventPaddingMs: { before: padding * 1000, after: padding * 1000 }, logger });
    retention.start();
    Object.assign(storage, { vault, store, retention });
    return vault;
  };
  if (existsSync(keyFilePath(dir))) {
    try {
      await attach();
    } catch (err) {
      await storage.close();
      throw err;
    }
  } else logger.warn({ dir }, 'vault not initialised: nothing is recorded until it is (web setup or "volet vault init")');
  return storage;
}

function logRecovery(logger: Logger, report: RecoveryReport): void {
  for (const name of report.tempRemoved) logger.warn({ file: name }, 'recovery: removed unfinished temp file');
  for (const name of report.reindexed) logger.warn({ file: name }, 'recovery: indexed vault file missing from the index');
  for (const name of report.droppedRows) logger.warn({ file: name }, 'recovery: dropped index row whose file is gone');
  for (const q of report.quarantined) logger.error({ file: q.name, reason: q.reason }, 'recovery: quarantined damaged file');
  logger.info({ days: report.daysChecked, stopped: report.stopped }, 'recovery: storage directory reconciled with the index');
}

/** Plaintext video may only ever sit in RAM: refuse a cache directory on a disk. */
async function assertRamCache(cachePath: string): Promise<void> {
  await mkdir(cachePath, { recursive: true, mode: 0o700 });
  const fs = await statfs(cachePath);
  if (fs.type !== TMPFS_MAGIC) {
    throw new Error(
      `storage.cachePath "${cachePath}" is not a RAM filesystem (tmpfs): plaintext video would touch a disk. ` +
        'Point it at /dev/shm/volet or another tmpfs mount.',
    );
  }
}
