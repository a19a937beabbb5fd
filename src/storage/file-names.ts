/**
 * Vault file names carry exactly what the plaintext index holds (camera, kind, time span, event id),
 * so the index can be rebuilt from the directory alone. Nothing else about the footage is readable.
 *   <camera>/<YYYY-MM-DD>/<kind>-<startMs>-<endMs>[-<eventId>].volet
 */
export type StoredKind = 'segment' | 'snapshot' | 'metadata';

export interface StoredFileName {
  camera: string;
  kind: StoredKind;
  startMs: number;
  endMs: number;
  eventId?: string;
}

export const VAULT_FILE_EXTENSION = '.volet';
const NAME = /^([a-z0-9_-]{1,32})\/(\d{4}-\d{2}-\d{2})\/(segment|snapshot|metadata)-(\d{1,15})-(\d{1,15})(?:-([A-Za-z0-9-]{1,64}))?\.volet$/;
const EVENT_ID = /^[A-Za-z0-9-]{1,64}$/;

export function vaultFileName(file: StoredFileName): string {
  if (file.eventId !== undefined && !EVENT_ID.test(file.eventId)) throw new Error(`invalid event id ${JSON.stringify(file.eventId)}`);
  const day = new Date(file.startMs).toISOString().slice(0, 10);
  const suffix = file.eventId ? `-${file.eventId}` : '';
  return `${file.camera}/${day}/${file.kind}-${Math.round(file.startMs)}-${Math.round(file.endMs)}${suffix}${VAULT_FILE_EXTENSION}`;
}

/** Inverse of vaultFileName; undefined for anything that is not a well-formed vault file name. */
export function parseVaultFileName(relativePath: string): StoredFileName | undefined {
  const m = NAME.exec(relativePath.split('\\').join('/'));
  if (!m) return undefined;
  const [, camera, day, kind, start, end, eventId] = m;
  const startMs = Number(start);
  const endMs = Number(end);
  if (endMs < startMs || new Date(startMs).toISOString().slice(0, 10) !== day) return undefined;
  return { camera, kind: kind as StoredKind, startMs, endMs, ...(eventId ? { eventId } : {}) };
}
