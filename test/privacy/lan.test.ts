import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { parseDeviceAddress, PingUnavailableError, systemProbe, tcpProbe } from '../../src/privacy/lan-probe.ts';
import { LanWatch } from '../../src/privacy/presence.ts';
import { ALICE_TOKEN, BOB_TOKEN, harness, MINUTE, privacyConfig } from './support.ts';

test('device addresses: host for ping, host:port for a TCP probe, IPv6 in brackets', () => {
  assert.deepEqual(parseDeviceAddress('192.168.1.23'), { host: '192.168.1.23', port: undefined });
  assert.deepEqual(parseDeviceAddress('phone.lan:62078'), { host: 'phone.lan', port: 62078 });
  assert.deepEqual(parseDeviceAddress('[fe80::1]:22'), { host: 'fe80::1', port: 22 });
  assert.throws(() => parseDeviceAddress('-c9 evil'), /not a host name/);
});

test('the LAN watch reports home when a device is seen and away once none was seen for the set time', () => {
  const watch = new LanWatch({ alice: ['10.0.0.2', '10.0.0.3'], bob: ['10.0.0.4'] }, 10 * MINUTE, 0);
  assert.deepEqual(watch.changes(MINUTE), [], 'too early to call anyone away');
  watch.seen('10.0.0.3', MINUTE);
  assert.deepEqual(watch.changes(MINUTE), [{ resident: 'alice', state: 'home' }]);
  assert.deepEqual(watch.changes(2 * MINUTE), [], 'only changes are reported');
  assert.deepEqual(watch.changes(10 * MINUTE), [{ resident: 'bob', state: 'away' }], 'bob never seen since start-up');
  assert.deepEqual(watch.changes(10 * MINUTE + MINUTE - 1), []);
  assert.deepEqual(watch.changes(11 * MINUTE), [{ resident: 'alice', state: 'away' }]);
});

test('LAN presence moves the shutters: a phone on the network closes, its absence reopens', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const online = new Set(['192.168.1.23']);
  const shutter = h.controller(
    privacyConfig(`residents:\n  alice: { token: ${ALICE_TOKEN}, devices: [192.168.1.23] }\n  bob: { token: ${BOB_TOKEN} }`),
    { probe: async (address) => online.has(address) },
  );
  await shutter.start();
  await shutter.probeNow();
  assert.equal(shutter.state('living'), 'closed');
  assert.deepEqual(shutter.status().residents[0], { name: 'alice', state: 'home', source: 'lan', at: h.clock.t });

  online.clear();
  h.clock.advance(9 * MINUTE);
  await shutter.probeNow();
  assert.equal(shutter.state('living'), 'closed', 'not gone long enough');
  h.clock.advance(MINUTE);
  await shutter.probeNow();
  assert.equal(shutter.state('living'), 'open');
  assert.deepEqual(shutter.changes.map((c) => `${c.state} ${c.reason} ${c.by}`).slice(-1), ['open presence alice']);
});

test('an explicit "away" from the API stands while the LAN view does not change', async (t) => {
  const h = harness();
  t.after(() => h.cleanup());
  const shutter = h.controller(privacyConfig(`residents:\n  alice: { token: ${ALICE_TOKEN}, devices: ['192.168.1.23'] }`), {
    probe: async () => true,
  });
  await shutter.start();
  await shutter.probeNow();
  assert.equal(shutter.state('porch'), 'closed');
  shutter.reportPresence('alice', 'away'); // her hub says she left; the phone stayed on the Wi-Fi
  await shutter.probeNow();
  assert.equal(shutter.state('porch'), 'open');
});

test('TCP probe: only an accepted connection counts as seen', async () => {
  const server = createServer((socket) => socket.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  assert.equal(await tcpProbe('127.0.0.1', port, 1000), true);
  server.close();
  await once(server, 'close');
  assert.equal(await tcpProbe('127.0.0.1', port, 1000), false, 'refused: maybe a firewall speaking for an absent device');
  assert.equal(await tcpProbe('192.0.2.1', 9, 300), false, 'TEST-NET-1: no device there');
});

const hasPing = (() => {
  try {
    execFileSync('ping', ['-V'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
})();

test('the system probe pings a bare host', { skip: !hasPing && 'ping is not installed here' }, async () => {
  assert.equal(await systemProbe()('127.0.0.1'), true);
});

test('without ping installed, a bare host is a clear error, not "away"', { skip: hasPing && 'ping is installed here' }, async () => {
  await assert.rejects(systemProbe()('127.0.0.1'), PingUnavailableError);
});
