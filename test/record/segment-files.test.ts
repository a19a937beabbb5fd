import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SegmentFiles } from '../../src/record/segment-files.ts';

test('a segment is finished once the next file of its run exists, or when the run ends', () => {
  const files = new SegmentFiles();
  files.newRun('100');
  assert.deepEqual(files.seen(['100-000000.ts'], 1000), []);
  assert.deepEqual(files.seen(['100-000000.ts'], 1500), [], 'no news');
  assert.deepEqual(files.seen(['100-000000.ts', '100-000001.ts'], 11_000), [{ name: '100-000000.ts', startMs: 1000 }]);
  files.ended(10_950);
  assert.deepEqual(files.seen(['100-000001.ts', '100-000002.ts', '100-000003.ts'], 31_000), [
    { name: '100-000001.ts', startMs: 10_950 },
    { name: '100-000002.ts', startMs: 31_000 },
  ], 'two at once after a missed scan, in order');
  assert.deepEqual(files.endRun(), { name: '100-000003.ts', startMs: 31_000 });
  assert.equal(files.endRun(), undefined);
});

test('files of an earlier run, other files and a restarted sequence are not confused', () => {
  const files = new SegmentFiles();
  files.newRun('100');
  files.seen(['100-000000.ts'], 0);
  files.newRun('200');
  assert.deepEqual(files.seen(['100-000000.ts', '100-000001.ts', 'notes.txt', '200-000000.ts', '200-x.ts'], 500), []);
  assert.deepEqual(files.seen(['200-000000.ts', '200-000001.ts'], 900), [{ name: '200-000000.ts', startMs: 500 }]);
});

test('the next segment starts where the finished one ended', () => {
  const files = new SegmentFiles();
  files.newRun('1');
  files.seen(['1-000000.ts'], 0);
  files.seen(['1-000000.ts', '1-000001.ts'], 10_020);
  files.ended(10_000);
  assert.deepEqual(files.endRun(), { name: '1-000001.ts', startMs: 10_000 }, 'seen 20 ms late, started when the previous one closed');
  files.newRun('2');
  files.seen(['2-000000.ts'], 20_000);
  files.seen(['2-000000.ts', '2-000001.ts'], 30_000);
  files.ended(30_050);
  assert.deepEqual(files.endRun(), { name: '2-000001.ts', startMs: 30_050 });
});
