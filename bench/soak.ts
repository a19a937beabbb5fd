import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openDatabase } from '../src/storage/database.ts';
import { StorageIndex, type FileRow } from '../src/storage/storage-index.ts';
import { Vault } from '../src/vault/vault.ts';
import { mainAndSub, personWalkClip } from '../test/support/clips.ts';
import { startRtspCamera, type RtspCamera } from '../test/support/rtsp-camera.ts';
import { option } from './options.ts';
import { processTree } from './proc-usage.ts';

/**
 * `npm run bench -- soak [--minutes 30] [--cameras 8] [--segment-seconds 10] [--seed 1] [--disk-mb <size>]`
 *
 * The real `volet run` (compiled dist/) records `--cameras` test RTSP cameras continuously onto a
 * small loop-mounted ext4 filesystem (so the disk really fills and retention has to keep up), with
 * the RAM cache on tmpfs. Between the first and the last quarter of the run, at seeded random
 * times, the harness kills the camera server and restarts it, stalls it (freeze/resume), and
 * `kill -9`s Volet and starts it again. Afterwards:
 * - recording gaps per camera from every segment the index held during the run (read every few
 *   seconds, as retention deletes most of them before the end): time no segment covers, see
 *   `gapsOf`; a gap is explained by an outage when it
 *   begins between two segment lengths before the outage and its end, and recording is back within
 *   RECOVERY_MS of the outage's end;
 * - completed segments lost: see `lostSegments`;
 * - files that fail the real `volet verify` (vault passphrase from a file);
 * - RSS and open-file drift of Volet's process tree (node + its ffmpegs) between the first and the
 *   last quarter, which have no outages;
 * - ffmpeg processes that outlived a `kill -9`ed Volet;
 * - the timeline.
 */

const REPO = fileURLToPath(new URL('..', import.meta.url));
const MODELS = resolve(REPO, '../shared/models');
const PASSPHRASE = 'soak benchmark passphrase';
const SAMPLE_MS = 5000;
/** Volet's log of the last soak, kept after the work directory is removed. */
const KEPT_LOG = '/tmp/volet-soak-last.log';
const POLL_MS = 500;
/** Uncovered time between two segments that counts as a recording gap. */
const GAP_MS = 2000;
/** How often the harness reads the segment rows of the index (retention keeps each for minutes). */
const INDEX_POLL_MS = 5000;
/** Samples this close to a start or an outage are not used for drift: the process tree is not settled. */
const SETTLE_MS = 30_000;
/** Reconnect backoff (up to 16 s before the cap) plus a segment: how late recording may resume after an outage. */
const RECOVERY_MS = 35_000;

type OutageKind = 'camera server killed' | 'camera stalled' | 'volet kill -9';

interface Outage {
  kind: OutageKind;
  startMs: number;
  endMs: number;
  note?: string;
}

interface Options {
  minutes: number;
  cameras: number;
  segmentSeconds: number;
  seed: number;
  diskMb?: number;
}

interface CacheFile {
  camera: string;
  run: string;
  seq: number;
  firstSeenMs: number;
  /** When the next file of the same ffmpeg run appeared: ffmpeg had closed and listed this one. */
  closedMs?: number;
}

interface Sample {
  atMs: number;
  rss: number;
  fds: number;
  pids: number;
}

