import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { ShutterController, type ShutterControllerOptions } from '../../src/privacy/controller.ts';
import { ShutterRepository } from '../../src/privacy/repository.ts';
import type { PrivacyConfig } from '../../src/privacy/triggers.ts';
import type { ShutterChange } from '../../src/privacy/types.ts';
import { openDatabase, type Db } from '../../src/storage/database.ts';
import { AuditLog } from '../../src/web/audit.ts';

export const ALICE_TOKEN = 'alice-token-0123456789abcdef';
export const BOB_TOKEN = 'bob-token-0123456789abcdef';
export const ALARM_TOKEN = 'alarm-token-0123456789abcdef';

/** The privacy section of a config, parsed and defaulted by the real schema. */
export function privacyConfig(yaml: string, cameras = ['porch', 'living']): PrivacyConfig {
  const cameraLines = cameras.map((c) => `  ${c}: { main: rtsp://127.0.0.1/${c} }`).join('\n');
  const indented = yaml
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  const section = yaml.trim() === '' ? 'privacy: {}' : `privacy:\n${indented}`;
  return parseConfig(`cameras:\n${cameraLines}\n${section}\n`).privacy;
}

export const TWO_RESIDENTS = `
residents:
  alice: { token: ${ALICE_TOKEN} }
  bob: { token: ${BOB_TOKEN} }
`;

/** A manual clock for timers measured in minutes. */
export class TestClock {
  constructor(public t: number) {}
  readonly now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface Harness {
  dir: string;
  dbPath: string;
  db: Db;
  audit: AuditLog;
  logger: Logger;
  logLines: Array<Record<string, unknown>>;
  clock: TestClock;
  controllers: ShutterController[];
  /** A controller on its own connection to the shared database file, its changes collected. */
  controller(privacy: PrivacyConfig, more?: Partial<ShutterControllerOptions>): ShutterController & { changes: ShutterChange[] };
  /** Another connection to the same file, as another process would open. */
  openOther(): Db;
  cleanup(): Promise<void>;
}

export function harness(start = Date.parse('2026-01-15T12:00:00Z')): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'volet-privacy-'));
  const dbPath = join(dir, 'volet.db');
  const db = openDatabase(dbPath);
  const logLines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger('debug', sink);
  const clock = new TestClock(start);
  const controllers: ShutterController[] = [];
  const others: Db[] = [];
  const h: Harness = {
    dir,
    dbPath,
    db,
    audit: new AuditLog(db),
    logger,
    logLines,
    clock,
    controllers,
    controller(privacy, more = {}) {
      const own = openDatabase(dbPath);
      others.push(own);
      const controller = new ShutterController({
        repo: new ShutterRepository(own),
        cameras: ['porch', 'living'],
        privacy,
        logger,
        audit: new AuditLog(own),
        now: clock.now,
        pollMs: 60_000,
        probe: async () => false,
        ...more,
      }) as ShutterController & { changes: ShutterChange[] };
      controller.changes = [];
      controller.on('change', (c) => controller.changes.push(c));
      controllers.push(controller);
      return controller;
    },
    openOther() {
      const other = openDatabase(dbPath);
      others.push(other);
      return other;
    },
    async cleanup() {
      for (const c of controllers) await c.stop();
      for (const o of others) o.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export const MINUTE = 60_000;
