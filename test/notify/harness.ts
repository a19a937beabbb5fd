import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { EventBus, type ObjectEvent } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { Notifier, type NotificationsConfig, type NotifierDeps } from '../../src/notify/notifier.ts';
import { NotifyRepository } from '../../src/notify/repository.ts';
import { openDatabase, type Db } from '../../src/storage/database.ts';

export const VIEWER = 'https://nvr.home.arpa:8443';

/** A Notifier on a fresh SQLite file, attached to a bus, with its log lines captured. */
export interface Harness {
  notifier: Notifier;
  bus: EventBus;
  db: Db;
  dbPath: string;
  logs: () => string;
  /** Emits event:start and waits until every resulting notification is delivered or given up. */
  emitStart: (event: ObjectEvent) => Promise<void>;
  close: () => Promise<void>;
}

/** Deps to override; `config` is merged over a config that allows no destination at all. */
export type HarnessOptions = Omit<Partial<NotifierDeps>, 'config'> & { config?: Partial<NotificationsConfig> };

export async function harness(over: HarnessOptions = {}): Promise<Harness> {
  const { config, ...deps } = over;
  const dir = await mkdtemp(join(tmpdir(), 'volet-notify-'));
  const dbPath = join(dir, 'volet.db');
  const db = openDatabase(dbPath);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const notifier = new Notifier({
    repo: new NotifyRepository(db),
    logger: createLogger('debug', sink),
    viewerBaseUrl: VIEWER,
    presence: () => 'unknown',
    delivery: { retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 50 }, timeoutMs: 2000 },
    ...deps,
    config: { cooldownSeconds: 0, pushServices: [], allowedHosts: [], ...config },
  });
  const bus = new EventBus();
  notifier.attach(bus);
  return {
    notifier,
    bus,
    db,
    dbPath,
    logs: () => lines.join(''),
    emitStart: async (event) => {
      bus.emit('event:start', event);
      await notifier.idle();
    },
    close: async () => {
      await notifier.close();
      if (db.open) db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;

export function personEvent(over: Partial<ObjectEvent> = {}): ObjectEvent {
  counter += 1;
  return {
    id: `ev-${counter}`,
    camera: 'porch',
    label: 'person',
    score: 0.87,
    start: Date.UTC(2026, 4, 17, 9, 30, 0, 250),
    zones: [],
    box: { x: 10, y: 20, width: 30, height: 60 },
    ...over,
  };
}
