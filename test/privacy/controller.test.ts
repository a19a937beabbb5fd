import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ShutterAccess } from '../../src/web/access.ts';
import { ShutterRepository } from '../../src/privacy/repository.ts';
import { harness, MINUTE, privacyConfig, TWO_RESIDENTS } from './support.ts';

const brief = (changes: Array<{ camera: string; state: string; reason: string; by: string }>) =>
  changes.map((c) => `${c.camera} ${c.state} ${c.reason} ${c.by}`);

test('the controller is the web viewer\'s ShutterAccess', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const access: ShutterAccess = h.controller(privacyConfig(''));
  assert.equal(access.state('porch'), 'closed', 'closed until started: nothing watches before it has decided');
});

test('first start: every camera open by default, decided without change events, recorded and audited', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const shutter = h.controller(privacyConfig(''));
  await shutter.start();
  assert.equal(shutter.state('porch'), 'open');
  assert.equal(shutter.state('living'), 'open');
  assert.deepEqual(shutter.changes, []);
  const stored = new ShutterRepository(h.db).states();
  assert.deepEqual(stored.get('porch'), { state: 'open', reason: 'startup', by: 'start-up', since: h.clock.t });
  assert.equal(h.audit.list({ limit: 10, action: 'shutter_changed' }).length, 2);
});

test('presence with two residents: the first one home closes, the last one leaving opens', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const shutter = h.controller(privacyConfig(`${TWO_RESIDENTS}\npresence: { cameras: [living] }`));
  await shutter.start();

  shutter.reportPresence('alice', 'home');
  assert.equal(shutter.state('living'), 'closed');
  assert.equal(shutter.state('porch'), 'open', 'presence applies to its cameras only');
  shutter.reportPresence('bob', 'home');
  shutter.reportPresence('alice', 'away');
  assert.equal(shutter.state('living'), 'closed', 'bob is still home');
  shutter.reportPresence('bob', 'away');
  assert.equal(shutter.state('living'), 'open');

  assert.deepEqual(brief(shutter.changes), ['living closed presence alice', 'living open presence bob']);
  const audited = h.audit.list({ limit: 10, action: 'shutter_changed' }).filter((e) => e.target === 'living');
  assert.deepEqual(
    audited.slice(0, 2).map((e) => [e.actor, e.detail]),
    [
      ['bob', { from: 'closed', to: 'open', reason: 'presence' }],
      ['alice', { from: 'open', to: 'closed', reason: 'presence' }],
    ],
  );
});

test('a repeated presence report changes nothing', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const shutter = h.controller(privacyConfig(TWO_RESIDENTS));
  await shutter.start();
  assert.equal(shutter.reportPresence('alice', 'home'), true);
  assert.equal(shutter.reportPresence('alice', 'home'), false);
  assert.equal(shutter.changes.length, 2);
});

test('schedules close and reopen on time, in the configured zone', async (t) => {
  const h = harness(Date.parse('2026-03-28T20:30:00Z')); // Saturday 21:30 in Paris
  t.after(() => h.cleanup());
  const shutter = h.controller(
    privacyConfig(`timeZone: Europe/Paris\nschedules:\n  - { name: night, cameras: [living], from: '22:00', to: '07:00' }`),
  );
  await shutter.start();
  assert.equal(shutter.state('living'), 'open');
  h.clock.t = Date.parse('2026-03-28T21:00:00Z'); // 22:00 CET
  shutter.tick();
  assert.equal(shutter.state('living'), 'closed');
  h.clock.t = Date.parse('2026-03-29T04:59:00Z'); // 06:59 CEST, after the clocks went forward
  shutter.tick();
  assert.equal(shutter.state('living'), 'closed');
  h.clock.t = Date.parse('2026-03-29T05:00:00Z'); // 07:00 CEST
  shutter.tick();
  assert.equal(shutter.state('living'), 'open');
  assert.deepEqual(brief(shutter.changes), ['living closed schedule night', 'living open schedule night']);
});

test('a manual open while home holds until presence next changes', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const shutter = h.controller(privacyConfig(TWO_RESIDENTS));
  await shutter.start();
  shutter.reportPresence('alice', 'home');
  await shutter.set('living', 'open', 'alice');
  assert.equal(shutter.state('living'), 'open');
  shutter.reportPresence('bob', 'home'); // the house was already occupied: no transition
  assert.equal(shutter.state('living'), 'open');
  shutter.reportPresence('alice', 'away');
  shutter.reportPresence('bob', 'away'); // transition: the manual open is over (and the house is empty: open)
  shutter.reportPresence('bob', 'home');
  assert.equal(shutter.state('living'), 'closed');
  assert.deepEqual(brief(shutter.changes.filter((c) => c.camera === 'living')), [
    'living closed presence alice',
    'living open manual alice',
    'living closed presence bob',
  ]);
});

