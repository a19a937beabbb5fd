import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVaultFileName, vaultFileName } from '../../src/storage/file-names.ts';

test('a vault file name round-trips camera, kind, time span and event id', () => {
  const file = { camera: 'porch', kind: 'snapshot' as const, startMs: 1795330000123, endMs: 1795330004000, eventId: 'f6c0a1d2-4b1e-4c89-9d7a-0e3b2a1c9f00' };
  const name = vaultFileName(file);
  assert.equal(name, 'porch/2026-11-22/snapshot-1795330000123-1795330004000-f6c0a1d2-4b1e-4c89-9d7a-0e3b2a1c9f00.volet');
  assert.deepEqual(parseVaultFileName(name), file);
});

test('names that are not vault files, or try to escape the directory, are not parsed', () => {
  for (const bad of [
    '../porch/2026-11-22/segment-1-2.volet',
    'porch/2026-11-22/segment-1795330000123-1795330004000.volet.tmp',
    'porch/2026-11-21/segment-1795330000123-1795330004000.volet',
    'porch/2026-11-22/segment-1795330004000-1795330000123.volet',
    'porch/2026-11-22/movie-1795330000123-1795330004000.volet',
    '/etc/passwd',
  ]) {
    assert.equal(parseVaultFileName(bad), undefined, bad);
  }
});
