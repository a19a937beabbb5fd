import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseConfig } from '../src/config/load.ts';
import type { VoletConfig } from '../src/config/schema.ts';
import { createLogger } from '../src/log/logger.ts';
import { openDatabase } from '../src/storage/database.ts';
import { vaultFileName, type StoredKind } from '../src/storage/file-names.ts';
import { RetentionRunner } from '../src/storage/retention-runner.ts';
import { StorageIndex } from '../src/storage/storage-index.ts';
import { VaultStore } from '../src/storage/vault-store.ts';
import { encryptBuffer } from '../src/vault/files.ts';
import { keyFilePath } from '../src/vault/keyfile.ts';
import { Vault } from '../src/vault/vault.ts';
import { percentile, processTree } from './proc-usage.ts';
import { option } from './options.ts';

/**
 * `npm run bench -- scale [--days 30] [--cameras 16] [--segment-seconds <storage.segmentSeconds default>]
 *   [--dir /tmp/volet-scale] [--start-timeout 900] [--settle 20] [--retention-timeout 900] [--queries 300] [--retention-batch <rows>]`
 *
 * Months of footage without the terabytes: a storage directory and index of `--days` × `--cameras`
 * of continuous segments, named as the vault names them, each a hard link to one small real vault
 * file per camera-day (ext4 allows ~65,000 links per inode), plus events (snapshot and metadata
 * files, 1 in 20 kept, one running per camera). The index rows go in directly, one transaction per
 * day. The directory is cached under `--dir` between runs (keyed by days, cameras and segment
 * length); a day the retention pass deleted is rebuilt at the next run.
 *
 * Then: time from `volet run` (the real CLI, all cameras configured but disabled, http) to
 * /healthz answering, first after a simulated crash (no clean-shutdown mark) and again after a
 * clean stop, with Volet's own worst event-loop lag (GET /api/health as administrator, signed in
 * with the setup code the first time), the worst /healthz latency and the peak RSS over `--settle`
 * s afterwards; index size; the latency of event
 * queries (camera, one-day range, pages of 100 with their files, as GET /api/events runs them);
 * one RetentionRunner pass that has to delete the oldest day, with the worst event-loop lag during
 * it. The index measurements run in a child process so a runaway pass can be stopped.
 * Targets: start ≤ 10 s, worst lag ≤ 50 ms, event query p95 ≤ 50 ms.
 */

const DAY_MS = 86_400_000;
const EVENTS_PER_CAMERA_DAY = 24;
const KEEP_ONE_EVENT_IN = 20;
const EVENT_SECONDS = 30;
/** Bytes the index claims per second of main stream (a 2 Mbit/s 1080p camera). */
const BYTES_PER_SECOND = 250_000;
const RESOLUTION_MS = 10;
const REPO = fileURLToPath(new URL('..', import.meta.url));
const MODELS = resolve(REPO, '../shared/models');
const PASSPHRASE = 'scale benchmark passphrase';

interface Options {
  days: number;
  cameras: number;
  segmentSeconds: number;
  dir: string;
  startTimeoutS: number;
  settleS: number;
  retentionTimeoutS: number;
  queries: number;
  /** File rows per retention step; undefined: the runner's default. */
  retentionBatch?: number;
}

interface Manifest {
  days: number;
  cameras: number;
  segmentSeconds: number;
  /** Midnight UTC of the first day. */
  startMs: number;
  builtDays: number[];
}

