import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BOX_ID = /^[a-z0-9_-]{1,32}$/;

/**
 * This box's stable name on the broker (topic prefix, Home Assistant unique ids): created once in
 * the storage directory, so it survives restarts and differs between boxes sharing a broker.
 * Not a secret.
 */
export function loadBoxId(storageDir: string): string {
  const path = join(storageDir, 'box-id');
  const existing = read(path);
  if (existing !== undefined) return existing;
  try {
    writeFileSync(path, `${randomBytes(5).toString('hex')}\n`, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const created = read(path);
  if (created === undefined) throw new Error(`${path} does not hold a box id (lowercase letters, digits, - and _): fix or delete it`);
  return created;
}

function read(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (!BOX_ID.test(text)) throw new Error(`${path} does not hold a box id (lowercase letters, digits, - and _): fix or delete it`);
  return text;
}
