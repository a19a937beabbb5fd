/**
 * A real web server on 127.0.0.1 with a real SQLite file in a temp dir, plus small real
 * implementations of the capabilities the lead will wire from the vault, record and privacy modules.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import sodium from 'libsodium-wrappers-sumo';
import { EventBus, type CameraStatus } from '../../src/events/bus.ts';
import { assessHealth, type HealthReport } from '../../src/health/assess.ts';
import { createLogger } from '../../src/log/logger.ts';
import { LabelMaskRepository } from '../../src/objects/label-masks.ts';
import { openDatabase, type Db } from '../../src/storage/database.ts';
import type {
  CameraInfo,
  ClipSource,
  EventFilter,
  HealthAccess,
  RecordedEvent,
  RecordingsAccess,
  ShutterAccess,
  ShutterState,
  StorageUsage,
  VaultAccess,
  VaultState,
} from '../../src/web/access.ts';
import { readSetupCode } from '../../src/web/auth/setup-code.ts';
import type { ThrottleLimits } from '../../src/web/auth/throttle.ts';
import { createWebRepositories, createWebServer, type WebDeps, type WebServer } from '../../src/web/server.ts';
import { testImagesDir } from '../support/clips.ts';

await sodium.ready;

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

/** A vault whose passphrase check is a real Argon2id hash (at libsodium's minimum cost). */
export class MemoryVault implements VaultAccess {
  private hash?: string;
  private unlocked = false;

  status(): VaultState {
    return { initialised: this.hash !== undefined, unlocked: this.unlocked };
  }
  async init(passphrase: string): Promise<void> {
    if (this.hash) throw new Error('vault already initialised');
    this.hash = sodium.crypto_pwhash_str(passphrase, sodium.crypto_pwhash_OPSLIMIT_MIN, sodium.crypto_pwhash_MEMLIMIT_MIN);
    this.unlocked = true;
  }
  async unlock(passphrase: string): Promise<void> {
    if (!this.hash || !sodium.crypto_pwhash_str_verify(this.hash, passphrase)) throw named('WrongPassphraseError', 'Wrong passphrase');
    this.unlocked = true;
  }
  lock(): void {
    this.unlocked = false;
  }
  assertUnlocked(): void {
    if (!this.unlocked) throw named('VaultLockedError', 'The vault is locked');
  }
}

/** Events in memory, a real JPEG as every snapshot and a real file as every clip. */
export class MemoryRecordings implements RecordingsAccess {
  readonly events = new Map<string, RecordedEvent>();
  readonly jpeg = readFileSync(join(testImagesDir, 'person.jpg'));

  constructor(
    private readonly vault: MemoryVault,
    readonly clipPath: string,
  ) {}

  add(event: Omit<RecordedEvent, 'kept' | 'hasClip' | 'hasSnapshot' | 'zones' | 'score'> & Partial<RecordedEvent>): void {
    this.events.set(event.id, { kept: false, hasClip: true, hasSnapshot: true, zones: [], score: 0.9, ...event });
  }
  async listEvents(filter: EventFilter): Promise<RecordedEvent[]> {
    return [...this.events.values()]
      .filter((e) => filter.cameras.includes(e.camera))
      .filter((e) => !filter.label || e.label === filter.label)
      .filter((e) => filter.from === undefined || e.start >= filter.from)
      .filter((e) => filter.to === undefined || e.start < filter.to)
      .filter((e) => filter.before === undefined || e.start < filter.before)
      .sort((a, b) => b.start - a.start)
      .slice(0, filter.limit);
  }
  async eventCamera(id: string): Promise<string | undefined> {
    return this.events.get(id)?.camera;
  }
  async getEvent(id: string): Promise<RecordedEvent | undefined> {
    return this.events.get(id);
  }
  async eventSnapshot(id: string): Promise<Buffer | undefined> {
    this.vault.assertUnlocked();
    return this.events.has(id) ? this.jpeg : undefined;
  }
  async eventClip(id: string): Promise<ClipSource | undefined> {
    this.vault.assertUnlocked();
    return this.events.has(id) ? { path: this.clipPath, size: statSync(this.clipPath).size } : undefined;
  }
  async keepEvent(id: string, kept: boolean): Promise<boolean> {
    const e = this.events.get(id);
    if (!e) return false;
    e.kept = kept;
    return true;
  }
  async storageUsage(): Promise<StorageUsage> {
    return { totalBytes: 100e9, freeBytes: 60e9, usedByVoletBytes: 12e9, perCamera: { porch: 8e9, garden: 4e9 } };
  }
}

