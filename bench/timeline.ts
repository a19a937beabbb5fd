import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { openPlayback } from '../src/record/playback.ts';
import { buildTimeline } from '../src/record/timeline.ts';
import { openDatabase } from '../src/storage/database.ts';
import { vaultFileName } from '../src/storage/file-names.ts';
import { StorageIndex } from '../src/storage/storage-index.ts';
import { encryptFile } from '../src/vault/files.ts';
import { Vault } from '../src/vault/vault.ts';
import { percentile } from './proc-usage.ts';
import { option, textOption } from './options.ts';

/**
 * `npm run bench -- timeline [--days 30] [--cameras 16] [--segment-seconds 10] [--queries 200]
 *   [--dir /tmp/volet-timeline] [--playbacks 10] [--index /tmp/volet-scale/30d-16c-10s/storage/volet.db]`
 *
 * 24/7 review. Index: `--days` × `--cameras` of continuous segments (a gap of a minute every
 * hour, motion on a fifth of the segments, 24 events a camera-day), rows only, cached under `--dir`.
 * Timed: the timeline of one camera for a random day (and a random hour, and a week) as
 * GET /api/timeline builds it (spans, motion, event markers; labels not decrypted). Playback: six
 * real 10 s H.264 segments (1280×720, 15 fps, keyframe every second) sealed in a vault, served
 * by a loopback HTTP server as the viewer's route does; timed from the request to the first byte
 * and to the first `moof` at random instants. Targets: timeline of a day ≤ 100 ms, first frame ≤ 1 s.
 */

const DAY_MS = 86_400_000;
const run = promisify(execFile);

export async function benchTimeline(args: string[]): Promise<void> {
  const daysAsked = option(args, '--days', 30);
  const cameras = option(args, '--cameras', 16);
  const segmentSeconds = option(args, '--segment-seconds', 10);
  const queries = option(args, '--queries', 200);
  const playbacks = option(args, '--playbacks', 10);
  const dir = textOption(args, '--dir') ?? join(tmpdir(), `volet-timeline-${daysAsked}d-${cameras}c-${segmentSeconds}s`);
  const scaleIndex = textOption(args, '--index');
  const { index, startMs, rows } = scaleIndex ? adoptIndex(scaleIndex, dir) : buildIndex(dir, daysAsked, cameras, segmentSeconds);
  process.stdout.write(`index: ${rows.toLocaleString('en')} segment rows, ${(statSync(join(dir, 'volet.db')).size / 1e9).toFixed(2)} GB\n`);

  const cameraNames = index.cameras();
  const days = Math.floor(((index.startSpan(cameraNames[0]!)?.newestMs ?? startMs) - startMs) / DAY_MS) || daysAsked;
  for (const [label, windowMs] of [['day', DAY_MS], ['hour', 3_600_000], ['week', 7 * DAY_MS]] as const) {
    const times: number[] = [];
    let spans = 0;
    let motion = 0;
    let events = 0;
    for (let q = 0; q < queries; q++) {
      const camera = cameraNames[Math.floor(Math.random() * cameraNames.length)]!;
      const from = startMs + Math.floor(Math.random() * (days * DAY_MS - windowMs));
      const t0 = performance.now();
      const timeline = await buildTimeline(index, camera, from, from + windowMs, async () => undefined);
      times.push(performance.now() - t0);
      spans += timeline.spans.length;
      motion += timeline.motion.length;
      events += timeline.events.length;
    }
    process.stdout.write(
      `timeline of a ${label}: p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms ` +
        `(avg ${(spans / queries).toFixed(0)} spans, ${(motion / queries).toFixed(0)} motion entries, ${(events / queries).toFixed(0)} events)\n`,
    );
  }
  await benchPlayback(playbacks);
}

/**
 * Another benchmark's index (e.g. `scale`'s storage/volet.db, a month of 16 cameras), copied and
 * brought to the current schema (timed: the migration builds the timeline index), with motion
 * rows added for a fifth of its segments.
 */
