import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MotionActivity, motionLevel } from '../../src/record/motion-activity.ts';
import { buildTimeline, mergeSpans, motionBucketMs } from '../../src/record/timeline.ts';
import { enterSegment, keyframeAtOrBefore, PTS_PER_MS, ptsDiff, tsLayout } from '../../src/record/ts-keyframes.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { StorageIndex, type FileRow } from '../../src/storage/storage-index.ts';

const run = promisify(execFile);

test('segments closer than 2 s join one span; a longer gap starts the next', () => {
  const segments: Array<[number, number]> = [
    [0, 10_000],
    [10_000, 20_000],
    [21_500, 30_000], // 1.5 s gap: same span
    [32_001, 40_000], // 2.001 s gap: new span
    [35_000, 38_000], // inside the previous segment
  ];
  assert.deepEqual(mergeSpans(segments), [
    { start: 0, end: 30_000 },
    { start: 32_001, end: 40_000 },
  ]);
  assert.deepEqual(mergeSpans(segments, 2000, { start: 5000, end: 33_000 }), [
    { start: 5000, end: 30_000 },
    { start: 32_001, end: 33_000 },
  ]);
  assert.deepEqual(mergeSpans([]), []);
  assert.deepEqual(mergeSpans(segments, 2000, { start: 30_500, end: 32_000 }), [], 'a window inside a gap has no span');
});

test('motion level is the share of the segment seconds that saw motion', () => {
  assert.equal(motionLevel([], 0, 10_000), 0);
  assert.equal(motionLevel([0, 1, 2, 3, 4], 0, 10_000), 0.5);
  assert.equal(motionLevel([9, 10, 11], 0, 10_000), 0.1, 'seconds after the segment do not count');
  assert.equal(motionLevel([5], 5_200, 5_900), 1, 'a segment shorter than a second counts its second');
  assert.equal(motionBucketMs(0, 3_600_000), 1800);
  assert.equal(motionBucketMs(0, 86_400_000), 43_200);
});

