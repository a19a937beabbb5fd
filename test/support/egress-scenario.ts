/**
 * The egress test's scenario, run inside a loopback-only network namespace (test/app/egress.test.ts
 * starts it through ./network-namespace.ts):
 *
 *   node --import tsx test/support/egress-scenario.ts <workdir>
 *
 * Each peer Volet may talk to gets its own loopback address, so destinations can be told apart by
 * host: the RTSP camera playing a person, a Web Push service with one subscribed user whose rule
 * asks for people, and an FTP backup target. A DNS server that resolves nothing records every name
 * asked. `volet run` runs as users run it (the CLI, a volet.yml), under strace, until the
 * person became an event, a push and a backup, and for at least MIN_UPTIME_MS. What happened is
 * written to <workdir>/result.json as an {@link EgressScenarioResult}; the trace to <workdir>/volet.strace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ruleSchema } from '../../src/notify/rules.ts';
import { NotifyRepository } from '../../src/notify/repository.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { StorageIndex } from '../../src/storage/storage-index.ts';
import { Vault } from '../../src/vault/vault.ts';
import { PasswordHasher } from '../../src/web/auth/password.ts';
import { UserRepository } from '../../src/web/auth/users.ts';
import { startFtpServer } from './backup-servers/ftp-server.ts';
import { personWalkClip } from './clips.ts';
import { startDnsRecorder } from './dns-recorder.ts';
import { startMosquitto, watch } from './mosquitto.ts';
import { PushServiceStandIn } from './push-service.ts';
import { startRtspCamera } from './rtsp-camera.ts';
import { STRACE_CONTACT_ARGS } from './strace-contacts.ts';
import { filesUnder, repoRoot, sharedModelsDir, TEST_KDF_LIMITS, TEST_PASSPHRASE } from './volet-fixture.ts';

/** One loopback address per peer; all of 127.0.0.0/8 is loopback. */
export const PEERS = { camera: '127.0.0.2', push: '127.0.0.3', backup: '127.0.0.4', mqtt: '127.0.0.5' } as const;
/** Where the namespace's /etc/resolv.conf points. */
export const NAMESERVER = '127.0.0.53';
/** onnxruntime's telemetry made its first upload about 10 s after start when it was on; stay up well past that. */
export const MIN_UPTIME_MS = 25_000;
const DEADLINE_MS = 70_000;

export interface EgressScenarioResult {
  /** How Volet ended after SIGTERM (or by itself). */
  exit: { code: number | null; signal: string | null; uptimeMs: number };
  /** Decrypted push payloads the push service accepted, and its rejections. */
  pushes: string[];
  rejectedPushes: string[];
  /** Files on the FTP target, relative to its root. */
  backupFiles: string[];
  /** Messages on the MQTT broker's volet/egress/events topic. */
  mqttEvents: string[];
  /** Event ids in Volet's index after it stopped. */
  events: string[];
  /** Names Volet (or anything in the namespace) tried to resolve. */
  dnsQueries: { name: string; type: number }[];
  /** Files under Volet's HOME, where onnxruntime's telemetry keeps a device id and an event cache. */
  homeFiles: string[];
  /** Volet's output, the end of it. */
  log: string;
}

/**
 * Volet's environment: the caller's, without what would turn onnxruntime's telemetry off for us.
 * onnxruntime suppresses it by itself on CI (CI, GITHUB_ACTIONS … set), so CI would pass even if
 * Volet did nothing; the test must see what a user's machine sees.
 */
export function userEnvironment(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, '.cache'), VOLET_MODELS_DIR: sharedModelsDir };
  for (const name of [
    'CI', 'TF_BUILD', 'GITHUB_ACTIONS', 'GITLAB_CI', 'CIRCLECI', 'TRAVIS', 'JENKINS_URL', 'CODEBUILD_BUILD_ID', 'BUILDKITE',
    'TEAMCITY_VERSION', 'APPVEYOR', 'BITBUCKET_BUILD_NUMBER', 'SYSTEM_TEAMFOUNDATIONCOLLECTIONURI',
    'ORT_RUNNING_UNIT_TESTS', 'ORT_DISABLE_TELEMETRY', 'ORT_TELEMETRY_DISABLED', 'NODE_TEST_CONTEXT',
  ]) {
    delete env[name];
  }
  return env;
}

