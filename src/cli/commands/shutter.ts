import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VoletConfig } from '../../config/schema.ts';
import type { ShutterRepository, ShutterRequest } from '../../privacy/repository.ts';
import type { CameraTriggers } from '../../privacy/triggers.ts';
import type { ShutterState } from '../../privacy/types.ts';
import { loadConfigOrExit } from '../config-option.ts';
import { runOrExit } from '../run-or-exit.ts';

/** The camera `volet run` starts when none is configured (src/app/demo.ts). */
const DEMO_CAMERA = 'demo';

interface ChangeOptions {
  wait: string;
  by?: string;
}

/**
 * `volet shutter status|open|close`. The CLI never decides a shutter itself: it queues a request in
 * the shared database and waits for the running Volet (which polls it every second) to apply it.
 */
export function registerShutterCommand(program: Command): void {
  const shutter = program
    .command('shutter')
    .description('Privacy shutter: a closed camera is not watched at all (no decoding, recording, events)');
  shutter
    .command('status')
    .description('Show every camera\'s shutter, what decided it, and who is home')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }, command: Command) => runOrExit(async () => status(command, opts.json === true)));
  for (const [verb, state] of [
    ['close', 'closed'],
    ['open', 'open'],
  ] as const) {
    shutter
      .command(`${verb} <cameras...>`)
      .description(
        verb === 'close'
          ? 'Close shutters (until the next presence or schedule change, see volet.example.yml)'
          : 'Open shutters (until the next presence or schedule change)',
      )
      .option('--wait <seconds>', 'how long to wait for the running Volet to apply it', '5')
      .option('--by <name>', 'recorded as who changed it (default: cli:<your user name>)')
      .action((cameras: string[], opts: ChangeOptions, command: Command) =>
        runOrExit(async () => change(command, cameras, state, opts)),
      );
  }
}

function out(command: Command, text: string): void {
  command.configureOutput().writeOut!(text);
}

/** Imported when a command runs, not for `volet --help`. */
async function openRepository(config: VoletConfig): Promise<{ repo: ShutterRepository; close(): void }> {
  const { openDatabase } = await import('../../storage/database.ts');
  const { ShutterRepository } = await import('../../privacy/repository.ts');
  const db = openDatabase(join(resolve(config.storage.path), 'volet.db'));
  return { repo: new ShutterRepository(db), close: () => db.close() };
}

function knownCameras(config: VoletConfig): string[] {
  const names = Object.keys(config.cameras);
  return names.length > 0 ? names : [DEMO_CAMERA];
}

async function change(command: Command, cameras: string[], state: ShutterState, opts: ChangeOptions): Promise<void> {
  const config = await loadConfigOrExit(command);
  const known = knownCameras(config);
  const unknown = cameras.filter((c) => !known.includes(c));
  if (unknown.length > 0) {
    throw new Error(`Unknown camera ${unknown.map((c) => `"${c}"`).join(', ')} (cameras: ${known.join(', ')})`);
  }
  const waitMs = Number(opts.wait) * 1000;
  if (!Number.isFinite(waitMs) || waitMs < 0) throw new Error(`--wait must be a number of seconds, not "${opts.wait}"`);
  const by = opts.by ?? `cli:${userInfo().username}`;
  const { repo, close } = await openRepository(config);
  try {
    const ids = [...new Set(cameras)].map((camera) => repo.request(camera, state, by, Date.now()));
    const deadline = Date.now() + waitMs;
    let requests = ids.map((id) => repo.requestById(id)!);
    while (requests.some((r) => r.appliedAt === null) && Date.now() < deadline) {
      await sleep(100);
      requests = ids.map((id) => repo.requestById(id)!);
    }
    for (const request of requests) out(command, `${describeOutcome(request)}\n`);
  } finally {
    close();
  }
}

