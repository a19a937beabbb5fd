import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/volet-fixture.ts';

const asRoot = process.getuid?.() === 0;

/** Runs the writers script on a fresh tmpfs of `sizeMb` in a private mount namespace. */
function writeOnFullDisk(sizeMb: number, writers: number, segmentKb: number) {
  const mountDir = mkdtempSync(join(tmpdir(), 'volet-full-'));
  const cacheDir = mkdtempSync('/dev/shm/volet-full-');
  try {
    const script = `mount -t tmpfs -o size=${sizeMb}m tmpfs '${mountDir}' && exec node --import tsx test/support/disk-full-writers.ts '${mountDir}' '${cacheDir}' ${writers} ${segmentKb}`;
    const run = spawnSync('unshare', [...(asRoot ? [] : ['--map-root-user']), '--mount', 'sh', '-ec', script], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, `writers script failed: ${run.stderr}`);
    return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { oldSegments: number; oldLeft: number; stored: number; messages: string[] };
  } finally {
    rmSync(mountDir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

test('on a full disk, segments several cameras store at once all land: retention frees room for the failed writes, not just the floor', (t) => {
  const probe = spawnSync('unshare', [...(asRoot ? [] : ['--map-root-user']), '--mount', 'true']);
  if (probe.status !== 0) return t.skip('no mount namespace here (unshare --mount failed)');
  const result = writeOnFullDisk(12, 4, 1024);
  assert.ok(result.oldSegments >= 10, `the disk was filled with old footage (${result.oldSegments} segments)`);
  assert.equal(result.stored, 4, `every camera's segment is stored: ${result.messages.filter((m) => m.startsWith('storage full')).join(' | ')}`);
  assert.ok(result.messages.includes('storage full: deleting old footage by retention policy, then retrying'), 'the disk really was full');
  assert.ok(result.oldLeft > 0 && result.oldLeft < result.oldSegments, `only part of the old footage went (${result.oldLeft} of ${result.oldSegments} left)`);
});
