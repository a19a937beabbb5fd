import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { openDatabase, type Db } from '../../src/storage/database.ts';
import { runRetentionPass, type RetentionPassOptions } from '../../src/storage/retention-pass.ts';
import type { DeletionReason, RetentionPolicy } from '../../src/storage/retention.ts';
import { StorageIndex, type EventRow, type FileRow } from '../../src/storage/storage-index.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const SEGMENT_MS = 10_000;
const NOW = 1_000 * DAY;
const CAMERAS = ['porch', 'garden'];
const ROWS = 200_000;
const BATCH = 500;
const policy: RetentionPolicy = { continuousDays: 7, eventDays: 10, minFreeBytes: 0, eventPaddingMs: { before: 5_000, after: 10_000 } };
const KEPT = new Set(['porch-250', 'garden-260']);
const RUNNING = 'garden-80';

/**
 * 200,000 segments of 10 s (two cameras, about 11.6 days each), one 30 s event an hour per camera
 * with a snapshot, two old kept events and one event still running since day 8: written with one
 * prepared statement per table in one transaction.
 */
function syntheticIndex(db: Db): { files: FileRow[]; events: EventRow[] } {
  const perCamera = ROWS / CAMERAS.length;
  const first = NOW - perCamera * SEGMENT_MS;
  const files: FileRow[] = [];
  const events: EventRow[] = [];
  for (const camera of CAMERAS) {
    for (let i = 0; i < perCamera; i++) {
      const startMs = first + i * SEGMENT_MS;
      files.push({ name: `${camera}/segment-${startMs}`, camera, kind: 'segment', startMs, endMs: startMs + SEGMENT_MS, size: 1000 + (i % 7), eventId: null });
    }
    for (let h = 0; first + h * HOUR < NOW - HOUR; h++) {
      const id = `${camera}-${h}`;
      const startMs = first + h * HOUR + 1_234_567;
      const running = id === RUNNING;
      events.push({ id, camera, startMs, endMs: running ? null : startMs + 30_000, kept: KEPT.has(id) });
      files.push({ name: `${camera}/snapshot-${startMs}-${id}`, camera, kind: 'snapshot', startMs, endMs: startMs + 30_000, size: 50, eventId: id });
    }
  }
  const insertFile = db.prepare('INSERT INTO files (name, camera, kind, start_ms, end_ms, size, event_id) VALUES (@name, @camera, @kind, @startMs, @endMs, @size, @eventId)');
  const insertEvent = db.prepare('INSERT INTO events (id, camera, start_ms, end_ms, kept) VALUES (@id, @camera, @startMs, @endMs, @kept)');
  db.transaction(() => {
    for (const f of files) insertFile.run(f);
    for (const e of events) insertEvent.run({ ...e, kept: e.kept ? 1 : 0 });
  })();
  return { files, events };
}

/** The policy written out plainly (O(files × events)), to check the batched pass against. */
function owners(file: FileRow, events: EventRow[]): EventRow[] {
  if (file.eventId) return events.filter((e) => e.id === file.eventId);
  const { before, after } = policy.eventPaddingMs;
  return events.filter((e) => e.camera === file.camera && file.endMs >= e.startMs - before && file.startMs <= (e.endMs ?? NOW) + after);
}

const template = mkdtempSync(join(tmpdir(), 'volet-retention-batch-'));
let data: { files: FileRow[]; events: EventRow[] } | undefined;
after(() => rmSync(template, { recursive: true, force: true }));