test('a manual close holds until the next schedule transition', async (t) => {
  const h = harness(Date.parse('2026-01-15T20:00:00Z'));
  t.after(() => h.cleanup());
  const shutter = h.controller(privacyConfig(`timeZone: UTC\nschedules:\n  - { name: night, from: '22:00', to: '07:00' }`));
  await shutter.start();
  await shutter.set('porch', 'closed', 'carol');
  h.clock.t = Date.parse('2026-01-15T22:00:00Z');
  shutter.tick();
  h.clock.t = Date.parse('2026-01-16T07:00:00Z');
  shutter.tick();
  assert.equal(shutter.state('porch'), 'open', 'the night window ended: the manual close ended with it');
  assert.deepEqual(brief(shutter.changes.filter((c) => c.camera === 'porch')), ['porch closed manual carol', 'porch open schedule night']);
});

test('auto-reopen: a manual close on a camera without presence reopens after the configured minutes', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const shutter = h.controller(
    privacyConfig(`${TWO_RESIDENTS}\nautoReopenMinutes: 30\npresence: { cameras: [living] }`),
  );
  await shutter.start();
  await shutter.set('porch', 'closed', 'alice');
  await shutter.set('living', 'closed', 'alice');
  h.clock.advance(29 * MINUTE);
  shutter.tick();
  assert.equal(shutter.state('porch'), 'closed');
  h.clock.advance(MINUTE);
  shutter.tick();
  assert.equal(shutter.state('porch'), 'open');
  assert.equal(shutter.state('living'), 'closed', 'living has a presence source: no timer');
  assert.deepEqual(shutter.changes.at(-1), { camera: 'porch', state: 'open', reason: 'auto-reopen', by: 'after 30 min', at: h.clock.t });
  assert.equal(shutter.status().cameras.find((c) => c.camera === 'living')?.triggers.autoReopenMinutes, 0);
});

test('a per-camera auto-reopen overrides the default', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const shutter = h.controller(privacyConfig(`autoReopenMinutes: 30\ncameras:\n  porch: { autoReopenMinutes: 5 }`));
  await shutter.start();
  await shutter.set('porch', 'closed', 'alice');
  await shutter.set('living', 'closed', 'alice');
  h.clock.advance(5 * MINUTE);
  shutter.tick();
  assert.deepEqual([shutter.state('porch'), shutter.state('living')], ['open', 'closed']);
});

test('restore: last keeps a manual close across a restart, with who and since', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const before = h.controller(privacyConfig(''));
  await before.start();
  await before.set('porch', 'closed', 'alice');
  const since = h.clock.t;
  await before.stop();
  h.clock.advance(10 * MINUTE);

  const after = h.controller(privacyConfig('restore: last'));
  await after.start();
  assert.equal(after.state('porch'), 'closed');
  const porch = after.status().cameras.find((c) => c.camera === 'porch')!;
  assert.deepEqual([porch.reason, porch.by, porch.since, porch.layer], ['manual', 'alice', since, 'manual']);
  assert.deepEqual(after.changes, []);
});

test('restore: last re-decides from what was known: presence survives, a window that began meanwhile applies', async (t) => {
  const h = harness(Date.parse('2026-01-15T21:00:00Z'));
  t.after(() => h.cleanup());
  const config = `timeZone: UTC\n${TWO_RESIDENTS}\npresence: { cameras: [living] }\nschedules:\n  - { name: night, cameras: [porch], from: '22:00', to: '07:00' }`;
  const before = h.controller(privacyConfig(config));
  await before.start();
  before.reportPresence('alice', 'home');
  await before.stop();
  h.clock.t = Date.parse('2026-01-15T23:00:00Z');

  const after = h.controller(privacyConfig(config));
  await after.start();
  assert.equal(after.state('living'), 'closed', 'alice is still home');
  assert.equal(after.state('porch'), 'closed', 'the night window started while Volet was down');
  const porch = after.status().cameras.find((c) => c.camera === 'porch')!;
  assert.deepEqual([porch.reason, porch.by], ['schedule', 'night']);
});