export async function benchSoak(args: string[]): Promise<void> {
  const opts: Options = {
    minutes: option(args, '--minutes', 30),
    cameras: option(args, '--cameras', 8),
    segmentSeconds: option(args, '--segment-seconds', 10),
    seed: option(args, '--seed', 1),
    diskMb: args.includes('--disk-mb') ? option(args, '--disk-mb', 1) : undefined,
  };
  if (process.getuid?.() !== 0) throw new Error('the soak bench loop-mounts a small ext4 filesystem: run it as root');
  warnIfDistIsStale();
  const clips = await mainAndSub(personWalkClip, { audio: true });
  const bytesPerSecond = statSync(clips.main.path).size / clips.main.durationSeconds;
  const runMs = opts.minutes * 60_000;
  // Full after about a third of the run, and never more than a few hundred MB.
  const diskMb = opts.diskMb ?? Math.max(64, Math.min(400, Math.round((bytesPerSecond * opts.cameras * (runMs / 1000) * 0.35) / 1e6)));
  const work = mkdtempSync('/tmp/volet-soak-');
  const storage = join(work, 'storage');
  const cache = mkdtempSync('/dev/shm/volet-soak-');
  const image = join(work, 'storage.img');
  mkdirSync(storage);
  execFileSync('truncate', ['-s', `${diskMb}M`, image]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
  execFileSync('mount', ['-o', 'loop', image, storage]);
  print(
    `${opts.cameras} cameras (1920×1080 10 fps + AAC main, ≈${(bytesPerSecond * 8e-6).toFixed(1)} Mbit/s each), continuous recording in ${opts.segmentSeconds} s segments, ` +
      `${opts.minutes} min, seed ${opts.seed}; storage: ${diskMb} MB ext4 loop filesystem (retention keeps 10 % free); cache: tmpfs`,
  );

  let camera: RtspCamera | undefined;
  const volet = new VoletProcess(work);
  try {
    await Vault.init(storage, PASSPHRASE, { limits: { opslimit: 1, memlimit: 8 * 1024 * 1024 } });
    const passphraseFile = join(work, 'passphrase');
    writeFileSync(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    const mounts: Record<string, string> = {};
    for (let i = 0; i < opts.cameras; i++) Object.assign(mounts, { [`/c${i}/main`]: clips.main.path, [`/c${i}/sub`]: clips.sub.path });
    camera = await startRtspCamera({ mounts, loop: true });
    const configFile = writeConfig(work, storage, cache, camera, opts);
    volet.configFile = configFile;

    const startedMs = Date.now();
    const cacheFiles = new Map<string, CacheFile>();
    const samples: Sample[] = [];
    const outages: Outage[] = [];
    const orphans: Orphan[] = [];
    volet.start();
    const poller = setInterval(() => pollCache(cache, opts.cameras, cacheFiles), POLL_MS);
    const indexed = new Map<string, FileRow>();
    const indexPoller = setInterval(() => readSegmentRows(join(storage, 'volet.db'), indexed), INDEX_POLL_MS);
    const sampler = setInterval(() => {
      const sample = volet.sample();
      if (sample) samples.push(sample);
    }, SAMPLE_MS);
    try {
      for (const step of schedule(opts, startedMs)) {
        await sleepUntil(step.atMs);
        outages.push(await inflict(step, camera, volet, orphans));
      }
      await sleepUntil(startedMs + runMs);
    } finally {
      clearInterval(poller);
      clearInterval(indexPoller);
      clearInterval(sampler);
    }
    pollCache(cache, opts.cameras, cacheFiles);
    const stoppedMs = Date.now();
    await volet.stop('SIGTERM');
    await camera.stop();

    const db = openDatabase(join(storage, 'volet.db'));
    for (const row of new StorageIndex(db).allFiles()) if (row.kind === 'segment') indexed.set(row.name, row);
    const rows = [...indexed.values()];
    // Events Volet never ended protect all later footage of their camera from retention.
    const openEvents = db.prepare('SELECT camera, start_ms AS startMs FROM events WHERE end_ms IS NULL ORDER BY start_ms').all() as { camera: string; startMs: number }[];
    db.close();
    const verify = runVerify(configFile, passphraseFile);
    const log = readFileSync(volet.logFile, 'utf8');
    copyFileSync(volet.logFile, KEPT_LOG);
    report({ opts, startedMs, stoppedMs, rows, openEvents, outages, cacheFiles, samples, verify, log, orphans, volet, diskMb, storage });
  } finally {
    await volet.stop('SIGKILL');
    await camera?.stop();
    rmSync(cache, { recursive: true, force: true });
    execFileSync('umount', [storage]);
    rmSync(work, { recursive: true, force: true });
  }
}

// --- Volet as a child process ----------------------------------------------------------------------

class VoletProcess {
  configFile = '';
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  starts: number[] = [];

  constructor(work: string) {
    this.logFile = join(work, 'volet.log');
  }

  start(): void {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['bin/volet.js', '--config', this.configFile, 'run'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    this.exited = new Promise((done) => child.once('exit', () => done()));
    this.child = child;
    this.starts.push(Date.now());
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Ends Volet; returns the pids of its tree at that moment. */
  async stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<number[]> {
    const pid = this.pid;
    if (pid === undefined) return [];
    const tree = processTree(pid);
    this.child!.kill(signal);
    const escalate = setTimeout(() => this.child?.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(escalate);
    return tree.slice(1);
  }

  sample(): Sample | undefined {
    const pid = this.pid;
    if (pid === undefined) return undefined;
    const pids = processTree(pid);
    let rss = 0;
    let fds = 0;
    for (const p of pids) {
      rss += Number(/VmRSS:\s+(\d+) kB/.exec(readQuietly(`/proc/${p}/status`))?.[1] ?? 0) * 1024;
      try {
        fds += readdirSync(`/proc/${p}/fd`).length;
      } catch {
        // ended meanwhile
      }
    }
    return { atMs: Date.now(), rss, fds, pids: pids.length };
  }
}

function writeConfig(work: string, storage: string, cache: string, camera: RtspCamera, opts: Options): string {
  const cameras = Array.from(
    { length: opts.cameras },
    (_, i) => `  c${i}:\n    main: ${camera.url(`/c${i}/main`)}\n    sub: ${camera.url(`/c${i}/sub`)}\n    detect: { fps: 2 }\n    record: { mode: continuous }\n`,
  ).join('');
  const file = join(work, 'volet.yml');
  writeFileSync(
    file,
    `storage:\n  path: ${storage}\n  cachePath: ${cache}\n  segmentSeconds: ${opts.segmentSeconds}\n  retention: { minFreeGb: 0, minFreePercent: 10 }\n` +
      `detector: { model: ${join(MODELS, 'yolox_nano_dynamic.onnx')}, threads: 1 }\nweb: { host: 127.0.0.1, port: 0 }\ncameras:\n${cameras}`,
  );
  return file;
}

// --- chaos ----------------------------------------------------------------------------------------

interface Step {
  atMs: number;
  kind: OutageKind;
  durationMs: number;
}

/** k outages of each kind (k = minutes / 6, at least 1), one per slot, spread over the middle half of the run. */
function schedule(opts: Options, startedMs: number): Step[] {
  const random = mulberry32(opts.seed);
  const runMs = opts.minutes * 60_000;
  const perKind = Math.max(1, Math.round(opts.minutes / 6));
  const kinds: OutageKind[] = [];
  for (let i = 0; i < perKind; i++) kinds.push('camera server killed', 'camera stalled', 'volet kill -9');
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
  }
  const slotMs = runMs / 2 / kinds.length;
  const between = (lo: number, hi: number) => lo + random() * Math.max(0, hi - lo);
  return kinds.map((kind, i) => {
    const longest = Math.max(5000, 0.4 * slotMs);
    const durationMs = kind === 'volet kill -9' ? between(1000, 5000) : between(5000, Math.min(kind === 'camera stalled' ? 30_000 : 20_000, longest));
    return { atMs: startedMs + runMs / 4 + i * slotMs + between(0, 0.3 * slotMs), kind, durationMs };
  });
}

interface Orphan {
  pid: number;
  command: string;
  /** How long it ran on after Volet was killed (the harness kills it after ORPHAN_LIMIT_MS). */
  survivedMs: number;
}

const ORPHAN_LIMIT_MS = 30_000;

/** Watches the children of a killed Volet until they exit or ORPHAN_LIMIT_MS has passed (then kills them). */
function watchOrphans(pids: number[], killedMs: number, orphans: Orphan[]): void {
  const watched = pids.map((pid) => ({ pid, command: readQuietly(`/proc/${pid}/comm`).trim() }));
  const timer = setInterval(() => {
    const now = Date.now();
    for (const w of [...watched]) {
      const gone = !existsSync(`/proc/${w.pid}`) || /^State:\s+Z/m.test(readQuietly(`/proc/${w.pid}/status`));
      const tooLong = now - killedMs >= ORPHAN_LIMIT_MS;
      if (!gone && !tooLong) continue;
      if (!gone) process.kill(w.pid, 'SIGKILL');
      if (now - killedMs > 500) orphans.push({ ...w, survivedMs: now - killedMs });
      watched.splice(watched.indexOf(w), 1);
    }
    if (watched.length === 0) clearInterval(timer);
  }, 250);
}

async function inflict(step: Step, camera: RtspCamera, volet: VoletProcess, orphans: Orphan[]): Promise<Outage> {
  const startMs = Date.now();
  let note: string | undefined;
  if (step.kind === 'camera server killed') {
    await camera.stop();
    await sleep(step.durationMs);
    await camera.restart();
  } else if (step.kind === 'camera stalled') {
    await camera.freeze();
    await sleep(step.durationMs);
    await camera.resume();
  } else {
    const children = await volet.stop('SIGKILL');
    watchOrphans(children, startMs, orphans);
    await sleep(step.durationMs);
    note = `${children.length} child process(es) at the kill`;
    volet.start();
  }
  return { kind: step.kind, startMs, endMs: Date.now(), note };
}

// --- observing ffmpeg's segments in the RAM cache -----------------------------------------------------

const CACHE_FILE = /^(\d+)-(\d{6})\.ts$/;

/** Every segment file ffmpeg opens in the cache (named `<spawn ms>-<seq>.ts` per ffmpeg run). */
/** Adds the segment rows the index holds now (read-only, beside the running Volet) to `rows`. */
function readSegmentRows(dbPath: string, rows: Map<string, FileRow>): void {
  if (!existsSync(dbPath)) return;
  let db: Database.Database | undefined;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    const found = db
      .prepare("SELECT name, camera, kind, start_ms AS startMs, end_ms AS endMs, size, event_id AS eventId FROM files WHERE kind = 'segment'")
      .all() as FileRow[];
    for (const row of found) rows.set(row.name, row);
  } catch {
    // Volet is starting (or was just killed) and the index is busy: the next read gets these rows.
  } finally {
    db?.close();
  }
}

function pollCache(cache: string, cameras: number, files: Map<string, CacheFile>): void {
  const now = Date.now();
  for (let i = 0; i < cameras; i++) {
    const camera = `c${i}`;
    let names: string[];
    try {
      names = readdirSync(join(cache, camera));
    } catch {
      continue;
    }
    for (const name of names) {
      const match = CACHE_FILE.exec(name);
      if (!match) continue;
      const key = `${camera}/${name}`;
      if (files.has(key)) continue;
      const seq = Number(match[2]);
      files.set(key, { camera, run: match[1], seq, firstSeenMs: now });
      for (let s = seq - 1; s >= 0; s--) {
        const earlier = files.get(`${camera}/${match[1]}-${String(s).padStart(6, '0')}.ts`);
        if (!earlier || earlier.closedMs !== undefined) break;
        earlier.closedMs = now;
      }
    }
  }
}

/**
 * A segment counts as completed when ffmpeg opened the next file of the same run (so it had closed
 * and listed this one) at least one segment length before Volet was killed or stopped: Volet then
 * had time to encrypt and index it. The last file of each ffmpeg run is not counted (after a camera
 * outage ffmpeg may or may not list it). Completed segments that end before the oldest segment
 * still indexed for the camera were deleted by retention. The rest must each have an index row:
 * per ffmpeg run, rows whose start falls between this run's first file and the next run's are
 * counted against its completed segments; a shortfall is a lost segment.
 */
function lostSegments(files: Map<string, CacheFile>, rows: FileRow[], killsMs: number[], segmentMs: number, cameras: number) {
  let completed = 0;
  let retired = 0;
  let lost = 0;
  const details: string[] = [];
  for (let i = 0; i < cameras; i++) {
    const camera = `c${i}`;
    const mine = [...files.values()].filter((f) => f.camera === camera);
    const camRows = rows.filter((r) => r.camera === camera).sort((a, b) => a.startMs - b.startMs);
    const oldest = camRows[0]?.startMs ?? Infinity;
    const runs = [...new Set(mine.map((f) => f.run))].sort();
    const runStart = (run: string) => Math.min(...mine.filter((f) => f.run === run).map((f) => f.firstSeenMs));
    for (const [r, run] of runs.entries()) {
      const from = runStart(run) - 2000;
      const to = r + 1 < runs.length ? runStart(runs[r + 1]) - 2000 : Infinity;
      const owed = mine.filter((f) => {
        if (f.run !== run || f.closedMs === undefined) return false;
        const killed = killsMs.find((k) => k >= f.closedMs!) ?? Infinity;
        return killed - f.closedMs >= segmentMs;
      });
      const kept = owed.filter((f) => f.closedMs! >= oldest + 1000);
      completed += owed.length;
      retired += owed.length - kept.length;
      const indexed = camRows.filter((row) => row.startMs >= from && row.startMs < to && row.startMs >= oldest).length;
      if (indexed < kept.length) {
        lost += kept.length - indexed;
        details.push(`${camera} ffmpeg run ${iso(Number(run))}: ${kept.length} completed, ${indexed} indexed`);
      }
    }
  }
  return { completed, retired, lost, details };
}

// --- the report -------------------------------------------------------------------------------------

interface Gap {
  camera: string;
  fromMs: number;
  toMs: number;
  cause?: Outage;
}

/**
 * Time no segment covers: between consecutive indexed segments, and from the last one to the end
 * of the run (where the segment under way may still be open), longer than GAP_MS. A long segment
 * (ffmpeg waits for a keyframe after a stall) is footage, not a gap.
 */
function gapsOf(rows: FileRow[], cameras: number, segmentMs: number, outages: Outage[], stoppedMs: number): Gap[] {
  const gaps: Gap[] = [];
  for (let i = 0; i < cameras; i++) {
    const camRows = rows.filter((r) => r.camera === `c${i}`).sort((a, b) => a.startMs - b.startMs);
    const starts = [...camRows.map((r) => r.startMs), stoppedMs];
    for (let j = 1; j < starts.length; j++) {
      const covered = Math.max(...camRows.slice(0, j).map((r) => r.endMs));
      const allowed = j === camRows.length ? 1.5 * segmentMs : GAP_MS;
      if (starts[j] - covered <= allowed) continue;
      const gap: Gap = { camera: `c${i}`, fromMs: covered, toMs: starts[j] };
      // The segment under way (and, at a kill -9, the one being sealed) may be lost; recording must be back by RECOVERY_MS.
      const candidates = outages.filter((o) => gap.fromMs >= o.startMs - 2 * segmentMs && gap.fromMs <= o.endMs && gap.toMs <= o.endMs + RECOVERY_MS);
      gap.cause = candidates.sort((a, b) => Math.abs(a.startMs - gap.fromMs) - Math.abs(b.startMs - gap.fromMs))[0];
      gaps.push(gap);
    }
  }
  return gaps;
}

interface ReportInput {
  opts: Options;
  startedMs: number;
  stoppedMs: number;
  rows: FileRow[];
  openEvents: { camera: string; startMs: number }[];
  outages: Outage[];
  cacheFiles: Map<string, CacheFile>;
  samples: Sample[];
  verify: { failed: number; missing: number; unindexed: number; authenticated: number; output: string };
  log: string;
  orphans: Orphan[];
  volet: VoletProcess;
  diskMb: number;
  storage: string;
}

function report(input: ReportInput): void {
  const { opts, startedMs, stoppedMs, rows, outages, samples, verify, log } = input;
  const segmentMs = opts.segmentSeconds * 1000;
  const runMs = stoppedMs - startedMs;
  const gaps = gapsOf(rows, opts.cameras, segmentMs, outages, stoppedMs);
  const unexplained = gaps.filter((g) => !g.cause);
  const kills = [...outages.filter((o) => o.kind === 'volet kill -9').map((o) => o.startMs), stoppedMs].sort((a, b) => a - b);
  const lost = lostSegments(input.cacheFiles, rows, kills, segmentMs, opts.cameras);
  const drift = driftOf(samples, startedMs, runMs, outages, input.volet.starts);
  const logLines = log.split('\n').filter((l) => l.startsWith('{'));
  const retention = logLines.filter((l) => l.includes('retention: deleted old footage'));
  const deletedByRetention = retention.reduce((sum, l) => sum + (Number(/"files":(\d+)/.exec(l)?.[1]) || 0), 0);
  const problems = logLines.filter((l) => /"level":"(error|fatal)"/.test(l));
  const warnings = logLines.filter((l) => /"level":"warn"/.test(l) && !/setup code|no user/i.test(l));
  const loggedLost = problems.filter((l) => l.includes('"file":"c') && /"file":"[^"]*\/segment-/.test(l) && !l.includes('then retrying'));
  const df = execFileSync('df', ['-B1', '--output=size,avail', input.storage], { encoding: 'utf8' }).trim().split('\n')[1].trim().split(/\s+/).map(Number);

  print('');
  print('| measure | result | target |');
  print('|---|---|---|');
  print(`| outages caused | ${outages.length} (${countBy(outages.map((o) => o.kind))}) | |`);
  print(`| segments in the index at the end | ${rows.length}; ${deletedByRetention} files deleted by retention (${retention.length} passes logged); disk ${((1 - df[1] / df[0]) * 100).toFixed(0)} % full at the end | |`);
  print(`| storage at the end (after \`volet verify\`) | ${diskUse(input.storage)} | |`);
  print(`| recording gaps (> ${GAP_MS / 1000} s without footage) | ${gaps.length}, ${gaps.length - unexplained.length} explained by an outage | |`);
  print(`| gaps not explained by an outage | ${unexplained.length} | 0 |`);
  print(`| completed segments lost | ${lost.lost} of ${lost.completed} completed (${lost.retired} later deleted by retention) | 0 |`);
  print(`| segments Volet itself logged as not stored | ${loggedLost.length} | |`);
  print(`| \`volet verify\` | ${verify.authenticated} authenticated, ${verify.failed} failed, ${verify.missing} missing, ${verify.unindexed} unindexed | 0 failed |`);
  print(`| RSS of Volet's tree, first → last quarter | ${drift ? `${mb(drift.rss[0])} → ${mb(drift.rss[1])} (${pct(drift.rss)})` : 'too few settled samples'} | ≤ 10 % |`);
  print(`| open files of Volet's tree, first → last quarter | ${drift ? `${drift.fds[0].toFixed(0)} → ${drift.fds[1].toFixed(0)} (${pct(drift.fds)})` : '—'} | ≤ 10 % |`);
  print(
    `| events without an end in the index after the clean stop | ${input.openEvents.length}${input.openEvents.length ? ` (${input.openEvents.map((e) => `${e.camera} from +${((e.startMs - startedMs) / 1000).toFixed(0)} s`).join(', ')})` : ''} | 0 |`,
  );
  const longest = input.orphans.reduce((max, o) => Math.max(max, o.survivedMs), 0);
  const killedAt = input.orphans.filter((o) => o.survivedMs >= ORPHAN_LIMIT_MS).length;
  print(
    `| child processes that outlived a \`kill -9\`ed Volet by > 0.5 s | ${input.orphans.length} (${countBy(input.orphans.map((o) => o.command))})` +
      `${input.orphans.length ? `, longest ${(longest / 1000).toFixed(1)} s${killedAt ? `, ${killedAt} still running after ${ORPHAN_LIMIT_MS / 1000} s (killed by the harness)` : ''}` : ''} | 0 |`,
  );
  print(`| Volet log: error/fatal lines, warnings | ${problems.length}, ${warnings.length} | |`);

  print('');
  print('Timeline (s from start):');
  const events: [number, string][] = [
    ...outages.map((o): [number, string] => [o.startMs, `${o.kind} for ${((o.endMs - o.startMs) / 1000).toFixed(1)} s${o.note ? ` — ${o.note}` : ''}`]),
    ...input.volet.starts.map((s): [number, string] => [s, 'volet run started']),
    ...gaps.map((g): [number, string] => [
      g.fromMs,
      `gap ${g.camera} ${((g.toMs - g.fromMs) / 1000).toFixed(1)} s until ${g.toMs === stoppedMs ? 'the end' : `+${((g.toMs - startedMs) / 1000).toFixed(1)} s`}${g.cause ? ` (${g.cause.kind}; recording back ${((g.toMs - g.cause.endMs) / 1000).toFixed(1)} s after it ended)` : ' — UNEXPLAINED'}`,
    ]),
    ...retention.map((l): [number, string] => [Date.parse(/"time":"([^"]+)"/.exec(l)?.[1] ?? '') || 0, `retention deleted ${/"files":(\d+)/.exec(l)?.[1] ?? '?'} files`]),
  ];
  for (const [at, what] of events.sort((a, b) => a[0] - b[0])) print(`  +${((at - startedMs) / 1000).toFixed(1).padStart(6)}  ${what}`);
  for (const d of lost.details) print(`lost: ${d}`);
  print(`Volet's log: ${KEPT_LOG}`);
  if (verify.failed + verify.missing + verify.unindexed > 0) print(`volet verify said:\n${verify.output.split('\n').filter((l) => /^(FAILED|MISSING|UNINDEXED)/.test(l)).slice(0, 20).join('\n')}`);
  const seen = new Set<string>();
  for (const line of [...problems, ...warnings]) {
    const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? line;
    const error = /"err(?:or)?":"([^"]{0,120})/.exec(line)?.[1] ?? '';
    const key = `${msg} ${error.replace(/\d+/g, 'N')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    print(`log: ${line.slice(0, 300)}`);
  }
}

/** Where the storage filesystem's space went, by kind of file. */
function diskUse(storage: string): string {
  const sums = new Map<string, number>();
  for (const entry of readdirSync(storage, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const name = entry.name;
    const kind = name.endsWith('.tmp') ? '.tmp' : name.startsWith('volet.db') ? 'index' : name.endsWith('.volet') ? name.split('-')[0] : 'other';
    sums.set(kind, (sums.get(kind) ?? 0) + statSync(join(entry.parentPath, name)).size);
  }
  return [...sums].map(([kind, bytes]) => `${kind} ${(bytes / 1e6).toFixed(1)} MB`).join(', ');
}

/** Mean RSS and fd count over settled samples of the first and the last quarter. */
function driftOf(samples: Sample[], startedMs: number, runMs: number, outages: Outage[], starts: number[]) {
  const settled = samples.filter(
    (s) => starts.every((t) => s.atMs < t || s.atMs - t > SETTLE_MS) && outages.every((o) => s.atMs < o.startMs || s.atMs - o.endMs > SETTLE_MS),
  );
  const first = settled.filter((s) => s.atMs - startedMs < runMs / 4);
  const last = settled.filter((s) => s.atMs - startedMs >= (3 * runMs) / 4);
  if (first.length === 0 || last.length === 0) return undefined;
  const mean = (list: Sample[], pick: (s: Sample) => number) => list.reduce((sum, s) => sum + pick(s), 0) / list.length;
  return { rss: [mean(first, (s) => s.rss), mean(last, (s) => s.rss)], fds: [mean(first, (s) => s.fds), mean(last, (s) => s.fds)] };
}

function runVerify(configFile: string, passphraseFile: string) {
  let output: string;
  try {
    output = execFileSync(process.execPath, ['bin/volet.js', '--config', configFile, 'verify', '--passphrase-file', passphraseFile], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  const count = (prefix: string) => output.split('\n').filter((l) => l.startsWith(prefix)).length;
  const authenticated = Number(/(\d+) file\(s\) authenticated/.exec(output)?.[1] ?? NaN);
  if (Number.isNaN(authenticated)) throw new Error(`volet verify did not run:\n${output}`);
  return { authenticated, failed: count('FAILED'), missing: count('MISSING'), unindexed: count('UNINDEXED'), output };
}

/** `volet run` runs the compiled dist/: soaking an older build than src/ would mislead. */
function warnIfDistIsStale(): void {
  const main = join(REPO, 'dist/cli/main.js');
  if (!existsSync(main)) throw new Error('dist/ is missing: run `npm run build` first');
  const built = statSync(main).mtimeMs;
  const newer = readdirSync(join(REPO, 'src'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && statSync(join(e.parentPath, e.name)).mtimeMs > built);
  if (newer.length > 0) print(`warning: ${newer.length} file(s) in src/ are newer than dist/ (run \`npm run build\`), e.g. ${newer[0].name}`);
}

// --- small helpers ----------------------------------------------------------------------------------

/** A small seeded PRNG: the same seed gives the same outage schedule. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readQuietly(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function countBy(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n} × ${k}`).join(', ');
}

const print = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const sleepUntil = (atMs: number) => sleep(Math.max(0, atMs - Date.now()));
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const pct = ([a, b]: number[]) => `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)} %`;
const iso = (ms: number) => new Date(ms).toISOString().slice(11, 19);
