import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/storage/database.ts';
import { runRetentionPass } from '../../src/storage/retention-pass.ts';
import type { DeletionReason, DiskState, RetentionPolicy } from '../../src/storage/retention.ts';
import { StorageIndex, type EventRow, type FileRow } from '../../src/storage/storage-index.ts';

const DAY = 86_400_000;
const NOW = 100 * DAY;
const policy: RetentionPolicy = { continuousDays: 7, eventDays: 30, minFreeBytes: 0, eventPaddingMs: { before: 5000, after: 5000 } };

interface Plan {
  deletions: { file: FileRow; reason: DeletionReason }[];
  forgetEvents: string[];
  shortfallBytes: number;
}

/**
 * The policy's cases, run by the batched pass on a real index (SQLite in memory) with every page
 * size from one row up: paging must never change what goes. Deleting a file here drops its row.
 */
async function planRetention(files: FileRow[], events: EventRow[], p: RetentionPolicy, disk: DiskState, nowMs: number): Promise<Plan> {
  let first: Plan | undefined;
  for (const batchSize of [1, 2, 3, 500]) {
    const db = openDatabase(':memory:');
    const index = new StorageIndex(db);
    for (const f of files) index.addFile(f);
    for (const e of events) {
      index.upsertEvent(e);
      if (e.kept) index.setKept(e.id, true);
    }
    const deletions: Plan['deletions'] = [];
    const report = await runRetentionPass({
      index,
      deleteFiles: async (rows, reason) => {
        index.removeFiles(rows.map((r) => r.name));
        deletions.push(...rows.map((file) => ({ file, reason })));
        return rows;
      },
      policy: p,
      disk,
      nowMs,
      batchSize,
    });
    const plan = { deletions, forgetEvents: events.filter((e) => !index.event(e.id)).map((e) => e.id), shortfallBytes: report.shortfallBytes };
    db.close();
    if (first) assert.deepEqual(plan, first, `page size ${batchSize} decides like page size 1`);
    first ??= plan;
  }
  return first!;
}

function segment(startMs: number, size = 100, camera = 'porch'): FileRow {
  return { name: `${camera}/${startMs}`, camera, kind: 'segment', startMs, endMs: startMs + 4000, size, eventId: null };
}
function event(id: string, startMs: number, endMs: number | null, kept = false): EventRow {
  return { id, camera: 'porch', startMs, endMs, kept };
}
const names = (plan: Plan) => plan.deletions.map((d) => d.file.name);

test('continuous footage older than its retention goes, younger stays', async () => {
  const old = segment(NOW - 8 * DAY);
  const young = segment(NOW - 6 * DAY);
  const plan = await planRetention([old, young], [], policy, { freeBytes: 1e12 }, NOW);
  assert.deepEqual(names(plan), [old.name]);
  assert.equal(plan.deletions[0].reason, 'continuous-age');
});

test('a segment covered by an event under retention outlives continuous retention', async () => {
  const start = NOW - 10 * DAY;
  const covered = segment(start);
  const snapshot: FileRow = { ...segment(start), name: 'snap', kind: 'snapshot', eventId: 'e1' };
  const plan = await planRetention([covered, snapshot], [event('e1', start + 1000, start + 3000)], policy, { freeBytes: 1e12 }, NOW);
  assert.deepEqual(plan.deletions, []);
});

test('event footage and its row go together once the event is older than its retention', async () => {
  const start = NOW - 31 * DAY;
  const covered = segment(start);
  const snapshot: FileRow = { ...segment(start), name: 'snap', kind: 'snapshot', eventId: 'e1' };
  const plan = await planRetention([covered, snapshot], [event('e1', start + 1000, start + 3000)], policy, { freeBytes: 1e12 }, NOW);
  assert.deepEqual(names(plan).sort(), [covered.name, 'snap'].sort());
  assert.deepEqual(plan.forgetEvents, ['e1']);
});

test('a kept event is never deleted, not even when the disk is full', async () => {
  const start = NOW - 300 * DAY;
  const covered = segment(start, 1000);
  const plan = await planRetention([covered], [event('e1', start, start + 2000, true)], { ...policy, minFreeBytes: 5000 }, { freeBytes: 0 }, NOW);
  assert.deepEqual(plan.deletions, []);
  assert.equal(plan.shortfallBytes, 5000);
});

test('footage of a running event is never deleted', async () => {
  const start = NOW - 60_000;
  const plan = await planRetention([segment(start, 1000)], [event('e1', start, null)], { ...policy, minFreeBytes: 10 }, { freeBytes: 0 }, NOW);
  assert.deepEqual(plan.deletions, []);
});

test('when space runs out, oldest continuous footage goes first, then oldest events', async () => {
  const c1 = segment(NOW - 3 * DAY, 100);
  const c2 = segment(NOW - 2 * DAY, 100);
  const e1Seg = segment(NOW - 5 * DAY, 100);
  const e2Seg = segment(NOW - 4 * DAY, 100);
  const events = [event('e1', e1Seg.startMs, e1Seg.endMs), event('e2', e2Seg.startMs, e2Seg.endMs)];
  const files = [c1, c2, e1Seg, e2Seg];

  const small = await planRetention(files, events, { ...policy, minFreeBytes: 150 }, { freeBytes: 0 }, NOW);
  assert.deepEqual(names(small), [c1.name, c2.name]);
  assert.ok(small.deletions.every((d) => d.reason === 'space'));

  const large = await planRetention(files, events, { ...policy, minFreeBytes: 350 }, { freeBytes: 0 }, NOW);
  assert.deepEqual(names(large), [c1.name, c2.name, e1Seg.name, e2Seg.name]);
  assert.deepEqual(large.forgetEvents, ['e1', 'e2']);
});

test('a byte budget is enforced like a disk watermark', async () => {
  const files = [segment(NOW - 3 * DAY, 400), segment(NOW - 2 * DAY, 400), segment(NOW - 1 * DAY, 400)];
  const plan = await planRetention(files, [], { ...policy, maxBytes: 900 }, { freeBytes: 1e12 }, NOW);
  assert.deepEqual(names(plan), [files[0].name]);
});

test('cameras do not share events', async () => {
  const other = segment(NOW - 10 * DAY, 100, 'garden');
  const plan = await planRetention([other], [event('e1', other.startMs, other.endMs)], policy, { freeBytes: 1e12 }, NOW);
  assert.deepEqual(names(plan), [other.name]);
});