function describeOutcome(request: ShutterRequest): string {
  const verb = request.state === 'closed' ? 'close' : 'open';
  if (request.appliedAt === null) {
    return `${request.camera}: ${verb} requested; Volet does not seem to be running, it applies when Volet starts`;
  }
  if (request.result === null) return `${request.camera}: not applied (${request.note ?? 'refused'})`;
  if (request.result !== request.state) return `${request.camera}: still ${request.result} (${request.note ?? 'held by another trigger'})`;
  return `${request.camera}: ${request.result}`;
}

interface CameraRow {
  camera: string;
  state: ShutterState | 'unknown';
  reason: string | null;
  by: string | null;
  since: number | null;
  manual: { state: ShutterState; by: string; at: number } | null;
  triggers: CameraTriggers;
}

async function status(command: Command, json: boolean): Promise<void> {
  const config = await loadConfigOrExit(command);
  const privacy = config.privacy;
  const { cameraTriggers } = await import('../../privacy/triggers.ts');
  const { effectiveTimeZone } = await import('../../privacy/schedule.ts');
  const { repo, close } = await openRepository(config);
  try {
    const states = repo.states();
    const overrides = repo.overrides();
    const presence = repo.presence();
    const intrusion = repo.intrusion();
    const pending = repo.pendingRequests();
    const cameras: CameraRow[] = knownCameras(config).map((camera) => {
      const s = states.get(camera);
      const o = overrides.get(camera);
      return {
        camera,
        state: s?.state ?? 'unknown',
        reason: s?.reason ?? null,
        by: s?.by ?? null,
        since: s?.since ?? null,
        manual: o ? { state: o.state, by: o.by, at: o.at } : null,
        triggers: cameraTriggers(privacy, camera),
      };
    });
    const residents = Object.keys(privacy.residents).map((name) => ({ name, ...(presence.get(name) ?? { state: 'unknown', source: null, at: null }) }));
    if (json) {
      const report = { cameras, residents, intrusion: intrusion ?? null, pending };
      out(command, `${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const timeZone = effectiveTimeZone(privacy.timeZone);
    const time = (ms: number | null) => (ms === null ? '' : new Date(ms).toLocaleString('sv-SE', { timeZone }));
    const rows = [
      ['CAMERA', 'SHUTTER', 'SINCE', 'REASON', 'BY', 'TRIGGERS'],
      ...cameras.map((c) => [c.camera, c.state, time(c.since), c.reason ?? '', c.by ?? '', describeTriggers(c.triggers)]),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const row of rows) out(command, `${row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()}\n`);
    if (cameras.some((c) => c.state === 'unknown')) out(command, 'unknown = Volet has not decided this camera yet (not started since it was added)\n');
    if (residents.length > 0) {
      const who = residents.map((r) => `${r.name} ${r.state}${r.source ? ` (${r.source}, ${time(r.at)})` : ''}`);
      out(command, `Residents: ${who.join(', ')}\n`);
    }
    if (privacy.intrusion.token) {
      const alarm = intrusion ?? { armed: false, triggered: false, by: '', at: 0 };
      out(command, `Intrusion alarm: ${alarm.armed ? 'armed' : 'disarmed'}${alarm.triggered ? ', TRIGGERED' : ''}${alarm.by ? ` (by ${alarm.by}, ${time(alarm.at)})` : ''}\n`);
    }
    for (const r of pending) {
      out(command, `Pending: ${r.camera} ${r.state === 'closed' ? 'close' : 'open'} by ${r.by} at ${time(r.requestedAt)} (applies when Volet picks it up)\n`);
    }
  } finally {
    close();
  }
}

function describeTriggers(t: CameraTriggers): string {
  const parts = [
    ...(t.presence ? ['presence'] : []),
    ...t.schedules.map((s) => `schedule "${s}"`),
    ...(t.intrusion ? ['intrusion'] : []),
    ...(t.autoReopenMinutes > 0 ? [`auto-reopen ${t.autoReopenMinutes} min`] : []),
    ...t.hooks.map((h) => `${h} hook`),
  ];
  return parts.length > 0 ? parts.join(', ') : 'manual only';
}
