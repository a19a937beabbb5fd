import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  bytesToFree,
  continuousCutoffMs,
  continuousFiles,
  eventCutoffMs,
  filesOwnedBy,
  filesToFree,
  type DeletionReason,
  type DiskState,
  type EventPadding,
  type RetentionPolicy,
} from './retention.ts';
import type { EventRow, FileCursor, FileRow, StorageIndex } from './storage-index.ts';

export interface RetentionPassOptions {
  index: StorageIndex;
  /** Deletes files (each file first, then its row) and returns the rows that are gone. */
  deleteFiles(files: FileRow[], reason: DeletionReason): Promise<FileRow[]>;
  policy: RetentionPolicy;
  disk: DiskState;
  nowMs: number;
  /** Rows read per step; the event loop gets a turn between steps. */
  batchSize?: number;
  /** Checked between steps: true ends the pass early (Volet is stopping). */
  shouldStop?: () => boolean;
  /** Told about each step: how many file rows it read and deleted. */
  onStep?: (step: { filesRead: number; deleted: number }) => void;
}

export interface RetentionReport {
  deletedFiles: number;
  deletedBytes: number;
  byReason: Record<DeletionReason, number>;
  forgottenEvents: number;
  /** Bytes still missing after every allowed deletion (only protected footage is left). */
  shortfallBytes: number;
  steps: number;
  stopped: boolean;
}

export const RETENTION_BATCH_SIZE = 500;

/**
 * One retention pass as indexed SQL in small steps, oldest first: aged continuous footage, aged
 * events, then — while the free-space floor or the byte cap still asks for bytes — the oldest
 * continuous footage and the oldest events. Each step reads at most `batchSize` file rows through
 * an index and yields to the event loop; the files table is never loaded whole.
 */
export async function runRetentionPass(opts: RetentionPassOptions): Promise<RetentionReport> {
  const { index, policy, nowMs } = opts;
  const limit = opts.batchSize ?? RETENTION_BATCH_SIZE;
  const padding = policy.eventPaddingMs;
  const report: RetentionReport = {
    deletedFiles: 0,
    deletedBytes: 0,
    byReason: { 'continuous-age': 0, 'event-age': 0, space: 0 },
    forgottenEvents: 0,
    shortfallBytes: 0,
    steps: 0,
    stopped: false,
  };
  let needBytes = bytesToFree(policy, opts.disk, index.usage().bytes);

  const remove = async (files: FileRow[], reason: DeletionReason, filesRead: number): Promise<number> => {
    const gone = files.length > 0 ? await opts.deleteFiles(files, reason) : [];
    const bytes = gone.reduce((sum, f) => sum + f.size, 0);
    report.deletedFiles += gone.length;
    report.deletedBytes += bytes;
    report.byReason[reason] += gone.length;
    report.steps += 1;
    needBytes -= bytes;
    opts.onStep?.({ filesRead, deleted: gone.length });
    return gone.length;
  };
  const stopping = () => (report.stopped ||= opts.shouldStop?.() ?? false);

  /** Continuous files oldest first; `take` picks from each page's continuous files, false ends the phase. */
  const continuousPhase = async (endBefore: number | undefined, reason: DeletionReason, take: (files: FileRow[]) => FileRow[] | false) => {
    let after: FileCursor | undefined;
    while (!stopping()) {
      const page = index.filesByAge({ after, endBefore, limit });
      if (page.length === 0) return;
      after = page[page.length - 1];
      const chosen = take(continuousFiles(page, eventsAround(index, page, padding), padding, nowMs));
      if (chosen === false) return;
      await remove(chosen, reason, page.length);
      if (page.length < limit) return;
      await yieldToLoop();
    }
  };

  /** Deletable events oldest first; `wanted` is asked before each event, false ends the phase. */
  const eventPhase = async (startBefore: number | undefined, reason: DeletionReason, wanted: () => boolean) => {
    let after: EventRow | undefined;
    while (!stopping()) {
      const events = index.deletableEventsByAge({ after, startBefore, limit: Math.max(1, Math.floor(limit / 10)) });
      if (events.length === 0) return;
      for (const event of events) {
        if (!wanted() || stopping()) return;
        const deleted = await removeEventFootage(event, reason);
        if (stopping()) return;
        const forget = reason === 'event-age' || deleted > 0;
        if (forget && !index.event(event.id)?.kept) {
          index.removeEvent(event.id);
          report.forgottenEvents += 1;
        }
        after = event;
      }
      await yieldToLoop();
    }
  };

  const removeEventFootage = async (event: EventRow, reason: DeletionReason): Promise<number> => {
    let after: FileRow | undefined;
    let deleted = 0;
    while (!stopping()) {
      const page = index.filesNearEvent(event, event.startMs - padding.before, (event.endMs ?? nowMs) + padding.after, index.longestFileMs(), { after, limit });
      if (page.length === 0) break;
      after = page[page.length - 1];
      if (index.event(event.id)?.kept) break;
      deleted += await remove(filesOwnedBy(event, page, eventsAround(index, page, padding), padding, nowMs), reason, page.length);
      if (page.length < limit) break;
      await yieldToLoop();
    }
    return deleted;
  };

  await continuousPhase(continuousCutoffMs(policy, nowMs), 'continuous-age', (files) => files);
  await eventPhase(eventCutoffMs(policy, nowMs), 'event-age', () => true);
  await continuousPhase(undefined, 'space', (files) => (needBytes <= 0 ? false : filesToFree(files, needBytes)));
  await eventPhase(undefined, 'space', () => needBytes > 0);
  report.shortfallBytes = report.stopped ? 0 : Math.max(0, needBytes);
  return report;
}

/** Every event that may own a file of the page: by id, and per camera those near the page's span. */
function eventsAround(index: StorageIndex, files: readonly FileRow[], padding: EventPadding): EventRow[] {
  const spans = new Map<string, { from: number; to: number }>();
  const ids = new Set<string>();
  for (const f of files) {
    if (f.eventId) {
      ids.add(f.eventId);
      continue;
    }
    const span = spans.get(f.camera);
    spans.set(f.camera, { from: Math.min(span?.from ?? f.startMs, f.startMs), to: Math.max(span?.to ?? f.endMs, f.endMs) });
  }
  const longest = spans.size > 0 ? index.longestEventMs() : 0;
  const events = index.eventsById([...ids]);
  for (const [camera, { from, to }] of spans) events.push(...index.eventsNear(camera, from - padding.after, to + padding.before, longest));
  return events;
}
