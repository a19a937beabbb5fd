/**
 * Run inside a private mount namespace with a small tmpfs mounted at argv[2] (see
 * test/storage/disk-full.test.ts): fills the disk with old continuous footage, then has several
 * cameras store a segment at the same moment, and prints what was stored as one JSON line.
 */
import { randomBytes } from 'node:crypto';
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { openStorage } from '../../src/app/storage.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { initTestVault, sharedModelsDir } from './volet-fixture.ts';

const [mountDir, cacheDir, writersArg, segmentKbArg] = process.argv.slice(2);
const writers = Number(writersArg);
const segmentBytes = Number(segmentKbArg) * 1024;
const storageDir = join(mountDir!, 'storage');
const config = parseConfig(
  `storage:\n  path: ${storageDir}\n  cachePath: ${cacheDir}\n  retention: { minFreeGb: 0, minFreePercent: 10 }\n` +
    `detector:\n  model: ${join(sharedModelsDir, 'yolox_nano_dynamic.onnx')}\n`,
  'disk-full.yml',
  {},
);
const messages: string[] = [];
const logger = createLogger(
  'info',
  new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) messages.push((JSON.parse(line) as { msg: string }).msg);
      done();
    },
  }),
);

await initTestVault(storageDir);
const storage = await openStorage(config, logger);
await storage.reconciliation;
const store = storage.store!;
const free = () => {
  const fs = statfsSync(storageDir);
  return fs.bavail * fs.bsize;
};
const t0 = Date.now() - 3_600_000;
let oldSegments = 0;
while (free() > 2 * segmentBytes) {
  const startMs = t0 + oldSegments * 10_000;
  const row = await store.storeBuffer(randomBytes(segmentBytes / 2), { camera: 'old', kind: 'segment', startMs, endMs: startMs + 10_000 });
  if (!row) throw new Error('filling the disk failed');
  oldSegments += 1;
}
const now = Date.now();
const rows = await Promise.all(
  Array.from({ length: writers }, (_, i) => store.storeBuffer(randomBytes(segmentBytes), { camera: `c${i}`, kind: 'segment', startMs: now, endMs: now + 10_000 })),
);
const stored = rows.filter(Boolean).length;
const oldLeft = storage.index.usage().files - stored;
await storage.close();
console.log(JSON.stringify({ oldSegments, oldLeft, stored, messages }));
