import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Logger } from '../../src/log/logger.ts';
import { MqttConnection, type MqttConnectionOptions } from '../../src/mqtt/connection.ts';
import { startMosquitto, watch, type Mosquitto } from '../support/mosquitto.ts';
import { capturingLogger, waitFor } from '../support/volet-fixture.ts';

const USERS = { volet: 'volet broker password', ha: 'home assistant password' };
const ACL = ['user volet', 'topic readwrite volet/#', 'user ha', 'topic readwrite volet/#'];

/** Volet's connection to `broker` as user volet, its topics under volet/<id>/, and the test's options on top. */
function voletConnection(broker: Mosquitto, id: string, logger: Logger, extra: Partial<MqttConnectionOptions> = {}): MqttConnection {
  return new MqttConnection({
    url: broker.url,
    username: 'volet',
    password: USERS.volet,
    clientId: `volet-${id}`,
    keepaliveSeconds: 5,
    availabilityTopic: `volet/${id}/availability`,
    logger,
    ...extra,
  });
}

test('states are retained and republished after the broker restarts; events queue while it is away; stop says offline', async () => {
  const broker = await startMosquitto({ users: USERS, acl: ACL });
  const { logger } = capturingLogger();
  const connection = voletConnection(broker, 't', logger, { backoff: { firstMs: 100, maxMs: 400 }, maxQueuedEvents: 2 });
  try {
    connection.start();
    await waitFor('connected', () => connection.status().state === 'connected', 5000);
    connection.publishState('volet/t/cam/motion', 'ON');
    connection.publishState('volet/t/cam/motion', 'OFF');
    connection.publishState('volet/t/vault', 'locked');
    let ha = await watch(broker.url, { username: 'ha', password: USERS.ha }, ['volet/#']);
    await waitFor('retained states', () => ha.last('volet/t/cam/motion') === 'OFF' && ha.last('volet/t/vault') === 'locked', 2000);
    assert.equal(ha.last('volet/t/availability'), 'online');
    await ha.close();

    await broker.kill();
    await waitFor('the connection to notice', () => connection.status().state === 'reconnecting', 5000);
    connection.publishState('volet/t/vault', 'unlocked'); // changed while the broker was away
    for (const n of [1, 2, 3]) connection.publishEvent('volet/t/events', `event ${n}`);
    await broker.restart();
    ha = await watch(broker.url, { username: 'ha', password: USERS.ha }, ['volet/#']);
    await waitFor('reconnected', () => connection.status().connects === 2, 5000);
    await waitFor('states republished', () => ha.last('volet/t/vault') === 'unlocked' && ha.last('volet/t/cam/motion') === 'OFF', 3000);
    await waitFor('queued events delivered', () => ha.last('volet/t/events') === 'event 3', 3000);
    const events = ha.messages.filter((m) => m.topic === 'volet/t/events').map((m) => m.payload.toString());
    assert.deepEqual(events, ['event 2', 'event 3'], 'the queue is bounded: the oldest event was dropped');
    assert.equal(ha.messages.find((m) => m.topic === 'volet/t/events')!.retain, false, 'events are not retained');

    await connection.stop();
    await waitFor('offline', () => ha.last('volet/t/availability') === 'offline', 2000);
    await ha.close();
  } finally {
    await connection.stop();
    await broker.stop();
  }
});

