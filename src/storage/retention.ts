/**
 * The retention policy as pure decisions over one batch of rows; `retention-pass.ts` feeds them
 * bounded pages from the index. Continuous footage goes first, then whole events, oldest first;
 * kept events and footage belonging to a running event are never deleted.
 */

import type { EventRow, FileRow } from './storage-index.ts';

export interface RetentionPolicy {
  continuousDays: number;
  eventDays: number;
  /** Free space to keep on the disk, in bytes (from minFreeGb and minFreePercent, whichever is larger). */
  minFreeBytes: number;
  /** Optional cap on the bytes Volet's files may use. */
  maxBytes?: number;
  /** Footage kept around an event: segments overlapping [start − before, end + after] belong to it. */
  eventPaddingMs: EventPadding;
}

export interface EventPadding {
  before: number;
  after: number;
}

export interface DiskState {
  freeBytes: number;
}

export type DeletionReason = 'continuous-age' | 'event-age' | 'space';

export const DAY_MS = 86_400_000;

/** Bytes to free now: what the free-space floor or the byte cap asks for, whichever is more. */
export function bytesToFree(policy: RetentionPolicy, disk: DiskState, usedBytes: number): number {
  return Math.max(0, policy.minFreeBytes - disk.freeBytes, policy.maxBytes === undefined ? 0 : usedBytes - policy.maxBytes);
}

export type Ownership = { kind: 'continuous' } | { kind: 'protected' } | { kind: 'event'; event: EventRow };

/**
 * Who a file belongs to. A file with an event id belongs to that event only (to nobody if the event
 * is gone); a segment to every event of its camera whose padded span it overlaps. A kept or running
 * owner protects it; otherwise it goes with its youngest owner. `events` may hold any other events.
 */
export function ownerOf(file: FileRow, events: readonly EventRow[], padding: EventPadding, nowMs: number): Ownership {
  const owners = events.filter((e) => (file.eventId ? e.id === file.eventId : e.camera === file.camera && overlaps(file, e, padding, nowMs)));
  if (owners.length === 0) return { kind: 'continuous' };
  if (owners.some((e) => e.kept || e.endMs === null)) return { kind: 'protected' };
  const youngest = owners.reduce((a, b) => (b.startMs > a.startMs || (b.startMs === a.startMs && b.id > a.id) ? b : a));
  return { kind: 'event', event: youngest };
}

/** The files of a batch that belong to no event. */
export function continuousFiles(files: readonly FileRow[], events: readonly EventRow[], padding: EventPadding, nowMs: number): FileRow[] {
  return files.filter((f) => ownerOf(f, events, padding, nowMs).kind === 'continuous');
}

/** The files of a batch that go when `event` goes: those whose youngest owner it is, unless protected. */
export function filesOwnedBy(event: EventRow, files: readonly FileRow[], events: readonly EventRow[], padding: EventPadding, nowMs: number): FileRow[] {
  return files.filter((f) => {
    const owner = ownerOf(f, events, padding, nowMs);
    return owner.kind === 'event' && owner.event.id === event.id;
  });
}

/** The shortest prefix of `files` (empty files skipped) whose bytes cover `needBytes`. */
export function filesToFree(files: readonly FileRow[], needBytes: number): FileRow[] {
  const chosen: FileRow[] = [];
  for (const file of files) {
    if (needBytes <= 0) break;
    if (file.size === 0) continue;
    chosen.push(file);
    needBytes -= file.size;
  }
  return chosen;
}

/** Continuous files ending before this are older than their retention. */
export const continuousCutoffMs = (policy: RetentionPolicy, nowMs: number): number => nowMs - policy.continuousDays * DAY_MS;
/** Events starting before this are older than their retention. */
export const eventCutoffMs = (policy: RetentionPolicy, nowMs: number): number => nowMs - policy.eventDays * DAY_MS;

function overlaps(file: FileRow, event: EventRow, padding: EventPadding, nowMs: number): boolean {
  return file.endMs >= event.startMs - padding.before && file.startMs <= (event.endMs ?? nowMs) + padding.after;
}