export class MemoryShutter implements ShutterAccess {
  readonly states = new Map<string, ShutterState>();
  readonly changes: { camera: string; state: ShutterState; by: string }[] = [];
  state(camera: string): ShutterState {
    return this.states.get(camera) ?? 'open';
  }
  async set(camera: string, state: ShutterState, by: string): Promise<void> {
    this.states.set(camera, state);
    this.changes.push({ camera, state, by });
  }
}

/** Cameras that record 2-s segments, judged by the real assessHealth; tests make one fall silent. */
export class MemoryHealth implements HealthAccess {
  /** Seconds since a camera last finished a segment (default 1). */
  readonly silentSeconds = new Map<string, number>();
  disk = { freeBytes: 60e9, totalBytes: 100e9, floorBytes: 5e9 };

  constructor(
    private readonly cameras: () => string[],
    private readonly vault: MemoryVault,
    private readonly shutter: MemoryShutter,
  ) {}

  async report(): Promise<HealthReport> {
    const now = Date.now();
    return assessHealth({
      now,
      segmentSeconds: 2,
      cameras: this.cameras().map((name) => ({
        name,
        shutter: this.shutter.state(name),
        recordMode: 'continuous',
        streaming: { state: 'streaming' },
        recording: { startedAt: now - 600_000, lastSegmentAt: now - (this.silentSeconds.get(name) ?? 1) * 1000, lastSegmentMs: 2000, lastSealedAt: now - 1000 },
      })),
      disk: this.disk,
      index: { writable: true },
      vault: this.vault.status(),
      eventLoop: { worstLagMs: 0, windowSeconds: 60 },
    });
  }
}

export function cameraStatus(camera: string, state: CameraStatus['state'] = 'streaming'): CameraStatus {
  return { camera, state, fps: 5, framesRead: 100, framesDropped: 0, since: Date.now() };
}

export interface TestServer extends WebServer {
  dir: string;
  db: Db;
  bus: EventBus;
  vault: MemoryVault;
  recordings: MemoryRecordings;
  shutter: MemoryShutter;
  health: MemoryHealth;
  labelMasks: LabelMaskRepository;
  /** Everything the server logged, for "no secret in the log" checks. */
  log(): string;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  https?: boolean;
  /** Camera name → source URL (rtsp:// or file://) for live view; default: the clip file as porch and garden. */
  sources?: Record<string, string>;
  /** Clip served for every event (any file). */
  clipPath: string;
  throttle?: Partial<ThrottleLimits>;
  config?: Partial<WebDeps['config']>;
  apiRoutes?: WebDeps['apiRoutes'];
  /** Detect size reported for every camera. */
  detect?: { width: number; height: number };
}