export async function benchScale(args: string[]): Promise<void> {
  const defaults = parseConfig('', 'defaults', {});
  const opts: Options = {
    days: option(args, '--days', 30),
    cameras: option(args, '--cameras', 16),
    segmentSeconds: option(args, '--segment-seconds', defaults.storage.segmentSeconds),
    dir: args.includes('--dir') ? args[args.indexOf('--dir') + 1] : '/tmp/volet-scale',
    startTimeoutS: option(args, '--start-timeout', 900),
    settleS: option(args, '--settle', 20),
    retentionTimeoutS: option(args, '--retention-timeout', 900),
    queries: option(args, '--queries', 300),
    retentionBatch: args.includes('--retention-batch') ? option(args, '--retention-batch', 1) : undefined,
  };
  const root = join(opts.dir, `${opts.days}d-${opts.cameras}c-${opts.segmentSeconds}s`);
  const perCameraDay = DAY_MS / 1000 / opts.segmentSeconds;
  print(
    `${opts.days} days × ${opts.cameras} cameras of ${opts.segmentSeconds} s segments: ${fmt(opts.days * opts.cameras * perCameraDay)} segments, ` +
      `${fmt(opts.days * opts.cameras * EVENTS_PER_CAMERA_DAY)} events (1 in ${KEEP_ONE_EVENT_IN} kept), in ${root}`,
  );
  const build = await buildStorage(root, opts);
  print(build.rebuiltDays === 0 ? 'storage directory reused from an earlier run' : `built ${build.rebuiltDays} day(s) in ${seconds(build.ms)} (${fmt(build.files)} files linked, ${fmt(build.rows)} rows)`);

  warnIfDistIsStale();
  const writeConfig = runConfig(root, opts, build.manifest);
  const admin = benchAdmin(root);
  const first = await measureStart(writeConfig, admin, opts, 'start after a crash (background reconciliation)');
  const second = await measureStart(writeConfig, admin, opts, 'restart after a clean stop');
  const index = await measureIndexInChild(root, opts, build.manifest);

  print('');
  print('| measure | result | target |');
  print('|---|---|---|');
  for (const start of [first, second]) {
    print(`| ${start.label}: \`volet run\` → /healthz answers | ${start.ms === undefined ? `not within ${opts.startTimeoutS} s` : `${seconds(start.ms)} (${start.status})`} | ≤ 10 s |`);
    print(`| ${start.label}: worst event-loop lag in Volet (GET /api/health) by ${opts.settleS} s after /healthz | ${start.worstLagMs === undefined ? '—' : `${ms(start.worstLagMs)} (first reported ${start.worstLagSeenAfterS!.toFixed(1)} s after)`} | ≤ 50 ms |`);
    print(`| ${start.label}: worst /healthz latency over those ${opts.settleS} s | ${start.worstHealthzMs === undefined ? '—' : `${start.worstHealthzMs.toFixed(0)} ms`} | |`);
    print(`| ${start.label}: peak RSS of the process tree | ${mb(start.peakRss)} | |`);
  }
  if ('error' in index) {
    print(`| index measurements | ${index.error} | |`);
  } else {
    print(`| index size (volet.db + WAL) | ${mb(index.indexBytes)} for ${fmt(index.fileRows)} file and ${fmt(index.eventRows)} event rows | |`);
    print(`| event query, one camera, 1-day range, page of ≤ 100 with files (${index.queries.count}) | p50 ${ms(index.queries.p50)}, p95 ${ms(index.queries.p95)}, max ${ms(index.queries.max)} | p95 ≤ 50 ms |`);
    print(`| event query, all cameras, newest 100, next pages (${index.allCameras.count}) | p50 ${ms(index.allCameras.p50)}, p95 ${ms(index.allCameras.p95)}, max ${ms(index.allCameras.max)} | p95 ≤ 50 ms |`);
    const pass = index.retention;
    print(
      `| retention pass deleting the oldest day${opts.retentionBatch ? ` (batches of ${opts.retentionBatch})` : ''} | ${'timedOut' in pass ? `not within ${opts.retentionTimeoutS} s` : `${seconds(pass.ms)}: ${fmt(pass.deletedFiles)} files, ${fmt(pass.forgotEvents)} events`} | |`,
    );
    if (!('timedOut' in pass)) {
      print(`| worst event-loop lag during the pass (beyond the ${RESOLUTION_MS} ms sampling) | ${ms(pass.worstLagMs)} | ≤ 50 ms |`);
      print(`| kept and running events spared | ${pass.sparedOk ? 'yes' : 'NO'} | |`);
      print(`| peak RSS of the index process during the pass | ${mb(pass.peakRss)} | |`);
    }
  }
}

// --- building the synthetic storage directory ----------------------------------------------------