function adoptIndex(source: string, dir: string) {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'volet.db');
  if (!existsSync(path)) copyFileSync(source, path);
  const t0 = performance.now();
  const db = openDatabase(path);
  process.stdout.write(`opened (and migrated) the copied index in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  if ((db.prepare('SELECT COUNT(*) FROM segment_motion').pluck().get() as number) === 0) {
    db.exec(
      `INSERT INTO segment_motion (name, camera, start_ms, end_ms, level)
       SELECT name, camera, start_ms, end_ms, (abs(random()) % 100 + 1) / 100.0 FROM files WHERE kind = 'segment' AND abs(random()) % 5 = 0`,
    );
  }
  const startMs = db.prepare("SELECT MIN(start_ms) FROM files WHERE kind = 'segment'").pluck().get() as number;
  const rows = db.prepare("SELECT COUNT(*) FROM files WHERE kind = 'segment'").pluck().get() as number;
  return { index: new StorageIndex(db), startMs, rows };
}

function buildIndex(dir: string, days: number, cameras: number, segmentSeconds: number) {
  mkdirSync(dir, { recursive: true });
  const db = openDatabase(join(dir, 'volet.db'));
  const index = new StorageIndex(db);
  const startMs = Math.floor(Date.UTC(2026, 0, 1) / DAY_MS) * DAY_MS;
  const existing = db.prepare('SELECT COUNT(*) FROM files').pluck().get() as number;
  if (existing === 0) {
    const t0 = performance.now();
    const addFile = db.prepare("INSERT INTO files (name, camera, kind, start_ms, end_ms, size, event_id) VALUES (?, ?, 'segment', ?, ?, 2500000, NULL)");
    const addMotion = db.prepare('INSERT INTO segment_motion (name, camera, start_ms, end_ms, level) VALUES (?, ?, ?, ?, ?)');
    const addEvent = db.prepare('INSERT INTO events (id, camera, start_ms, end_ms) VALUES (?, ?, ?, ?)');
    const segmentMs = segmentSeconds * 1000;
    for (let day = 0; day < days; day++) {
      db.transaction(() => {
        for (let c = 0; c < cameras; c++) {
          const camera = `cam${c}`;
          const dayStart = startMs + day * DAY_MS;
          for (let t = dayStart; t < dayStart + DAY_MS; t += segmentMs) {
            if ((t - dayStart) % 3_600_000 < 60_000) continue; // a minute without recording every hour
            const name = vaultFileName({ camera, kind: 'segment', startMs: t, endMs: t + segmentMs });
            addFile.run(name, camera, t, t + segmentMs);
            if (Math.random() < 0.2) addMotion.run(name, camera, t, t + segmentMs, Math.round(Math.random() * 99 + 1) / 100);
          }
          for (let e = 0; e < 24; e++) {
            const at = dayStart + e * 3_600_000 + 600_000 + Math.floor(Math.random() * 1_800_000);
            addEvent.run(`d${day}c${c}e${e}`, camera, at, at + 30_000);
          }
        }
      })();
    }
    process.stdout.write(`built the index in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  const rows = db.prepare('SELECT COUNT(*) FROM files').pluck().get() as number;
  return { index, startMs, rows };
}

async function benchPlayback(count: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'volet-playback-bench-'));
  try {
    const storage = join(dir, 'storage');
    const plain = join(dir, 'plain');
    mkdirSync(storage);
    mkdirSync(plain);
    await run('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=1280x720:r=15', '-f', 'lavfi', '-i', 'sine=f=440:r=16000',
      '-t', '60', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '15', '-bf', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
      '-f', 'segment', '-segment_time', '10', '-segment_format', 'mpegts', '-reset_timestamps', '1', join(plain, 'seg-%03d.ts'),
    ]);
    const vault = await Vault.init(storage, 'playback benchmark passphrase', { limits: { opslimit: 1, memlimit: 8 * 1024 * 1024 } });
    await vault.unlock('playback benchmark passphrase');
    const index = new StorageIndex(openDatabase(join(storage, 'volet.db')));
    const base = Date.UTC(2026, 0, 1, 12);
    for (const [i, file] of readdirSync(plain).sort().entries()) {
      const row = { camera: 'porch', kind: 'segment' as const, startMs: base + i * 10_000, endMs: base + (i + 1) * 10_000 };
      const name = vaultFileName(row);
      mkdirSync(join(storage, name, '..'), { recursive: true });
      const { encryptedBytes } = await encryptFile(join(plain, file), join(storage, name), vault.publicKey, 'segment');
      index.addFile({ ...row, name, size: encryptedBytes, eventId: null });
    }
    const server = createServer(async (req, res) => {
      const at = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('at'));
      const playback = await openPlayback({ storageDir: storage, index, vault, camera: 'porch', atMs: at });
      if (!playback) return void res.writeHead(404).end();
      res.on('close', () => playback.close());
      res.writeHead(200, { 'Content-Type': 'video/mp4', 'X-Playback-Start': String(playback.startMs) });
      await pipeline(playback.output, res).catch(() => playback.close());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const firstByte: number[] = [];
    const firstMoof: number[] = [];
    for (let i = 0; i < count; i++) {
      const at = base + 2000 + Math.floor(Math.random() * 45_000);
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: `/?at=${at}` }, (res) => {
          let seen = Buffer.alloc(0);
          res.on('data', (chunk: Buffer) => {
            if (firstByte.length === i) firstByte.push(performance.now() - t0);
            seen = Buffer.concat([seen, chunk]);
            if (seen.includes('moof')) {
              firstMoof.push(performance.now() - t0);
              req.destroy();
              resolve();
            }
          });
          res.on('end', () => reject(new Error('playback ended without a fragment')));
        });
        req.on('error', (err) => (firstMoof.length > i ? resolve() : reject(err)));
        req.end();
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    server.close();
    process.stdout.write(
      `playback at a random instant (loopback): first byte p50 ${percentile(firstByte, 50).toFixed(0)} ms, max ${Math.max(...firstByte).toFixed(0)} ms; ` +
        `first moof p50 ${percentile(firstMoof, 50).toFixed(0)} ms, max ${Math.max(...firstMoof).toFixed(0)} ms (${count} requests)\n`,
    );
  } finally {
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
}