/** Each test gets its own copy of one generated index (generating takes seconds; copying does not). */
function withIndex(fn: (index: StorageIndex, data: { files: FileRow[]; events: EventRow[] }) => Promise<void>) {
  return async () => {
    if (!data) {
      const db = openDatabase(join(template, 'volet.db'));
      data = syntheticIndex(db);
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    }
    const dir = mkdtempSync(join(tmpdir(), 'volet-retention-batch-'));
    copyFileSync(join(template, 'volet.db'), join(dir, 'volet.db'));
    const db = openDatabase(join(dir, 'volet.db'));
    try {
      await fn(new StorageIndex(db), data);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

async function pass(index: StorageIndex, extra: Partial<RetentionPassOptions> = {}) {
  const deletions: { file: FileRow; reason: DeletionReason }[] = [];
  const steps: { filesRead: number; deleted: number }[] = [];
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const report = await runRetentionPass({
    index,
    deleteFiles: async (files, reason) => {
      index.removeFiles(files.map((f) => f.name));
      deletions.push(...files.map((file) => ({ file, reason })));
      return files;
    },
    policy,
    disk: { freeBytes: 1e15 },
    nowMs: NOW,
    batchSize: BATCH,
    onStep: (step) => steps.push(step),
    ...extra,
  });
  lag.disable();
  return { report, deletions, steps, worstLagMs: lag.max / 1e6 };
}

test('on 200,000 rows, a pass deletes exactly what the policy says, oldest first, in bounded steps', withIndex(async (index, { files, events }) => {
  const { report, deletions, steps, worstLagMs } = await pass(index);

  const expected = files.filter((f) => {
    const own = owners(f, events);
    if (own.length === 0) return f.endMs < NOW - policy.continuousDays * DAY;
    if (own.some((e) => e.kept || e.endMs === null)) return false;
    return Math.max(...own.map((e) => e.startMs)) < NOW - policy.eventDays * DAY;
  });
  assert.ok(expected.length > 20_000, `a real backlog (${expected.length} files)`);
  assert.deepEqual(deletions.map((d) => d.file.name).sort(), expected.map((f) => f.name).sort());
  assert.equal(index.usage().files, files.length - expected.length, 'the maintained totals follow the deletions');

  const continuous = deletions.filter((d) => d.reason === 'continuous-age').map((d) => d.file.endMs);
  assert.deepEqual(continuous, [...continuous].sort((a, b) => a - b), 'continuous footage goes oldest first');
  const eventOrder = deletions.filter((d) => d.reason === 'event-age' && d.file.eventId).map((d) => d.file.startMs);
  assert.deepEqual(eventOrder, [...eventOrder].sort((a, b) => a - b), 'events go oldest first');
  const reasons = deletions.map((d) => d.reason);
  assert.ok(reasons.indexOf('event-age') > reasons.lastIndexOf('continuous-age'), 'continuous before events');

  for (const id of [...KEPT, RUNNING]) assert.ok(index.event(id), `${id} is still indexed`);
  const oldEvents = events.filter((e) => !e.kept && e.endMs !== null && e.startMs < NOW - policy.eventDays * DAY);
  assert.equal(report.forgottenEvents, oldEvents.length);
  for (const e of oldEvents) assert.equal(index.event(e.id), undefined, `${e.id} is forgotten`);

  assert.ok(steps.length > expected.length / BATCH, `${steps.length} steps`);
  assert.ok(steps.every((s) => s.filesRead <= BATCH && s.deleted <= BATCH), 'no step reads more than one page of files');
  process.stdout.write(`# retention pass on ${ROWS} rows: ${deletions.length} files in ${steps.length} steps, worst event-loop lag ${worstLagMs.toFixed(1)} ms\n`);
}));

test('when the disk must be emptied, only footage of kept and running events is left', withIndex(async (index, { files, events }) => {
  const { report } = await pass(index, { policy: { ...policy, continuousDays: 3650, eventDays: 3650, maxBytes: 0 } });

  const protectedFiles = files.filter((f) => owners(f, events).some((e) => e.kept || e.endMs === null));
  assert.ok(protectedFiles.length > 1000, 'the running event protects days of footage');
  assert.deepEqual(index.allFiles().map((f) => f.name).sort(), protectedFiles.map((f) => f.name).sort());
  assert.equal(report.shortfallBytes, protectedFiles.reduce((sum, f) => sum + f.size, 0));
  assert.ok(report.byReason.space > 0 && report.byReason['continuous-age'] === 0);
}));

test('a byte cap takes the oldest continuous footage first and stops as soon as it is met', withIndex(async (index, { files, events }) => {
  const used = index.usage().bytes;
  const { deletions, report } = await pass(index, { policy: { ...policy, continuousDays: 3650, eventDays: 3650, maxBytes: used - 1_000_000 } });

  assert.ok(deletions.every((d) => d.reason === 'space' && owners(d.file, events).length === 0), 'only continuous footage');
  const freed = deletions.reduce((sum, d) => sum + d.file.size, 0);
  assert.ok(freed >= 1_000_000 && freed - deletions.at(-1)!.file.size < 1_000_000, 'no file more than needed');
  const oldestLeft = index.allFiles().reduce((min, f) => (owners(f, events).length === 0 ? Math.min(min, f.endMs) : min), Infinity);
  assert.ok(deletions.every((d) => d.file.endMs <= oldestLeft), 'what went is older than any continuous footage left');
  assert.equal(report.shortfallBytes, 0);
  assert.equal(files.length - deletions.length, index.usage().files);
}));

test('a pass told to stop ends at its next step', withIndex(async (index) => {
  let steps = 0;
  const { report } = await pass(index, { shouldStop: () => steps >= 3, onStep: () => void (steps += 1) });
  assert.equal(report.stopped, true);
  assert.equal(report.steps, 3);
}));
