import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerShutterCommand } from '../../src/cli/commands/shutter.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { ShutterController } from '../../src/privacy/controller.ts';
import { ShutterRepository } from '../../src/privacy/repository.ts';
import type { ShutterChange } from '../../src/privacy/types.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { AuditLog } from '../../src/web/audit.ts';
import { harness, type Harness } from './support.ts';

/** A night schedule two hours ahead of now, so that whatever the test's time of day it leaves "living" open. */
function nightWindow(): { from: string; to: string } {
  const hour = new Date().getUTCHours();
  const at = (h: number) => `${String(h % 24).padStart(2, '0')}:00`;
  return { from: at(hour + 2), to: at(hour + 4) };
}

function writeConfig(h: Harness): string {
  const { from, to } = nightWindow();
  const path = join(h.dir, 'volet.yml');
  writeFileSync(
    path,
    [
      'cameras:',
      '  porch: { main: rtsp://127.0.0.1/porch }',
      '  living: { main: rtsp://127.0.0.1/living }',
      'storage:',
      `  path: ${h.dir}`,
      'privacy:',
      '  timeZone: UTC',
      '  schedules:',
      `    - { name: night, cameras: [living], from: '${from}', to: '${to}' }`,
    ].join('\n'),
  );
  return path;
}

/** Runs `volet <args>` in-process; returns what it printed and its exit code. */
async function volet(configPath: string, ...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const program = new Command('volet')
    .option('-c, --config <file>', 'configuration file', './volet.yml')
    .exitOverride()
    .configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  registerShutterCommand(program);
  // runOrExit reports errors on process.stderr itself: catch its text, let anything else through.
  const stderrWrite = process.stderr.write;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) =>
    typeof chunk === 'string' ? ((err += chunk), true) : Reflect.apply(stderrWrite, process.stderr, [chunk, ...rest])) as typeof process.stderr.write;
  try {
    await program.parseAsync(['-c', configPath, ...args], { from: 'user' });
  } finally {
    process.stderr.write = stderrWrite;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out, err, code };
}

/** The daemon: a controller on its own connection, polling like `volet run` does (fast, for the test). */
async function daemon(h: Harness, configPath: string): Promise<ShutterController> {
  const config = loadConfigFile(configPath);
  const db = openDatabase(h.dbPath);
  const controller = new ShutterController({
    repo: new ShutterRepository(db),
    cameras: Object.keys(config.cameras),
    privacy: config.privacy,
    logger: h.logger,
    audit: new AuditLog(db),
    pollMs: 20,
  });
  h.controllers.push(controller);
  await controller.start();
  return controller;
}

test('`volet shutter close porch` reaches the running Volet through the database within a few polls', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const config = writeConfig(h);
  const running = await daemon(h, config);
  const changed = once(running, 'change') as Promise<[ShutterChange]>;

  const result = await volet(config, 'shutter', 'close', 'porch', '--by', 'alice');
  assert.equal(result.out, 'porch: closed\n');
  const [change] = await changed;
  assert.deepEqual([change.camera, change.state, change.reason, change.by], ['porch', 'closed', 'manual', 'alice']);
  assert.equal(running.state('porch'), 'closed');
  assert.equal(h.audit.list({ limit: 1, action: 'shutter_changed' })[0].actor, 'alice');

  const reopened = await volet(config, 'shutter', 'open', 'porch');
  assert.equal(reopened.out, 'porch: open\n');
  assert.match(running.status().cameras[0].by, /^cli:/, 'by default the OS user, marked as the CLI');
});

test('`volet shutter status` shows each camera, what decided it and its triggers', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const config = writeConfig(h);
  const running = await daemon(h, config);
  await running.set('porch', 'closed', 'alice');
  const { out } = await volet(config, 'shutter', 'status');
  const lines = out.split('\n');
  assert.match(lines[0], /^CAMERA\s+SHUTTER\s+SINCE\s+REASON\s+BY\s+TRIGGERS$/);
  assert.match(lines[1], /^porch\s+closed\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+manual\s+alice\s+manual only$/);
  assert.match(lines[2], /^living\s+open\s+.*schedule "night"$/);
  const json = JSON.parse((await volet(config, 'shutter', 'status', '--json')).out);
  assert.equal(json.cameras[0].state, 'closed');
  assert.deepEqual(json.cameras[1].triggers.schedules, ['night']);
});

test('without a running Volet the request waits in the database and says so', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const config = writeConfig(h);
  const result = await volet(config, 'shutter', 'close', 'living', '--wait', '0');
  assert.match(result.out, /^living: close requested; Volet does not seem to be running, it applies when Volet starts\n$/);
  assert.match((await volet(config, 'shutter', 'status')).out, /Pending: living close by cli:/);
  const running = await daemon(h, config);
  assert.equal(running.state('living'), 'closed');
});

test('an unknown camera is an error naming the configured ones', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const config = writeConfig(h);
  const result = await volet(config, 'shutter', 'close', 'porh');
  assert.equal(result.code, 1);
  assert.equal(result.err, 'Error: Unknown camera "porh" (cameras: porch, living)\n');
});
