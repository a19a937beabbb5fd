import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventBus, type ObjectEvent } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { EventRecorder } from '../../src/record/event-recorder.ts';
import { Recordings } from '../../src/record/recordings.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { StorageIndex } from '../../src/storage/storage-index.ts';
import { VaultStore } from '../../src/storage/vault-store.ts';
import { Vault } from '../../src/vault/vault.ts';
import { TEST_KDF_LIMITS } from '../support/volet-fixture.ts';

test('events carry their face result through sealed metadata, and the list filters by resident', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'volet-events-faces-'));
  const db = openDatabase(join(dir, 'volet.db'));
  try {
    const logger = createLogger('silent');
    const vault = await Vault.init(dir, 'events passphrase', { limits: TEST_KDF_LIMITS });
    const index = new StorageIndex(db);
    const bus = new EventBus();
    const store = new VaultStore({ dir, index, publicKey: vault.publicKey, logger });
    const recorder = new EventRecorder({ bus, index, store, logger, cameras: new Set(['door']) });
    const recordings = new Recordings({ storageDir: dir, index, vault: () => vault, bus, cacheDir: join(dir, 'cache'), padding: () => ({ before: 0, after: 0 }) });
    const base = Date.UTC(2026, 10, 30, 8);
    const event = (id: string, at: number, face?: ObjectEvent['face']) => {
      const e: ObjectEvent = { id, camera: 'door', label: 'person', score: 0.9, start: base + at, zones: [], box: { x: 1, y: 2, width: 100, height: 200 } };
      bus.emit('event:start', e);
      bus.emit('event:end', { ...e, end: base + at + 3000, ...(face ? { face } : {}) }, undefined);
    };
    event('ev-alice', 0, { resident: 'r-alice' });
    event('ev-stranger', 10_000, { unknown: true });
    event('ev-locked', 20_000, { unchecked: 'vault locked' });
    event('ev-alice-again', 30_000, { resident: 'r-alice' });
    event('ev-bob', 40_000, { resident: 'r-bob' });
    await recorder.stop();

    await vault.unlock('events passphrase');
    const all = await recordings.listEvents({ cameras: ['door'], limit: 100 });
    assert.deepEqual(
      all.map((e) => [e.id, e.face]),
      [
        ['ev-bob', { resident: 'r-bob' }],
        ['ev-alice-again', { resident: 'r-alice' }],
        ['ev-locked', { unchecked: 'vault locked' }],
        ['ev-stranger', { unknown: true }],
        ['ev-alice', { resident: 'r-alice' }],
      ],
    );
    const alices = await recordings.listEvents({ cameras: ['door'], resident: 'r-alice', limit: 100 });
    assert.deepEqual(alices.map((e) => e.id), ['ev-alice-again', 'ev-alice']);
    assert.deepEqual(await recordings.listEvents({ cameras: ['door'], resident: 'r-nobody', limit: 100 }), []);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