test('restore: closed fails closed at start-up, until a trigger changes', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const before = h.controller(privacyConfig(TWO_RESIDENTS));
  await before.start();
  await before.stop();
  const after = h.controller(privacyConfig(`restore: closed\n${TWO_RESIDENTS}`));
  await after.start();
  assert.deepEqual([after.state('porch'), after.state('living')], ['closed', 'closed']);
  const porch = after.status().cameras.find((c) => c.camera === 'porch')!;
  assert.deepEqual([porch.reason, porch.by], ['startup', 'privacy.restore: closed']);
  after.reportPresence('alice', 'home'); // a presence transition ends the start-up state…
  after.reportPresence('alice', 'away'); // …and the empty house opens
  assert.equal(after.state('porch'), 'open');
});

test('restore: open opens at start-up, even after a manual close', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const before = h.controller(privacyConfig(''));
  await before.start();
  await before.set('porch', 'closed', 'alice');
  await before.stop();
  const after = h.controller(privacyConfig('restore: open'));
  await after.start();
  assert.equal(after.state('porch'), 'open');
  const porch = after.status().cameras.find((c) => c.camera === 'porch')!;
  assert.deepEqual([porch.reason, porch.by], ['startup', 'privacy.restore: open']);
});

test('intrusion while home opens the chosen cameras; disarming closes them again', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const shutter = h.controller(
    privacyConfig(`${TWO_RESIDENTS}\nintrusion: { token: alarm-token-0123456789abcdef, cameras: [living] }`),
  );
  await shutter.start();
  shutter.reportPresence('alice', 'home');
  assert.equal(shutter.setTriggered(true, 'alarm: door'), undefined, 'ignored while disarmed');
  assert.equal(shutter.state('living'), 'closed');

  shutter.setArmed(true, 'alarm');
  assert.equal(shutter.state('living'), 'closed', 'arming alone opens nothing');
  shutter.setTriggered(true, 'alarm: door');
  assert.equal(shutter.state('living'), 'open');
  assert.equal(shutter.state('porch'), 'closed', 'porch is not an intrusion camera');
  await shutter.set('living', 'closed', 'alice');
  assert.equal(shutter.state('living'), 'open', 'the alarm outranks a manual close');

  shutter.setArmed(false, 'alarm panel');
  assert.equal(shutter.state('living'), 'closed');
  assert.deepEqual(brief(shutter.changes.filter((c) => c.camera === 'living')), [
    'living closed presence alice',
    'living open intrusion alarm: door',
    'living closed intrusion alarm panel',
  ]);
});

test('intrusion with overridePresence false opens only while nobody is home', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const shutter = h.controller(
    privacyConfig(`${TWO_RESIDENTS}\nintrusion: { token: alarm-token-0123456789abcdef, overridePresence: false }\nschedules:\n  - { name: always, from: '00:00', to: '24:00' }`),
  );
  await shutter.start();
  shutter.reportPresence('bob', 'home');
  shutter.setArmed(true, 'alarm');
  shutter.setTriggered(true, 'alarm');
  assert.equal(shutter.state('porch'), 'closed');
  shutter.reportPresence('bob', 'away');
  assert.equal(shutter.state('porch'), 'open', 'nobody home: the alarm beats the closing schedule');
});

test('a manual request the alarm overrules is answered with the state that holds and why', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const shutter = h.controller(privacyConfig(`intrusion: { token: alarm-token-0123456789abcdef }`));
  await shutter.start();
  shutter.setArmed(true, 'alarm');
  shutter.setTriggered(true, 'alarm');
  const repo = new ShutterRepository(h.openOther());
  const id = repo.request('porch', 'closed', 'cli:root', h.clock.t);
  shutter.tick();
  const done = repo.requestById(id)!;
  assert.deepEqual([done.result, done.note], ['open', 'held open by intrusion']);
});

test('a request written by another process is applied at the next poll', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const daemon = h.controller(privacyConfig(''));
  await daemon.start();
  const cli = new ShutterRepository(h.openOther());
  const id = cli.request('porch', 'closed', 'cli:root', Date.now());
  assert.equal(daemon.state('porch'), 'open');
  daemon.tick();
  assert.equal(daemon.state('porch'), 'closed');
  assert.deepEqual(brief(daemon.changes), ['porch closed manual cli:root']);
  assert.deepEqual([cli.requestById(id)?.result, cli.requestById(id)?.note], ['closed', null]);
  assert.equal(cli.pendingRequests().length, 0);
});