test('a hung broker holds a bounded number of events: newer ones are dropped with one warning, and flow again once it answers', async () => {
  const broker = await startMosquitto({ users: USERS, acl: ACL });
  const { logger, lines } = capturingLogger();
  const connection = voletConnection(broker, 'h', logger, { keepaliveSeconds: 30, maxQueuedEvents: 20 });
  const ha = await watch(broker.url, { username: 'ha', password: USERS.ha }, ['volet/#']);
  try {
    connection.start();
    await waitFor('online', () => ha.last('volet/h/availability') === 'online', 5000);
    const snapshot = Buffer.alloc(64 * 1024, 7);
    const publish = async (name: string) => {
      for (let n = 1; n <= 50; n++) {
        connection.publishEvent('volet/h/events', n % 10 === 0 ? snapshot : `${name} ${n}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await publish('healthy');
    await waitFor('the events of a broker that answers', () => ha.messages.filter((m) => m.topic === 'volet/h/events').length === 50, 5000);
    assert.equal(connection.status().droppedEvents, 0, 'a broker that answers gets every event');

    broker.freeze();
    await publish('hung');
    assert.equal(connection.status().droppedEvents, 30, 'beyond 20 unacknowledged events, the newer ones are dropped');
    const warnings = lines.filter((l) => String(l.msg).startsWith('MQTT broker is not acknowledging'));
    assert.equal(warnings.length, 1, 'one warning, not one per event');

    broker.thaw();
    await waitFor('the broker to catch up', () => lines.some((l) => String(l.msg).startsWith('MQTT broker caught up')), 10_000);
    connection.publishEvent('volet/h/events', 'after');
    await waitFor('an event after the broker answered again', () => ha.last('volet/h/events') === 'after', 5000);
    const received = ha.messages.filter((m) => m.topic === 'volet/h/events').map((m) => m.payload.toString()).slice(50);
    assert.deepEqual(received.slice(0, 3), ['hung 1', 'hung 2', 'hung 3'], 'the events sent before the limit arrive, in order');
    assert.equal(received.length, 21);
    assert.equal(connection.status().state, 'connected', 'the connection itself was kept');
  } finally {
    broker.thaw();
    await connection.stop();
    await ha.close();
    await broker.stop();
  }
});

test('the last will marks the box offline when Volet vanishes without saying so', async () => {
  const broker = await startMosquitto({ users: USERS, acl: ACL });
  const { logger } = capturingLogger();
  const connection = voletConnection(broker, 'w', logger);
  const ha = await watch(broker.url, { username: 'ha', password: USERS.ha }, ['volet/#']);
  try {
    connection.start();
    await waitFor('online', () => ha.last('volet/w/availability') === 'online', 5000);
    // A crash: the socket goes without a DISCONNECT.
    (connection as unknown as { client: { stream: { destroy(): void } } }).client.stream.destroy();
    await waitFor('the broker to publish the will', () => ha.last('volet/w/availability') === 'offline', 5000);
  } finally {
    await connection.stop();
    await ha.close();
    await broker.stop();
  }
});

test('wrong credentials: a clear status and one log line, however many retries, and no crash', async () => {
  const broker = await startMosquitto({ users: USERS, acl: ACL });
  const { logger, lines } = capturingLogger();
  const connection = voletConnection(broker, 'x', logger, { password: 'not the password', backoff: { firstMs: 50, maxMs: 100 } });
  try {
    connection.start();
    await waitFor('unauthorized', () => connection.status().state === 'unauthorized', 5000);
    await new Promise((r) => setTimeout(r, 1000)); // several retries
    const status = connection.status();
    assert.equal(status.state, 'unauthorized');
    assert.match(status.lastError ?? '', /refused the credentials.*mqtt\.username and mqtt\.password/);
    const attempts = broker.log().split('\n').filter((l) => l.includes('not authorised')).length;
    assert.ok(attempts >= 3, `it kept retrying (${attempts} attempts)`);
    const errors = lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, `one error line, got ${JSON.stringify(errors)}`);
    assert.ok(!JSON.stringify(lines).includes('not the password'), 'the password is never logged');
  } finally {
    await connection.stop();
    await broker.stop();
  }
});

test('mqtts:// trusts only the configured CA', async () => {
  const broker = await startMosquitto({ users: USERS, acl: ACL, tls: true });
  const { logger } = capturingLogger();
  const options = { url: broker.tlsUrl!, username: 'volet', password: USERS.volet, keepaliveSeconds: 5, availabilityTopic: 'volet/s/availability', logger };
  const pinned = new MqttConnection({ ...options, clientId: 'volet-tls', ca: readFileSync(broker.caPath!) });
  const unpinned = new MqttConnection({ ...options, clientId: 'volet-tls-2', backoff: { firstMs: 50, maxMs: 100 } });
  try {
    pinned.start();
    unpinned.start();
    await waitFor('the pinned connection', () => pinned.status().state === 'connected', 5000);
    pinned.publishState('volet/s/vault', 'locked');
    const ha = await watch(broker.tlsUrl!, { username: 'ha', password: USERS.ha }, ['volet/#'], { ca: readFileSync(broker.caPath!) });
    await waitFor('the state over TLS', () => ha.last('volet/s/vault') === 'locked', 3000);
    await ha.close();
    await waitFor('the unpinned one to fail', () => unpinned.status().lastError !== undefined, 5000);
    assert.notEqual(unpinned.status().state, 'connected');
    assert.match(unpinned.status().lastError!, /certificate/i);
  } finally {
    await pinned.stop();
    await unpinned.stop();
    await broker.stop();
  }
});
