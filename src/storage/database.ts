import Database from 'better-sqlite3';
import { dirname } from 'node:path';
import type { Logger } from '../log/logger.ts';
import { migrate } from './migrations.ts';
import { ensurePrivateDir, ensurePrivateFile, tightenFile, type Tightened } from './private-files.ts';

export type Db = Database.Database;

/**
 * Opens (creating if needed) Volet's one SQLite file in WAL mode and brings its schema up to date
 * with the numbered migrations in migrations.ts (`PRAGMA user_version`); repositories assume the
 * schema and never create tables. A file written by a newer Volet is refused (NewerSchemaError).
 *
 * The file holds password hashes, TOTP secrets and the VAPID private key: it and its directory are
 * created 0600/0700 whatever the umask (SQLite gives -wal and -shm the database file's mode), and
 * looser modes left by an older version are tightened, with a warning.
 */
export function openDatabase(path: string, logger?: Pick<Logger, 'warn' | 'info'>): Db {
  if (path !== ':memory:') {
    const tightened = [ensurePrivateDir(dirname(path)), ensurePrivateFile(path), tightenFile(`${path}-wal`), tightenFile(`${path}-shm`)];
    for (const change of tightened.filter((t): t is Tightened => t !== undefined)) {
      if (logger) logger.warn(change, 'storage: was readable by other users; mode tightened');
      else process.stderr.write(`volet: ${change.path} was readable by other users (mode ${change.from}); now ${change.to}\n`);
    }
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  try {
    migrate(db, logger);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