export async function startTestServer(opts: TestServerOptions): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'volet-web-'));
  const db = openDatabase(join(dir, 'volet.db'));
  const bus = new EventBus();
  const lines: string[] = [];
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  );
  const vault = new MemoryVault();
  const recordings = new MemoryRecordings(vault, opts.clipPath);
  const shutter = new MemoryShutter();
  const fileUrl = pathToFileURL(opts.clipPath).href;
  const sources = opts.sources ?? { porch: fileUrl, garden: fileUrl };
  const cameras = (): CameraInfo[] =>
    Object.keys(sources).map((name) => ({ name, status: cameraStatus(name), detect: opts.detect ?? { width: 640, height: 360 } }));
  const health = new MemoryHealth(() => Object.keys(sources), vault, shutter);
  const labelMasks = new LabelMaskRepository(db);
  const config = {
    host: '127.0.0.1',
    port: 0,
    https: opts.https ?? false,
    sessionIdleHours: 12,
    sessionMaxDays: 30,
    liveLingerSeconds: 0,
    trustProxy: false,
    ...opts.config,
  };
  const server = await createWebServer({
    config,
    repositories: createWebRepositories(db, config),
    bus,
    logger,
    dataDir: dir,
    cameras,
    liveSource: (camera) => sources[camera],
    vault,
    recordings,
    shutter,
    labelMasks,
    health,
    apiRoutes: opts.apiRoutes,
    security: { passwordStrength: 'minimum', throttle: opts.throttle },
  });
  return {
    ...server,
    dir,
    db,
    bus,
    vault,
    recordings,
    shutter,
    health,
    labelMasks,
    log: () => lines.join(''),
    async stop() {
      await server.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  json: any;
  text: string;
}

/** A browser-like API client: keeps the session cookie and sends the CSRF token it was given. */
export class Client {
  cookie?: string;
  csrf?: string;

  constructor(readonly base: string) {}

  async request(
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string>; csrf?: string | null } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookie) headers.cookie = this.cookie;
    const csrf = init.csrf === undefined ? this.csrf : init.csrf;
    if (csrf && method !== 'GET') headers['x-csrf-token'] = csrf;
    const res = await fetch(this.base + path, {
      method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      redirect: 'manual',
    });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) {
      const [pair] = setCookie.split(';');
      this.cookie = pair.endsWith('=') ? undefined : pair;
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (json && typeof json === 'object' && 'csrfToken' in json) this.csrf = (json as { csrfToken: string }).csrfToken;
    return { status: res.status, headers: res.headers, json, text };
  }

  get(path: string, init?: { headers?: Record<string, string> }) {
    return this.request('GET', path, init);
  }
  post(path: string, body?: unknown, init: { headers?: Record<string, string>; csrf?: string | null } = {}) {
    return this.request('POST', path, { ...init, body: body ?? {} });
  }
  put(path: string, body: unknown) {
    return this.request('PUT', path, { body });
  }
  patch(path: string, body: unknown) {
    return this.request('PATCH', path, { body });
  }
  delete(path: string) {
    return this.request('DELETE', path);
  }

  async login(username: string, password: string): Promise<Reply> {
    return this.post('/api/auth/login', { username, password });
  }
}

export const ADMIN = { username: 'alice', password: 'correct horse battery' };
export const VAULT_PASSPHRASE = 'a long vault passphrase';

/** The setup code as its owner reads it: from the data directory, as `volet setup-code` does. */
export function setupCodeOf(server: TestServer): string {
  const code = readSetupCode(server.dir);
  if (!code) throw new Error(`no setup code in ${server.dir}`);
  return code;
}

/** Runs first-start setup and returns the signed-in admin client. */
export async function setUp(server: TestServer): Promise<Client> {
  const admin = new Client(server.url);
  const res = await admin.post('/api/setup', { setupCode: setupCodeOf(server), ...ADMIN, vaultPassphrase: VAULT_PASSPHRASE });
  if (res.status !== 201) throw new Error(`setup failed: ${res.status} ${res.text}`);
  return admin;
}

/** Creates a user as the admin and returns a signed-in client for it. */
export async function userClient(server: WebServer, admin: Client, username: string, grants: Record<string, string | string[]>, isAdmin = false): Promise<Client> {
  const password = `${username} password 123`;
  const created = await admin.post('/api/users', { username, password, admin: isAdmin, grants });
  if (created.status !== 201) throw new Error(`create ${username}: ${created.status} ${created.text}`);
  const client = new Client(server.url);
  const res = await client.login(username, password);
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${res.text}`);
  return client;
}