test('a request made while Volet is down applies when it starts, after the restore', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  new ShutterRepository(h.openOther()).request('living', 'closed', 'cli:root', Date.now());
  const daemon = h.controller(privacyConfig('restore: open'));
  await daemon.start();
  assert.deepEqual([daemon.state('porch'), daemon.state('living')], ['open', 'closed']);
});

test('two controllers on one database file: a set() on one is seen by the other', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const daemon = h.controller(privacyConfig(''));
  await daemon.start();
  const cliSide = h.controller(privacyConfig('')); // never started, like a CLI process
  await cliSide.set('living', 'closed', 'cli:alice');
  daemon.tick();
  assert.equal(daemon.state('living'), 'closed');
  assert.deepEqual(brief(daemon.changes), ['living closed manual cli:alice']);
});

test('status lists every camera with its state, cause and the triggers that apply', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const shutter = h.controller(
    privacyConfig(
      `timeZone: Europe/Paris\n${TWO_RESIDENTS}\npresence: { cameras: [living] }\nintrusion: { token: alarm-token-0123456789abcdef, cameras: [porch] }\nschedules:\n  - { name: night, cameras: [porch], from: '22:00', to: '07:00' }\ncameras:\n  porch: { hook: { http: { open: 'http://127.0.0.1:9/open', close: 'http://127.0.0.1:9/close' } } }`,
    ),
    { hooks: () => [] },
  );
  await shutter.start();
  shutter.reportPresence('alice', 'home');
  const status = shutter.status();
  assert.equal(status.timeZone, 'Europe/Paris');
  const living = status.cameras.find((c) => c.camera === 'living')!;
  assert.deepEqual(
    { state: living.state, reason: living.reason, by: living.by, layer: living.layer, presence: living.inputs.presence },
    { state: 'closed', reason: 'presence', by: 'alice', layer: 'presence', presence: { state: 'closed', by: 'alice' } },
  );
  const porch = status.cameras.find((c) => c.camera === 'porch')!;
  assert.deepEqual(porch.triggers, { presence: false, schedules: ['night'], intrusion: true, autoReopenMinutes: 0, hooks: ['http'] });
  assert.deepEqual(living.triggers, { presence: true, schedules: [], intrusion: false, autoReopenMinutes: 0, hooks: [] });
  assert.deepEqual(
    status.residents.map((r) => [r.name, r.state]),
    [['alice', 'home'], ['bob', 'unknown']],
  );
  assert.equal(status.intrusion.configured, true);
});

test('privacy settings naming unknown cameras or sharing a token are refused with their path', () => {
  const h = harness();
  try {
    assert.throws(
      () => h.controller(privacyConfig(`presence: { cameras: [livng] }\nresidents:\n  a: { token: same-token-0123456789 }\n  b: { token: same-token-0123456789 }`)),
      (err: Error) =>
        /privacy\.presence\.cameras: unknown camera "livng" \(configured cameras: porch, living\)/.test(err.message) &&
        /privacy\.residents\.b\.token: the same token as privacy\.residents\.a\.token/.test(err.message),
    );
  } finally {
    void h.cleanup();
  }
});

test('a throwing change listener neither stops the change nor the others', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const shutter = h.controller(privacyConfig(''));
  shutter.prependListener('change', () => {
    throw new Error('pipeline exploded');
  });
  await shutter.start();
  await shutter.set('porch', 'closed', 'alice');
  assert.equal(shutter.state('porch'), 'closed');
  assert.equal(shutter.changes.length, 1);
  assert.ok(h.logLines.some((l) => l.msg === 'privacy shutter: change listener failed'));
});

test('occupancy for notification rules: unknown without residents or reports, home if anyone is, away once all left', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const nobody = h.controller(privacyConfig(''));
  assert.equal(nobody.occupancy(), 'unknown');
  const shutter = h.controller(privacyConfig(TWO_RESIDENTS));
  await shutter.start();
  assert.equal(shutter.occupancy(), 'unknown');
  shutter.reportPresence('alice', 'away');
  assert.equal(shutter.occupancy(), 'unknown', 'bob never reported');
  shutter.reportPresence('bob', 'home');
  assert.equal(shutter.occupancy(), 'home');
  shutter.reportPresence('bob', 'away');
  assert.equal(shutter.occupancy(), 'away');
});