test('the timeline comes from the index: spans, motion stored as segments are stored, event markers; motion goes with its segment', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'volet-timeline-'));
  const db = openDatabase(join(dir, 'volet.db'));
  try {
    const index = new StorageIndex(db);
    const activity = new MotionActivity(index);
    const rows: FileRow[] = [];
    const base = 1_764_000_000_000;
    // 0–60 s continuous, then a 30 s gap, then 90–120 s.
    for (const start of [0, 10, 20, 30, 40, 50, 90, 100, 110]) {
      rows.push({ name: `porch/${start}.volet`, camera: 'porch', kind: 'segment', startMs: base + start * 1000, endMs: base + (start + 10) * 1000, size: 1, eventId: null });
    }
    for (const second of [12, 13, 14, 15, 16, 95]) activity.noteMotion('porch', base + second * 1000 + 300);
    activity.noteMotion('porch', base + 12_900); // same second twice
    for (const row of rows) {
      index.addFile(row);
      activity.onStored(row);
    }
    index.addFile({ name: 'yard/0.volet', camera: 'yard', kind: 'segment', startMs: base, endMs: base + 10_000, size: 1, eventId: null });
    index.upsertEvent({ id: 'ev1', camera: 'porch', startMs: base + 12_000, endMs: base + 17_000 });
    index.upsertEvent({ id: 'ev2', camera: 'porch', startMs: base + 95_000, endMs: null });
    index.upsertEvent({ id: 'ev0', camera: 'porch', startMs: base - 600_000, endMs: base - 590_000 });

    const described = new Map([['ev1', { label: 'person', score: 0.9 }]]);
    const timeline = await buildTimeline(index, 'porch', base, base + 200_000, async (id) => described.get(id));
    assert.deepEqual(timeline.spans, [
      { start: base, end: base + 60_000 },
      { start: base + 90_000, end: base + 120_000 },
    ]);
    assert.deepEqual(timeline.motion, [
      { start: base + 10_000, end: base + 20_000, level: 0.5 },
      { start: base + 90_000, end: base + 100_000, level: 0.1 },
    ]);
    assert.deepEqual(timeline.events, [
      { id: 'ev1', label: 'person', score: 0.9, start: base + 12_000, end: base + 17_000 },
      { id: 'ev2', label: null, score: null, start: base + 95_000 },
    ]);

    assert.deepEqual(index.motionBetween('porch', base, base + 200_000, 200_000), [{ start: base + 10_000, end: base + 100_000, level: 0.5 }], 'a coarse bucket merges segments');

    const hour = await buildTimeline(index, 'porch', base + 55_000, base + 95_000, async () => undefined);
    assert.deepEqual(hour.spans, [
      { start: base + 55_000, end: base + 60_000 },
      { start: base + 90_000, end: base + 95_000 },
    ], 'a segment that starts before the window still counts');

    index.removeFile('porch/10.volet');
    assert.equal(db.prepare('SELECT COUNT(*) FROM segment_motion').pluck().get(), 1, 'the motion row went with its segment');

    // Motion that arrives after its segment was stored (the detection stream lagging the recorder).
    for (const second of [112, 113]) activity.noteMotion('porch', base + second * 1000 + 100);
    activity.noteMotion('porch', base + 5000); // the oldest segment is no longer a recent one
    assert.deepEqual(index.motionBetween('porch', base + 110_000, base + 120_000, 10_000), [{ start: base + 110_000, end: base + 120_000, level: 0.2 }]);
    assert.deepEqual(index.motionBetween('porch', base, base + 9000, 10_000), [], 'only the last stored segments are updated');
    activity.noteMotion('porch', base + 17_500); // in a recent segment that retention removed meanwhile
    assert.equal(db.prepare("SELECT COUNT(*) FROM segment_motion WHERE name = 'porch/10.volet'").pluck().get(), 0, 'a removed segment gets no motion row');
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an MPEG-TS segment is entered at the keyframe before an instant, and its slice starts there in time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'volet-ts-'));
  try {
    await run('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=s=320x180:r=15', '-f', 'lavfi', '-i', 'sine=f=440:r=8000',
      '-t', '8', '-c:v', 'libx264', '-g', '15', '-bf', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
      '-f', 'segment', '-segment_time', '4', '-segment_format', 'mpegts', '-reset_timestamps', '1', join(dir, 'seg-%03d.ts'),
    ]);
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 2);
    const segment = readFileSync(join(dir, files[1]));
    const layout = tsLayout(segment);
    assert.ok(layout.firstVideoPts !== undefined);
    assert.deepEqual(
      layout.keyframes.map((k) => Math.round(ptsDiff(k.pts, layout.firstVideoPts!) / PTS_PER_MS)),
      [0, 1000, 2000, 3000],
      'a keyframe every second (-g 15 at 15 fps)',
    );
    assert.equal(keyframeAtOrBefore(layout, layout.firstVideoPts + 2500 * PTS_PER_MS)?.pts, layout.firstVideoPts + 2000 * PTS_PER_MS);

    const wallStart = 1_764_000_000_000;
    const entered = enterSegment(segment, wallStart, wallStart + 2500);
    assert.equal(entered.startMs, wallStart + 2000);
    assert.ok(entered.data.length < segment.length / 2 + 20_000);
    const probe = await probeTs(dir, entered.data);
    assert.equal(probe.first.flags.startsWith('K'), true, 'the first packet is a keyframe');
    assert.ok(Math.abs(probe.videoStart - probe.streamStart) < 0.001, `nothing plays before the keyframe (${probe.streamStart} vs ${probe.videoStart})`);
    assert.ok(Math.abs(probe.duration - 2) < 0.2, `2 s remain after the keyframe at 2 s (${probe.duration})`);

    assert.deepEqual(enterSegment(segment, wallStart, wallStart - 5000), { data: segment, startMs: wallStart }, 'an instant before the segment plays it whole');
    const garbage = Buffer.from('not a transport stream');
    assert.deepEqual(enterSegment(garbage, wallStart, wallStart + 1000), { data: garbage, startMs: wallStart });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function probeTs(dir: string, data: Buffer) {
  const path = join(dir, 'slice.ts');
  writeFileSync(path, data);
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'packet=stream_index,pts_time,flags:format=start_time,duration:stream=codec_type,start_time', '-of', 'json', path]);
  const info = JSON.parse(stdout) as {
    packets: Array<{ stream_index: number; pts_time: string; flags: string }>;
    streams: Array<{ codec_type: string; start_time: string }>;
    format: { start_time: string; duration: string };
  };
  const video = info.streams.findIndex((s) => s.codec_type === 'video');
  return {
    first: info.packets.find((p) => p.stream_index === video)!,
    videoStart: Number(info.streams[video]!.start_time),
    streamStart: Number(info.format.start_time),
    duration: Number(info.format.duration),
  };
}
