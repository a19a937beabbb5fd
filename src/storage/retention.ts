import type { EventRow, FileRow } from './storage-index.ts';

export interface RetentionPolicy {
  continuousDays: number;
  eventDays: number;
  /** Free space to keep on the disk, in bytes (from minFreeGb and minFreePercent, whichever is larger). */
  minFreeBytes: number;
  /** Optional cap on the bytes Volet's files may use. */
  maxBytes?: number;
  /** Footage kept around an event: segments overlapping [start − before, end + after] belong to it. */
  eventPaddingMs: { before: number; after: number };
}

export interface DiskState {
  freeBytes: number;
}

export interface RetentionPlan {
  /** Files to delete, in the order to delete them, each with why. */
  deletions: { file: FileRow; reason: 'continuous-age' | 'event-age' | 'space' }[];
  /** Event rows to drop because all their footage goes. */
  forgetEvents: string[];
  /** Bytes still missing after every allowed deletion (only protected footage is left). */
  shortfallBytes: number;
}

const DAY_MS = 86_400_000;

interface Unit {
  files: FileRow[];
  bytes: number;
  /** Time that ages the unit: end of a continuous segment, start of the youngest owning event. */
  ageFrom: number;
  event?: EventRow;
}

/**
 * Decides what to delete. Continuous footage goes first, then whole events, oldest first; kept
 * events and footage belonging to a running event are never deleted. Pure: rows in, plan out.
 */
export function planRetention(files: readonly FileRow[], events: readonly EventRow[], policy: RetentionPolicy, disk: DiskState, nowMs: number): RetentionPlan {
  const { continuous, byEvent } = classify(files, events, policy, nowMs);
  const deletions: RetentionPlan['deletions'] = [];
  const forgetEvents: string[] = [];
  const usedBytes = files.reduce((sum, f) => sum + f.size, 0);
  let needBytes = Math.max(policy.minFreeBytes - disk.freeBytes, policy.maxBytes === undefined ? 0 : usedBytes - policy.maxBytes);

  const remove = (unit: Unit, reason: RetentionPlan['deletions'][number]['reason']) => {
    for (const file of unit.files) deletions.push({ file, reason });
    if (unit.event) forgetEvents.push(unit.event.id);
    needBytes -= unit.bytes;
  };

  const continuousByAge = [...continuous].sort((a, b) => a.ageFrom - b.ageFrom);
  const eventsByAge = [...byEvent.values()].sort((a, b) => a.ageFrom - b.ageFrom);
  const keptContinuous = continuousByAge.filter((u) => {
    if (nowMs - u.ageFrom <= policy.continuousDays * DAY_MS) return true;
    remove(u, 'continuous-age');
    return false;
  });
  const keptEvents = eventsByAge.filter((u) => {
    if (nowMs - u.ageFrom <= policy.eventDays * DAY_MS) return true;
    remove(u, 'event-age');
    return false;
  });
  for (const unit of [...keptContinuous, ...keptEvents]) {
    if (needBytes <= 0) break;
    if (unit.bytes === 0) continue;
    remove(unit, 'space');
  }
  return { deletions, forgetEvents, shortfallBytes: Math.max(0, needBytes) };
}

function classify(files: readonly FileRow[], events: readonly EventRow[], policy: RetentionPolicy, nowMs: number) {
  const eventsByCamera = new Map<string, EventRow[]>();
  for (const e of events) eventsByCamera.set(e.camera, [...(eventsByCamera.get(e.camera) ?? []), e]);
  const eventsById = new Map(events.map((e) => [e.id, e]));
  const continuous: Unit[] = [];
  const byEvent = new Map<string, Unit>();

  for (const file of files) {
    const owners = file.eventId
      ? [eventsById.get(file.eventId)].filter((e): e is EventRow => e !== undefined)
      : (eventsByCamera.get(file.camera) ?? []).filter((e) => overlaps(file, e, policy, nowMs));
    if (owners.some((e) => e.kept || e.endMs === null)) {
      continue;
    }
    if (owners.length === 0) {
      continuous.push({ files: [file], bytes: file.size, ageFrom: file.endMs });
      continue;
    }
    const youngest = owners.reduce((a, b) => (b.startMs > a.startMs ? b : a));
    const unit = byEvent.get(youngest.id) ?? { files: [], bytes: 0, ageFrom: youngest.startMs, event: youngest };
    unit.files.push(file);
    unit.bytes += file.size;
    byEvent.set(youngest.id, unit);
  }
  // Events whose files are all gone still age out of the index.
  for (const e of events) {
    if (!e.kept && e.endMs !== null && !byEvent.has(e.id) && !files.some((f) => f.eventId === e.id)) {
      byEvent.set(e.id, { files: [], bytes: 0, ageFrom: e.startMs, event: e });
    }
  }
  return { continuous, byEvent };
}

function overlaps(file: FileRow, event: EventRow, policy: RetentionPolicy, nowMs: number): boolean {
  const from = event.startMs - policy.eventPaddingMs.before;
  const to = (event.endMs ?? nowMs) + policy.eventPaddingMs.after;
  return file.endMs >= from && file.startMs <= to;
}
