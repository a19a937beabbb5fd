/**
 * No request can stop Volet: `volet run` with a real camera recording takes seeded batches of
 * malformed requests, upgrades and WebSocket frames over raw TCP, and after every batch is still
 * running, answers /healthz, has never answered 5xx, and keeps storing new segments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { openDatabase } from '../../src/storage/database.ts';
import { StorageIndex } from '../../src/storage/storage-index.ts';
import { PasswordHasher } from '../../src/web/auth/password.ts';
import { UserRepository } from '../../src/web/auth/users.ts';
import { staticClip } from '../support/clips.ts';
import { startRtspCamera } from '../support/rtsp-camera.ts';
import { initTestVault, repoRoot, tempVoletConfig, waitFor } from '../support/volet-fixture.ts';
import { exchange, malformedRequestArb, signedInRequestArb, upgradeArb, websocketFramesArb, type RawExchange } from './fuzz-requests.ts';

const SEED = 1212;
const ADMIN = { username: 'owner', password: 'fuzz owner password' };
const RESIDENT_TOKEN = 'resident-token-0123456789abcdef';

test('seeded batches of malformed requests, upgrades and frames never stop Volet, never get a 5xx, and recording goes on', async (t) => {
  const clip = await staticClip({ seconds: 6 });
  const camera = await startRtspCamera({ mounts: { '/main': clip.path }, loop: true });
  const v = tempVoletConfig(`cameras:\n  porch:\n    main: ${camera.url('/main')}\n    record: { mode: continuous }\n`);
  await initTestVault(v.storageDir);
  const dbPath = join(v.storageDir, 'volet.db');
  {
    const db = openDatabase(dbPath);
    const passwordHash = await new PasswordHasher('minimum').hash(ADMIN.password);
    new UserRepository(db).create({ username: ADMIN.username, passwordHash, admin: true, grants: {} });
    db.close();
  }
  const configPath = join(v.dir, 'volet.yml');
  writeFileSync(
    configPath,
    `storage: { path: ${v.storageDir}, cachePath: ${v.cacheDir}, segmentSeconds: 2, retention: { minFreeGb: 0, minFreePercent: 0 } }\n` +
      `detector: { model: ${v.config.detector.model}, threads: 1 }\n` +
      `web: { host: 127.0.0.1, port: 0, https: false }\n` +
      `privacy: { residents: { alice: { token: ${RESIDENT_TOKEN} } } }\n` +
      `cameras:\n  porch:\n    main: ${camera.url('/main')}\n    record: { mode: continuous }\n`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), '-c', configPath, 'run'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  let exit: string | undefined;
  child.on('exit', (code, signal) => (exit = `exited with code ${code}, signal ${signal}`));
  const tail = () => output.slice(-3000);
  const indexDb = openDatabase(dbPath);
  const index = new StorageIndex(indexDb);

  try {
    await waitFor('the viewer URL', () => /Viewer: http:\/\/\S+/.test(output) || exit !== undefined, 90_000);
    assert.equal(exit, undefined, `Volet did not start: ${tail()}`);
    const base = /Viewer: (http:\/\/\S+)/.exec(output)![1];
    const port = Number(new URL(base).port);

    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    assert.equal(login.status, 200, await login.clone().text());
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    const { csrfToken } = (await login.json()) as { csrfToken: string };

    const newestSegmentEnd = () => Math.max(0, ...index.segmentsBetween('porch', Date.now() - 60_000, Number.MAX_SAFE_INTEGER).map((s) => s.endMs));
    await waitFor('a first stored segment', () => newestSegmentEnd() > 0, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${tail()}`);
    });

    const recent: string[] = [];
    const statuses = new Map<number, number>();
    let timeouts = 0;
    const send = async (x: RawExchange) => {
      recent.push(x.label);
      if (recent.length > 5) recent.shift();
      const r = await exchange(port, x);
      for (const s of r.statuses) statuses.set(s, (statuses.get(s) ?? 0) + 1);
      if (r.timedOut) timeouts++;
      if (r.refused) await waitFor('Volet to exit', () => exit !== undefined, 8000).catch(() => {});
      assert.ok(!r.refused, `Volet stopped listening (${exit ?? 'still running'}) after:\n${recent.join('\n')}\n${tail()}`);
      const fiveXx = r.statuses.filter((s) => s >= 500);
      assert.deepEqual(fiveXx, [], `5xx for: ${x.label}\n${tail()}`);
    };

    const batches: { name: string; arbitrary: fc.Arbitrary<RawExchange>; runs: number }[] = [
      { name: 'malformed HTTP requests', arbitrary: malformedRequestArb, runs: 1500 },
      { name: 'WebSocket upgrades', arbitrary: upgradeArb(cookie), runs: 700 },
      { name: 'signed-in requests with bad bodies and queries', arbitrary: signedInRequestArb(cookie, csrfToken), runs: 400 },
      { name: 'bad frames on signed-in WebSockets', arbitrary: websocketFramesArb(cookie), runs: 400 },
    ];
    for (const [i, batch] of batches.entries()) {
      const started = Date.now();
      const segmentBefore = newestSegmentEnd();
      await fc.assert(fc.asyncProperty(batch.arbitrary, send), { seed: SEED + i, numRuns: batch.runs, endOnFailure: true, includeErrorInReport: true });

      assert.equal(exit, undefined, `Volet ${exit} during "${batch.name}": ${tail()}`);
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200, `/healthz after "${batch.name}"`);
      await waitFor(`a new segment after "${batch.name}"`, () => newestSegmentEnd() > segmentBefore, 15_000);
      t.diagnostic(`${batch.name}: ${batch.runs} in ${Date.now() - started} ms`);
    }
    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}, client timeouts: ${timeouts}`);
    assert.ok((statuses.get(101) ?? 0) > 100, 'signed-in WebSockets were really opened, so their frames reached the server');
    assert.ok((statuses.get(400) ?? 0) > 500, 'malformed requests are answered 400');

    const lines = output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; msg: string });
    assert.deepEqual(lines.filter((l) => l.level === 'error' && /web|upgrade|socket/i.test(l.msg)), [], 'no web error was logged');
    assert.ok(lines.some((l) => l.level === 'warn' && /bad request/i.test(l.msg)), 'bad input is logged');
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    indexDb.close();
    await camera.stop();
    v.cleanup();
  }
});