async function buildStorage(root: string, opts: Options) {
  const storage = join(root, 'storage');
  const manifestPath = join(root, 'manifest.json');
  mkdirSync(storage, { recursive: true, mode: 0o700 });
  const manifest: Manifest = existsSync(manifestPath)
    ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest)
    : { days: opts.days, cameras: opts.cameras, segmentSeconds: opts.segmentSeconds, startMs: Math.floor(Date.now() / DAY_MS) * DAY_MS - opts.days * DAY_MS, builtDays: [] };
  const vault = existsSync(keyFilePath(storage))
    ? await Vault.open(storage)
    : await Vault.init(storage, PASSPHRASE, { limits: { opslimit: 1, memlimit: 8 * 1024 * 1024 } });
  const sources = join(root, 'sources');
  mkdirSync(sources, { recursive: true });
  const source = (kind: StoredKind) => join(sources, `${kind}.volet`);
  for (const kind of ['segment', 'snapshot', 'metadata'] as const) {
    if (!existsSync(source(kind))) await encryptBuffer(randomBytes(kind === 'segment' ? 16_384 : 1024), source(kind), vault.publicKey, kind);
  }

  const db = openDatabase(join(storage, 'volet.db'));
  new StorageIndex(db); // the schema, however the current code creates it
  const addFile = db.prepare(
    'INSERT OR IGNORE INTO files (name, camera, kind, start_ms, end_ms, size, event_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const addEvent = db.prepare('INSERT OR IGNORE INTO events (id, camera, start_ms, end_ms, kept) VALUES (?, ?, ?, ?, ?)');
  const started = performance.now();
  let files = 0;
  let rows = 0;
  let rebuiltDays = 0;
  const segmentMs = opts.segmentSeconds * 1000;
  try {
    for (let day = 0; day < opts.days; day++) {
      if (manifest.builtDays.includes(day)) continue;
      const dayStart = manifest.startMs + day * DAY_MS;
      const insertDay = db.transaction(() => {
        for (let c = 0; c < opts.cameras; c++) {
          const camera = cameraName(c);
          const links = new Map<StoredKind, string>();
          const place = (kind: StoredKind, startMs: number, endMs: number, size: number, eventId?: string) => {
            const name = vaultFileName({ camera, kind, startMs, endMs, eventId });
            const path = join(storage, name);
            const first = links.get(kind);
            try {
              if (first) linkSync(first, path);
              else {
                mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
                copyFileSync(source(kind), path, constants.COPYFILE_EXCL);
                links.set(kind, path);
              }
              files++;
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
              if (!first) links.set(kind, path);
            }
            rows += addFile.run(name, camera, kind, startMs, endMs, size, eventId ?? null).changes;
          };
          for (let t = dayStart; t < dayStart + DAY_MS; t += segmentMs) place('segment', t, t + segmentMs, opts.segmentSeconds * BYTES_PER_SECOND);
          for (let e = 0; e < EVENTS_PER_CAMERA_DAY; e++) {
            const id = `ev-${camera}-${day}-${e}`;
            const startMs = dayStart + e * (DAY_MS / EVENTS_PER_CAMERA_DAY) + ((c * 7919 + e * 104_729) % 3_000_000);
            const running = day === opts.days - 1 && e === EVENTS_PER_CAMERA_DAY - 1;
            const endMs = startMs + EVENT_SECONDS * 1000;
            const kept = (day * EVENTS_PER_CAMERA_DAY + e + c) % KEEP_ONE_EVENT_IN === 0;
            rows += addEvent.run(id, camera, startMs, running ? null : endMs, kept ? 1 : 0).changes;
            place('snapshot', startMs, startMs, 60_000, id);
            if (!running) place('metadata', startMs, endMs, 2_000, id);
          }
        }
      });
      insertDay();
      manifest.builtDays.push(day);
      rebuiltDays++;
      writeFileSync(manifestPath, JSON.stringify(manifest));
      if (rebuiltDays % 5 === 0) process.stderr.write(`  … ${rebuiltDays} days built (${seconds(performance.now() - started)})\n`);
    }
    // The first start is then the one after a crash: no clean-shutdown mark, reconciliation in the background.
    new StorageIndex(db).takeCleanShutdown();
  } finally {
    db.close();
  }
  return { manifest, rebuiltDays, files, rows, ms: performance.now() - started };
}

