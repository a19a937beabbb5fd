import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assessHealth, type CameraObservation, type HealthInput } from '../../src/health/assess.ts';

const NOW = 1_800_000_000_000;

function porch(over: Partial<CameraObservation> = {}, silentMs = 1000): CameraObservation {
  return {
    name: 'porch',
    shutter: 'open',
    recordMode: 'continuous',
    streaming: { state: 'streaming' },
    recording: { startedAt: NOW - 600_000, lastSegmentAt: NOW - silentMs, lastSegmentMs: 4000, lastSealedAt: NOW - silentMs },
    ...over,
  };
}

function input(cameras: CameraObservation[], over: Partial<HealthInput> = {}): HealthInput {
  return {
    now: NOW,
    segmentSeconds: 4,
    cameras,
    disk: { freeBytes: 50e9, totalBytes: 100e9, floorBytes: 5e9 },
    index: { writable: true },
    vault: { initialised: true, unlocked: false },
    eventLoop: { worstLagMs: 3, windowSeconds: 60 },
    ...over,
  };
}

const codes = (report: ReturnType<typeof assessHealth>) => report.problems.map((p) => `${p.code}${p.camera ? `:${p.camera}` : ''}`);

test('a camera that finished a segment within 2 × segment length is up, with its ages in seconds', () => {
  const report = assessHealth(input([porch({}, 7_900)]));
  assert.equal(report.status, 'up');
  assert.deepEqual(report.problems, []);
  assert.equal(report.cameras[0].recording, 'ok');
  assert.equal(report.cameras[0].recordingAgeSeconds, 7.9);
  assert.equal(report.cameras[0].sealedAgeSeconds, 7.9);
  assert.deepEqual(report.disk, { freeBytes: 50e9, totalBytes: 100e9, floorBytes: 5e9, belowFloor: false });
});

test('a camera silent for more than 2 × segment length while its shutter is open is degraded', () => {
  const report = assessHealth(input([porch({}, 8_100)]));
  assert.equal(report.status, 'degraded');
  assert.deepEqual(codes(report), ['not_recording:porch']);
  assert.equal(report.cameras[0].recording, 'failing');
  assert.match(report.problems[0].message, /porch: no segment recorded for 8 s \(limit 8 s\)/);
});

test('segments longer than configured (keyframes far apart) widen the limit to 2 × the real length', () => {
  const long = porch({ recording: { startedAt: NOW - 600_000, lastSegmentAt: NOW - 15_000, lastSegmentMs: 8_000, lastSealedAt: 0 } });
  assert.equal(assessHealth(input([long])).status, 'up');
  assert.equal(assessHealth(input([long])).cameras[0].sealedAgeSeconds, null);
});

test('a closed shutter or record mode off expects no recording', () => {
  assert.equal(assessHealth(input([porch({ shutter: 'closed', streaming: { state: 'stopped' } }, 3_600_000)])).status, 'up');
  const off = assessHealth(input([porch({ recordMode: 'off', recording: { startedAt: 0, lastSegmentAt: 0, lastSegmentMs: 0, lastSealedAt: 0 } })]));
  assert.equal(off.status, 'up');
  assert.equal(off.cameras[0].recording, 'not_expected');
});

test('a recorder that just started gets 2 × segment length before its first segment counts as missing', () => {
  const fresh = { startedAt: NOW - 7_000, lastSegmentAt: 0, lastSegmentMs: 0, lastSealedAt: 0 };
  assert.equal(assessHealth(input([porch({ recording: fresh })])).status, 'up');
  assert.equal(assessHealth(input([porch({ recording: { ...fresh, startedAt: NOW - 9_000 } })])).status, 'degraded');
  // a restart does not hide an old silence: the later of start and last segment counts
  assert.equal(assessHealth(input([porch({ recording: { ...fresh, startedAt: NOW - 9_000, lastSegmentAt: NOW - 60_000 } })])).status, 'degraded');
});

test('no recorder (vault not initialised) or a stopped one behind an open shutter is degraded at once', () => {
  const noVault = assessHealth(input([porch({ recording: undefined })], { vault: { initialised: false, unlocked: false } }));
  assert.deepEqual(codes(noVault), ['not_recording:porch']);
  assert.match(noVault.problems[0].message, /nothing is recorded until the vault is initialised/);
  const stopped = assessHealth(input([porch({ recording: { startedAt: 0, lastSegmentAt: NOW - 1000, lastSegmentMs: 4000, lastSealedAt: 0 } })]));
  assert.deepEqual(codes(stopped), ['not_recording:porch']);
});

test('a detection stream down for more than 2 × segment length is degraded; a shorter reconnect is not', () => {
  assert.equal(assessHealth(input([porch({ streaming: { state: 'backoff', downSince: NOW - 7_000 } })])).status, 'up');
  assert.deepEqual(codes(assessHealth(input([porch({ streaming: { state: 'connecting', downSince: NOW - 9_000 } })]))), ['not_streaming:porch']);
  assert.equal(assessHealth(input([porch({ shutter: 'closed', streaming: { state: 'backoff', downSince: NOW - 60_000 } })])).status, 'up');
});

test('free space below the retention floor, an unreadable storage directory or an unwritable index degrade the box', () => {
  assert.deepEqual(codes(assessHealth(input([], { disk: { freeBytes: 4e9, totalBytes: 100e9, floorBytes: 5e9 } }))), ['disk_below_floor']);
  assert.deepEqual(codes(assessHealth(input([], { disk: { error: 'ENOENT' } }))), ['disk_unreadable']);
  assert.deepEqual(codes(assessHealth(input([], { index: { writable: false, error: 'SQLITE_READONLY' } }))), ['index_not_writable']);
  assert.equal(assessHealth(input([], { disk: { freeBytes: 5e9, totalBytes: 100e9, floorBytes: 5e9 } })).status, 'up');
});

test('a locked vault is reported, not a problem: recording needs no passphrase', () => {
  const report = assessHealth(input([porch()], { vault: { initialised: true, unlocked: false } }));
  assert.equal(report.status, 'up');
  assert.deepEqual(report.vault, { initialised: true, unlocked: false });
});

test('the worst event-loop lag is reported as observed and degrades nothing by itself', () => {
  const report = assessHealth(input([porch()], { eventLoop: { worstLagMs: 1900, windowSeconds: 60 } }));
  assert.equal(report.status, 'up');
  assert.deepEqual(report.eventLoop, { worstLagMs: 1900, windowSeconds: 60 });
});