async function run(workdir: string): Promise<EgressScenarioResult> {
  const home = join(workdir, 'home');
  const storage = join(workdir, 'storage');
  const ftpRoot = join(workdir, 'ftp');
  mkdirSync(home);
  mkdirSync(ftpRoot);
  const cache = mkdtempSync('/dev/shm/volet-egress-');

  const dns = await startDnsRecorder(NAMESERVER);
  const clip = await personWalkClip({ emptySeconds: 2, walkSeconds: 5, tailSeconds: 3 });
  const camera = await startRtspCamera({ host: PEERS.camera, mounts: { '/main': clip.path }, loop: true });
  const push = await PushServiceStandIn.start(PEERS.push);
  const ftp = await startFtpServer({ root: ftpRoot, username: 'volet', password: 'backup password', host: PEERS.backup });
  const mqttUsers = { volet: 'mqtt password', observer: 'observer password' };
  const broker = await startMosquitto({ host: PEERS.mqtt, users: mqttUsers, acl: ['user volet', 'topic readwrite volet/#', 'topic readwrite homeassistant/#', 'user observer', 'topic read volet/#'] });
  const observer = await watch(broker.url, { username: 'observer', password: mqttUsers.observer }, ['volet/egress/events']);
  const mqttEvents = () => observer.messages.map((m) => m.payload.toString());
  let traced: ChildProcess | undefined;
  try {
    const subscription = push.subscribe();
    const config = join(workdir, 'volet.yml');
    writeFileSync(
      config,
      [
        'cameras:',
        '  porch:',
        `    main: ${camera.url('/main')}`,
        '    record: { mode: events, preRollSeconds: 2, postRollSeconds: 2 }',
        `storage: { path: ${storage}, cachePath: ${cache}, segmentSeconds: 2, retention: { minFreeGb: 0, minFreePercent: 0 } }`,
        'detector: { threads: 1 }',
        'web: { host: 127.0.0.1, port: 0 }',
        `notifications: { cooldownSeconds: 0, pushServices: ['${push.origin}'] }`,
        'backup:',
        '  targets:',
        `    nas: { type: ftp, url: 'ftp://volet@${PEERS.backup}:${ftp.port}/volet', password: 'backup password' }`,
        `mqtt: { url: '${broker.url}', username: volet, password: '${mqttUsers.volet}', boxId: egress }`,
        '',
      ].join('\n'),
    );
    await Vault.init(storage, TEST_PASSPHRASE, { limits: TEST_KDF_LIMITS });
    const db = openDatabase(join(storage, 'volet.db'));
    try {
      const passwordHash = await new PasswordHasher('minimum').hash('owner password 1');
      const owner = new UserRepository(db).create({ username: 'owner', passwordHash, admin: true, grants: {} })!;
      const notifications = new NotifyRepository(db);
      const { endpoint, keys } = subscription.json;
      notifications.saveSubscription(owner.id, { endpoint, p256dh: keys.p256dh, auth: keys.auth }, 'egress test', Date.now());
      notifications.saveRule(owner.id, ruleSchema.parse({ camera: 'porch', labels: ['person'], cooldownSeconds: 0 }), Date.now());
    } finally {
      db.close();
    }

    const volet = spawn('strace', [...STRACE_CONTACT_ARGS, '-o', join(workdir, 'volet.strace'), process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'run', '-c', config], {
      cwd: repoRoot,
      env: userEnvironment(home),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    traced = volet;
    let log = '';
    volet.stdout.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-200_000)));
    volet.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-200_000)));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      volet.on('exit', (code, signal) => resolve({ code, signal })),
    );
    let ended: { code: number | null; signal: string | null } | undefined;
    void exited.then((e) => (ended = e));

    const startedAt = Date.now();
    const pushedEventIds = () => push.received.map((p) => (JSON.parse(p.plaintext) as { eventId: string }).eventId);
    const backedUpEvent = () => filesUnder(ftpRoot).some((f) => pushedEventIds().some((id) => f.includes(id)));
    while (!ended && Date.now() - startedAt < DEADLINE_MS) {
      if (push.received.length > 0 && backedUpEvent() && mqttEvents().length > 0 && Date.now() - startedAt >= MIN_UPTIME_MS) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const uptimeMs = Date.now() - startedAt;
    if (!ended) {
      // strace does not pass signals on: stop Volet itself, as a service manager would.
      process.kill(tracedChild(volet.pid!), 'SIGTERM');
      const force = setTimeout(() => volet.kill('SIGKILL'), 15_000); // strace kills its tracees when it dies
      await exited;
      clearTimeout(force);
    }
    const exit = { ...(await exited), uptimeMs };

    const index = openDatabase(join(storage, 'volet.db'));
    const events = new StorageIndex(index).events({ limit: 1000 }).map((e) => e.id);
    index.close();
    return {
      exit,
      pushes: push.received.map((p) => p.plaintext),
      rejectedPushes: push.rejected.map((r) => r.reason),
      mqttEvents: mqttEvents(),
      backupFiles: filesUnder(ftpRoot).map((f) => f.slice(ftpRoot.length + 1)),
      events,
      dnsQueries: [...dns.queries],
      homeFiles: filesUnder(home).map((f) => f.slice(home.length + 1)),
      log: log.slice(-20_000),
    };
  } finally {
    if (traced && traced.exitCode === null && traced.signalCode === null) traced.kill('SIGKILL');
    await ftp.stop();
    await observer.close();
    await broker.stop();
    await push.close();
    await camera.stop();
    await dns.close();
    rmSync(cache, { recursive: true, force: true });
  }
}

/** The process strace started (its only direct child). */
function tracedChild(stracePid: number): number {
  const children = readFileSync(`/proc/${stracePid}/task/${stracePid}/children`, 'utf8').trim().split(/\s+/);
  if (children.length !== 1 || !children[0]) throw new Error(`expected one process under strace, found [${children.join(' ')}]`);
  return Number(children[0]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const workdir = process.argv[2];
  if (!workdir) {
    process.stderr.write('usage: egress-scenario.ts <workdir>\n');
    process.exit(2);
  }
  const result = await run(workdir);
  writeFileSync(join(workdir, 'result.json'), JSON.stringify(result, null, 2));
}