function cameraName(i: number): string {
  return `cam${String(i).padStart(2, '0')}`;
}

/** Retention that deletes nothing at start (every day is younger than continuousDays), all cameras disabled. */
function runConfig(root: string, opts: Options, manifest: Manifest): (port: number, cache: string) => string {
  const keepDays = Math.ceil((Date.now() - manifest.startMs) / DAY_MS) + 1;
  const cameras = Array.from({ length: opts.cameras }, (_, i) => `  ${cameraName(i)}: { enabled: false, main: "rtsp://127.0.0.1:9/${cameraName(i)}", record: { mode: continuous } }\n`).join('');
  const file = join(root, 'volet.yml');
  return (port, cache) => {
    writeFileSync(
      file,
      `storage:\n  path: ${join(root, 'storage')}\n  cachePath: ${cache}\n  segmentSeconds: ${opts.segmentSeconds}\n` +
    `  retention: { continuousDays: ${keepDays}, eventDays: ${keepDays}, minFreeGb: 0, minFreePercent: 0 }\n` +
    `detector: { model: ${join(MODELS, 'yolox_nano_dynamic.onnx')}, threads: 1 }\nlog: { level: warn }\n` +
        `web: { host: 127.0.0.1, port: ${port}, https: false }\ncameras:\n${cameras}`,
    );
    return file;
  };
}

// --- start-up of the real CLI ---------------------------------------------------------------------

interface StartResult {
  label: string;
  ms?: number;
  status?: number;
  worstHealthzMs?: number;
  /** The largest eventLoop.worstLagMs GET /api/health reported (its window covers the whole start). */
  worstLagMs?: number;
  /** Seconds after /healthz answered when that worst lag was first reported. */
  worstLagSeenAfterS?: number;
  peakRss: number;
}

interface Admin {
  username: string;
  password: string;
}

/** The bench's administrator: a random password made once per cached directory, kept there (0600). */
function benchAdmin(root: string): Admin {
  const file = join(root, 'bench-admin-password');
  if (!existsSync(file)) writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
  return { username: 'bench', password: readFileSync(file, 'utf8') };
}

async function measureStart(writeConfig: (port: number, cache: string) => string, admin: Admin, opts: Options, label: string): Promise<StartResult> {
  const port = await freePort();
  const cache = mkdtempSync('/dev/shm/volet-scale-');
  const configFile = writeConfig(port, cache);
  const url = `http://127.0.0.1:${port}/healthz`;
  const started = performance.now();
  const child = spawn(process.execPath, ['bin/volet.js', '--config', configFile, 'run'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output = (output + d).slice(-100_000)));
  child.stderr.on('data', (d) => (output = (output + d).slice(-100_000)));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, treeRss(child.pid!))), 200);
  const result: StartResult = { label, peakRss: 0 };
  try {
    const deadline = started + opts.startTimeoutS * 1000;
    while (performance.now() < deadline && child.exitCode === null) {
      const answer = await healthz(url);
      if (answer.status) {
        result.ms = performance.now() - started;
        result.status = answer.status;
        break;
      }
      await sleep(100);
    }
    if (result.ms === undefined && child.exitCode !== null) throw new Error(`volet run exited with ${child.exitCode}:\n${output}`);
    if (result.ms !== undefined) {
      const cookie = await signIn(`http://127.0.0.1:${port}`, output, admin);
      let worst = 0;
      const until = performance.now() + opts.settleS * 1000;
      while (performance.now() < until) {
        worst = Math.max(worst, (await healthz(url)).ms);
        const health = await fetch(`http://127.0.0.1:${port}/api/health`, { headers: { cookie } });
        const lag = ((await health.json()) as { eventLoop?: { worstLagMs: number } }).eventLoop?.worstLagMs;
        if (lag !== undefined && lag > (result.worstLagMs ?? -1)) {
          result.worstLagMs = lag;
          result.worstLagSeenAfterS = (performance.now() - started - result.ms) / 1000;
        }
        await sleep(500);
      }
      result.worstHealthzMs = worst;
    }
  } finally {
    clearInterval(sampler);
    result.peakRss = Math.max(peakRss, treeRss(child.pid!));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(killer);
    rmSync(cache, { recursive: true, force: true });
  }
  const warnings = output.split('\n').filter((l) => /"level":(40|50|60)/.test(l) && !/setup code|no user/i.test(l));
  print(`${label}: ${result.ms === undefined ? 'no answer' : seconds(result.ms)}; ${warnings.length} warning/error log lines${warnings.length ? `, last: ${warnings.at(-1)!.slice(0, 300)}` : ''}`);
  return result;
}

