import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIN_UPTIME_MS, NAMESERVER, PEERS, userEnvironment, type EgressScenarioResult } from '../support/egress-scenario.ts';
import { isolatedCommand, isolationUnavailable } from '../support/network-namespace.ts';
import { contactsIn, describeContact, judgeContacts, STRACE_CONTACT_ARGS } from '../support/strace-contacts.ts';
import { repoRoot } from '../support/volet-fixture.ts';

/**
 * Zero egress: `volet run` is traced (strace: every connect/sendto/sendmsg with its address) in a
 * network namespace that has only loopback, where each allowed peer has its own address and a DNS
 * server records every name asked. Anything else Volet tries to reach fails the test.
 */

const unavailable = isolationUnavailable();
const skip = unavailable ? `needs a loopback-only network namespace and strace: ${unavailable}` : false;

function runIsolated(
  argv: string[],
  opts: { workdir: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<{ code: number | null; output: string }> {
  const [command, ...args] = isolatedCommand(argv, join(opts.workdir, 'resolv.conf'), NAMESERVER);
  // Its own process group, so a timeout takes down everything it started (servers, strace, Volet, ffmpeg).
  const child = spawn(command, args, { cwd: repoRoot, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-50_000)));
  child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-50_000)));
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, opts.timeoutMs);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

function contactReport(trace: string, allowed: readonly string[]) {
  const verdict = judgeContacts(contactsIn(trace), allowed);
  const lines = (title: string, list: typeof verdict.forbidden) =>
    list.length === 0 ? '' : `${title} (${list.length}):\n${list.slice(0, 20).map((c) => `  ${describeContact(c)}`).join('\n')}\n`;
  return { verdict, text: lines('name lookups', verdict.nameLookups) + lines('destinations not allowed', verdict.forbidden) };
}

test(
  'volet run with a camera, a person event, a push, a backup and MQTT contacts nothing but the camera, the push service, the backup target and the broker',
  { skip, timeout: 150_000 },
  async () => {
    const workdir = mkdtempSync(join(tmpdir(), 'volet-egress-'));
    try {
      const scenario = join(repoRoot, 'test/support/egress-scenario.ts');
      const run = await runIsolated([process.execPath, '--import', 'tsx', scenario, workdir], { workdir, timeoutMs: 130_000 });
      assert.equal(run.code, 0, `the scenario failed:\n${run.output}`);
      const result = JSON.parse(readFileSync(join(workdir, 'result.json'), 'utf8')) as EgressScenarioResult;
      const context = `\nVolet's log (end):\n${result.log.slice(-6000)}`;

      // It really ran: a person became an event, a push and a backup.
      assert.ok(result.exit.uptimeMs >= MIN_UPTIME_MS, `Volet stopped by itself after ${result.exit.uptimeMs} ms${context}`);
      assert.equal(result.exit.code, 0, `Volet exits 0 on SIGTERM, got ${JSON.stringify(result.exit)}${context}`);
      assert.deepEqual(result.rejectedPushes, [], 'the push service accepted every push');
      const pushed = result.pushes.map((p) => JSON.parse(p) as { camera: string; label: string; eventId: string });
      const person = pushed.find((p) => p.camera === 'porch' && p.label === 'person');
      assert.ok(person, `a push about a person on porch, got ${JSON.stringify(pushed)}${context}`);
      assert.ok(result.events.includes(person.eventId), `the pushed event ${person.eventId} is in the index: ${result.events}`);
      const mqttEvent = result.mqttEvents.map((m) => JSON.parse(m) as { id: string; label: string }).find((e) => e.label === 'person');
      assert.ok(mqttEvent && result.events.includes(mqttEvent.id), `the person event reached the MQTT broker: ${result.mqttEvents.slice(0, 3)}`);
      assert.ok(result.backupFiles.includes('volet/vault.json'), `the vault key file was backed up: ${result.backupFiles}`);
      assert.ok(
        result.backupFiles.some((f) => f.includes(person.eventId)),
        `a file of event ${person.eventId} was backed up: ${result.backupFiles.join(', ')}${context}`,
      );

      // And it contacted nothing else, resolved no name, and left no telemetry state behind.
      const allowed = Object.values(PEERS);
      const { verdict, text } = contactReport(readFileSync(join(workdir, 'volet.strace'), 'utf8'), allowed);
      assert.deepEqual(result.dnsQueries, [], `Volet asked DNS for ${JSON.stringify(result.dnsQueries)}\n${text}`);
      assert.equal(text, '', `Volet tried to reach something other than ${allowed.join(', ')}:\n${text}`);
      for (const [peer, host] of Object.entries(PEERS)) {
        assert.ok(verdict.contacted.has(host), `the trace shows the ${peer} (${host}) being contacted: it records what it must`);
      }
      const telemetryState = result.homeFiles.filter((f) => /onnxruntime/i.test(f));
      assert.deepEqual(telemetryState, [], 'onnxruntime kept no telemetry device id or event cache');
    } finally {
      rmSync(workdir, { recursive: true, force: true });
    }
  },
);

test('volet run without its model stops at once, says which command fetches it, and downloads nothing', { skip, timeout: 60_000 }, async () => {
  const workdir = mkdtempSync(join(tmpdir(), 'volet-egress-'));
  const cache = mkdtempSync('/dev/shm/volet-egress-');
  try {
    const models = join(workdir, 'models');
    mkdirSync(models);
    mkdirSync(join(workdir, 'home'));
    const config = join(workdir, 'volet.yml');
    writeFileSync(
      config,
      `cameras: { porch: { main: 'rtsp://${PEERS.camera}:8554/main' } }\n` +
        `storage: { path: ${join(workdir, 'storage')}, cachePath: ${cache} }\nweb: { host: 127.0.0.1, port: 0 }\n`,
    );
    const trace = join(workdir, 'volet.strace');
    const voletRun = ['strace', ...STRACE_CONTACT_ARGS, '-o', trace, process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'run', '-c', config];
    const env = { ...userEnvironment(join(workdir, 'home')), VOLET_MODELS_DIR: models };
    const started = Date.now();
    const run = await runIsolated(voletRun, { workdir, timeoutMs: 45_000, env });

    const { text } = contactReport(readFileSync(trace, 'utf8'), []);
    assert.equal(text, '', `nothing is contacted:\n${text}`);
    assert.equal(run.code, 1, `exit code 1, got ${run.code}:\n${run.output}`);
    assert.ok(Date.now() - started < 30_000, 'it stops at once');
    const fatal = run.output.split('\n').find((line) => line.includes('"level":"fatal"'));
    assert.ok(fatal, `a fatal log line:\n${run.output}`);
    assert.match((JSON.parse(fatal) as { err: string }).err, /yolox_nano\.onnx not found — fetch it with "volet models fetch yolox_nano"/);
    assert.deepEqual(readdirSync(models), [], 'no model file appeared');
  } finally {
    rmSync(workdir, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
});