/** `volet run` runs the compiled dist/: measuring an older build than src/ would mislead. */
function warnIfDistIsStale(): void {
  const main = join(REPO, 'dist/cli/main.js');
  if (!existsSync(main)) throw new Error('dist/ is missing: run `npm run build` first');
  const built = statSync(main).mtimeMs;
  const newer = readdirSync(join(REPO, 'src'), { recursive: true, withFileTypes: true }).filter(
    (e) => e.isFile() && statSync(join(e.parentPath, e.name)).mtimeMs > built,
  );
  if (newer.length > 0) print(`warning: ${newer.length} file(s) in src/ are newer than dist/ (run \`npm run build\`), e.g. ${newer[0].name}`);
}

/** An administrator session: created with the setup code the first time, signed in afterwards. */
async function signIn(base: string, log: string, admin: Admin): Promise<string> {
  const code = /setup code: ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})/.exec(log)?.[1];
  const res = code
    ? await fetch(`${base}/api/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ setupCode: code, ...admin }) })
    : await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admin) });
  const cookie = res.headers.get('set-cookie')?.split(';')[0];
  if (!res.ok || !cookie) throw new Error(`signing in as the bench administrator failed: ${res.status} ${await res.text()}`);
  return cookie;
}

function healthz(url: string): Promise<{ status?: number; ms: number }> {
  const started = performance.now();
  return new Promise((done) => {
    const req = request(url, { timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => done({ status: res.statusCode, ms: performance.now() - started }));
    });
    req.on('error', () => done({ ms: performance.now() - started }));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function treeRss(root: number): number {
  let total = 0;
  for (const pid of processTree(root)) {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      // ended meanwhile
    }
  }
  return total;
}

// --- index measurements, in a child process ------------------------------------------------------

interface Stats {
  count: number;
  p50: number;
  p95: number;
  max: number;
}

type RetentionResult = { timedOut: true } | { ms: number; deletedFiles: number; forgotEvents: number; worstLagMs: number; sparedOk: boolean; peakRss: number };

interface IndexResult {
  indexBytes: number;
  fileRows: number;
  eventRows: number;
  queries: Stats;
  allCameras: Stats;
  retention: RetentionResult;
}

async function measureIndexInChild(root: string, opts: Options, manifest: Manifest): Promise<IndexResult | { error: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--measure-index', root, JSON.stringify(opts)], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), (opts.retentionTimeoutS + 600) * 1000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      done(c);
    });
  });
  // The oldest day is gone (or partly gone): rebuild it at the next run.
  manifest.builtDays = manifest.builtDays.filter((d) => d !== 0);
  writeFileSync(join(root, 'manifest.json'), JSON.stringify(manifest));
  const line = output.split('\n').find((l) => l.startsWith('{'));
  if (!line) return { error: `index measurements ${code === null ? 'killed' : `exited with ${code}`}: ${output.slice(-500)}` };
  return JSON.parse(line) as IndexResult;
}

async function measureIndex(root: string, opts: Options): Promise<IndexResult> {
  const storage = join(root, 'storage');
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Manifest;
  const db = openDatabase(join(storage, 'volet.db'));
  const index = new StorageIndex(db);
  const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
  const fileRows = count('SELECT COUNT(*) AS n FROM files');
  const eventRows = count('SELECT COUNT(*) AS n FROM events');
  const indexBytes = ['volet.db', 'volet.db-wal'].reduce((sum, f) => sum + (existsSync(join(storage, f)) ? statSync(join(storage, f)).size : 0), 0);

  const endMs = manifest.startMs + opts.days * DAY_MS;
  const page = (filter: { camera?: string; fromMs: number; toMs: number }) => {
    const started = performance.now();
    const rows = index.events({ ...filter, limit: 100 });
    for (const row of rows) index.filesOfEvent(row.id);
    return { ms: performance.now() - started, rows };
  };
  const oneCamera: number[] = [];
  for (let q = 0; q < opts.queries; q++) {
    const camera = cameraName(q % opts.cameras);
    const from = manifest.startMs + ((q * 7) % opts.days) * DAY_MS;
    oneCamera.push(page({ camera, fromMs: from, toMs: from + DAY_MS - 1 }).ms);
  }
  const allCameras: number[] = [];
  for (let q = 0; allCameras.length < opts.queries; q++) {
    let before = endMs + DAY_MS;
    for (let p = 0; p < 10 && allCameras.length < opts.queries; p++) {
      const { ms: took, rows } = page({ fromMs: 0, toMs: before - 1 });
      allCameras.push(took);
      if (rows.length === 0) break;
      before = rows[rows.length - 1].startMs;
    }
  }

  const config = parseConfig(readFileSync(join(root, 'volet.yml'), 'utf8'), 'volet.yml', {});
  const retention = await retentionPass(storage, index, db, config, manifest, opts);
  if (!('timedOut' in retention)) db.close(); // a pass still running keeps using it until the process exits
  return { indexBytes, fileRows, eventRows, queries: stats(oneCamera), allCameras: stats(allCameras), retention };
}

/** One pass of the real runner at a time when exactly the oldest day has aged out. */
async function retentionPass(storage: string, index: StorageIndex, db: ReturnType<typeof openDatabase>, config: VoletConfig, manifest: Manifest, opts: Options): Promise<RetentionResult> {
  const silent = createLogger('error', new Writable({ write: (_c, _e, done) => done() }));
  const vault = await Vault.open(storage);
  const store = new VaultStore({ dir: storage, index, publicKey: vault.publicKey, logger: silent });
  const padding = Math.max(0, ...Object.values(config.cameras).map((c) => Math.max(c.record.preRollSeconds, c.record.postRollSeconds))) * 1000;
  const runner = new RetentionRunner({
    store,
    index,
    retention: { ...config.storage.retention, continuousDays: opts.days, eventDays: opts.days },
    eventPaddingMs: { before: padding, after: padding },
    logger: silent,
    batchSize: opts.retentionBatch,
  });
  const protectedBefore = (db.prepare("SELECT COUNT(*) AS n FROM events WHERE kept = 1 OR end_ms IS NULL").get() as { n: number }).n;
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const filesBefore = index.usage().files;
  const eventsBefore = (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  delay.enable();
  const started = performance.now();
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.retentionTimeoutS * 1000).unref());
  const outcome = await Promise.race([runner.runOnce(manifest.startMs + (opts.days + 1) * DAY_MS), timeout]);
  const ms = performance.now() - started;
  delay.disable();
  clearInterval(sampler);
  if (outcome === 'timeout') return { timedOut: true };
  const protectedAfter = (db.prepare("SELECT COUNT(*) AS n FROM events WHERE kept = 1 OR end_ms IS NULL").get() as { n: number }).n;
  return {
    ms,
    deletedFiles: filesBefore - index.usage().files,
    forgotEvents: eventsBefore - (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n,
    worstLagMs: Math.max(0, delay.max / 1e6 - RESOLUTION_MS),
    sparedOk: protectedAfter === protectedBefore,
    peakRss,
  };
}

function stats(values: number[]): Stats {
  return { count: values.length, p50: percentile(values, 50), p95: percentile(values, 95), max: Math.max(...values) };
}

// --- small helpers --------------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
    server.on('error', fail);
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fmt = (n: number) => n.toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const ms = (value: number) => `${value.toFixed(1)} ms`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--measure-index') {
  const result = await measureIndex(process.argv[3], JSON.parse(process.argv[4]) as Options);
  print(JSON.stringify(result));
  process.exit(0); // a pass that timed out is still running
}
