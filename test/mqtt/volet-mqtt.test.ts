import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVolet } from '../../src/app/start.ts';
import { AuditLog } from '../../src/web/audit.ts';
import { personWalkClip } from '../support/clips.ts';
import { startMosquitto, watch, type Watcher } from '../support/mosquitto.ts';
import { startRtspCamera } from '../support/rtsp-camera.ts';
import { ffmpegChildren, initTestVault, tempVoletConfig, waitFor } from '../support/volet-fixture.ts';

const USERS = { volet: 'volet broker password', ha: 'home assistant password', guest: 'read only password' };
// Volet may use its own namespace and the discovery prefix; Home Assistant everything; the guest only reads.
const ACL = ['user volet', 'topic readwrite volet/#', 'topic readwrite homeassistant/#', 'user ha', 'topic readwrite #', 'user guest', 'topic read volet/#'];


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seen = (ha: Watcher, topic: string, payload: string, after = 0) =>
  ha.messages.some((m) => m.topic === topic && m.at >= after && m.payload.toString() === payload);

test('Volet on a real broker: events within 1 s, states on and off, discovery, commands audited, and a broker restart that loses nothing', { timeout: 240_000 }, async () => {
  const clip = await personWalkClip({ width: 640, height: 360, emptySeconds: 1, walkSeconds: 4, tailSeconds: 10 });
  const camera = await startRtspCamera({ mounts: { '/main': clip.path }, loop: true });
  const broker = await startMosquitto({ users: USERS, acl: ACL });
  const ha = await watch(broker.url, { username: 'ha', password: USERS.ha }, ['#']);
  const t = tempVoletConfig(
    `cameras:\n  porch:\n    main: ${camera.url('/main')}\n    record: { mode: events, preRollSeconds: 0, postRollSeconds: 0 }\n` +
      `privacy:\n  residents:\n    alice: { token: alice-token-0123456789abcdef }\n  intrusion: { token: alarm-token-0123456789abcdef }\n` +
      `mqtt: { url: '${broker.url}', username: volet, password: '${USERS.volet}', snapshots: [porch] }\n`,
  );
  await initTestVault(t.storageDir);
  const volet = await startVolet(t.config, t.logger, { web: false });
  const mqtt = volet.mqtt!;
  const P = mqtt.topics.prefix;
  const eventStarts = new Map<string, number>();
  volet.bus.on('event:start', (e) => eventStarts.set(e.id, Date.now()));
  const audit = new AuditLog(volet.storage.db);
  try {
    assert.match(mqtt.boxId, /^[a-z0-9]{10}$/);
    assert.equal(P, `volet/${mqtt.boxId}`);
    await waitFor('online', () => ha.last(`${P}/availability`) === 'online', 10_000);

    // Home Assistant discovery: every entity of the camera and the box, tied to this box's availability.
    const node = `volet_${mqtt.boxId}`;
    await waitFor('discovery', () => ha.messages.some((m) => m.topic === `homeassistant/switch/${node}/porch_shutter/config`), 5000);
    await sleep(500);
    const late = await watch(broker.url, { username: 'ha', password: USERS.ha }, ['homeassistant/#']);
    await sleep(500);
    await late.close();
    const configs = late.messages.filter((m) => m.topic.endsWith('/config') && m.payload.length > 0);
    assert.equal(configs.length, new Set(ha.messages.filter((m) => m.topic.startsWith('homeassistant/')).map((m) => m.topic)).size, 'every discovery payload is retained');
    for (const want of ['binary_sensor/porch_motion', 'binary_sensor/porch_person_occupancy', 'sensor/porch_person_count', 'sensor/porch_status', 'switch/porch_shutter', 'binary_sensor/box_vault']) {
      const [component, object] = want.split('/');
      assert.ok(configs.some((m) => m.topic === `homeassistant/${component}/${node}/${object}/config`), `discovery of ${want}`);
    }
    for (const m of configs) {
      const payload = JSON.parse(m.payload.toString()) as { unique_id: string; availability_topic: string; state_topic: string; device: { identifiers: string[] } };
      assert.ok(m.retain, `${m.topic} came as retained`);
      assert.ok(payload.unique_id.startsWith(`${node}_`), payload.unique_id);
      assert.equal(payload.availability_topic, `${P}/availability`);
      assert.ok(payload.state_topic.startsWith(`${P}/`), payload.state_topic);
      assert.ok(payload.device.identifiers.length > 0);
    }

    // A person: an event on P/events within 1 s of event:start, occupancy and motion on, then off.
    await waitFor('a person event on MQTT', () => ha.messages.some((m) => m.topic === `${P}/events` && m.payload.includes('"start"')), 60_000);
    const startMessage = ha.messages.find((m) => m.topic === `${P}/events` && m.payload.includes('"start"'))!;
    const event = JSON.parse(startMessage.payload.toString()) as { type: string; id: string; camera: string; label: string; score: number; zones: string[]; start: number };
    assert.equal(event.type, 'start');
    assert.equal(event.camera, 'porch');
    assert.equal(event.label, 'person');
    assert.ok(event.score > 0 && Array.isArray(event.zones) && event.start > 0);
    assert.equal(startMessage.retain, false, 'events are not retained');
    const latency = startMessage.at - eventStarts.get(event.id)!;
    assert.ok(latency < 1000, `event:start reached MQTT after ${latency} ms`);
    assert.ok(startMessage.payload.length < 1000 && !startMessage.payload.includes(Buffer.from([0xff, 0xd8])), 'no image in events');
    await waitFor('person count 1', () => seen(ha, `${P}/porch/person/count`, '1'), 10_000);
    await waitFor('motion ON', () => seen(ha, `${P}/porch/motion`, 'ON'), 10_000);
    await waitFor('the event to end', () => ha.messages.some((m) => m.topic === `${P}/events` && m.payload.includes('"end"') && m.payload.includes(event.id)), 30_000);
    await waitFor('the snapshot (enabled for porch)', () => ha.messages.some((m) => m.topic === `${P}/porch/person/snapshot` && m.payload[0] === 0xff && m.payload[1] === 0xd8), 5000);
    await waitFor('person count back to 0', () => ha.last(`${P}/porch/person/count`) === '0', 5000);
    await waitFor('motion OFF', () => ha.last(`${P}/porch/motion`) === 'OFF', 15_000);
    await waitFor('status, fps and box states', () => ['streaming'].includes(ha.last(`${P}/porch/status`) ?? '') && Number(ha.last(`${P}/porch/fps`)) > 0 && ha.last(`${P}/vault`) === 'locked' && Number(ha.last(`${P}/storage/free`)) > 0 && ha.last(`${P}/recording`) !== undefined, 15_000);
    assert.equal(ha.last(`${P}/porch/shutter`), 'open');

    // The broker dies and comes back: Volet reconnects and republishes its states; frames never stopped.
    const frames = () => volet.pipelines.get('porch')!.supervisor.status.framesRead;
    await broker.kill();
    const framesAtKill = frames();
    await sleep(3000);
    assert.ok(frames() > framesAtKill + 5, `frames kept coming while the broker was down (${framesAtKill} → ${frames()})`);
    assert.notEqual(mqtt.status().state, 'connected');
    const restartedAt = Date.now();
    await broker.restart();
    await waitFor('reconnected', () => mqtt.status().state === 'connected' && mqtt.status().connects >= 2, 15_000);
    await waitFor('retained states republished', () => seen(ha, `${P}/porch/shutter`, 'open', restartedAt) && seen(ha, `${P}/availability`, 'online', restartedAt) && seen(ha, `${P}/porch/motion`, 'OFF', restartedAt), 10_000);
    const fresh = await watch(broker.url, { username: 'ha', password: USERS.ha }, [`${P}/#`]);
    await waitFor('a new subscriber gets the retained states from the restarted broker', () => fresh.last(`${P}/porch/status`) === 'streaming' && fresh.last(`${P}/vault`) === 'locked', 5000);
    await fresh.close();

    // The broker's ACL decides who may command: a read-only guest cannot close the shutter.
    const guest = await watch(broker.url, { username: 'guest', password: USERS.guest }, [`${P}/#`]);
    await guest.publish(`${P}/porch/shutter/set`, 'close').catch(() => undefined);
    await sleep(1000);
    assert.equal(volet.shutter.state('porch'), 'open', 'a command the ACL refused changes nothing');
    await guest.close();

    // Bad commands: an error line each, nothing else.
    const errorsBefore = t.logLines.filter((l) => l.level === 'error').length;
    await ha.publish(`${P}/porch/shutter/set`, 'banana');
    await ha.publish(`${P}/garage/shutter/set`, 'close');
    await ha.publish(`${P}/presence/mallory/set`, 'home');
    await ha.publish(`${P}/intrusion/set`, Buffer.alloc(5000, 1).toString());
    await waitFor('an error line per bad command', () => t.logLines.filter((l) => l.level === 'error').length >= errorsBefore + 4, 3000);
    assert.equal(volet.shutter.state('porch'), 'open');

    // A shutter command over MQTT closes the camera, is reported back and audited as MQTT.
    await ha.publish(`${P}/porch/shutter/set`, 'close');
    await waitFor('closed, no ffmpeg left', () => volet.shutter.state('porch') === 'closed' && ffmpegChildren().length === 0, 5000);
    await waitFor('shutter state on MQTT', () => ha.last(`${P}/porch/shutter`) === 'closed' && ha.last(`${P}/porch/shutter/reason`) === 'manual: mqtt', 3000);
    const closedRow = audit.list({ limit: 20, action: 'shutter_changed' }).find((r) => r.target === 'porch' && r.detail?.to === 'closed');
    assert.equal(closedRow?.actor, 'mqtt', 'the audit log names MQTT');
    await ha.publish(`${P}/porch/shutter/set`, 'open');
    await waitFor('streaming again', () => volet.pipelines.get('porch')!.supervisor.status.state === 'streaming', 20_000);

    // Presence from Home Assistant: the only resident comes home, the camera closes.
    await ha.publish(`${P}/presence/alice/set`, 'home');
    await waitFor('presence closes the camera', () => volet.shutter.state('porch') === 'closed' && ffmpegChildren().length === 0, 5000);
    assert.equal(volet.shutter.status().residents.find((r) => r.name === 'alice')?.source, 'mqtt');
    await waitFor('reason presence', () => ha.last(`${P}/porch/shutter/reason`) === 'presence: alice', 3000);
    const presenceRow = audit.list({ limit: 20, action: 'settings_changed' }).find((r) => r.target === 'privacy.presence.alice');
    assert.equal(presenceRow?.actor, 'mqtt');
    assert.deepEqual(presenceRow?.detail, { state: 'home', changed: true });

    // The alarm: armed and triggered over MQTT, it opens the camera although alice is home.
    await ha.publish(`${P}/intrusion/set`, 'arm');
    await ha.publish(`${P}/intrusion/set`, 'trigger');
    await waitFor('the intrusion opens the camera', () => volet.shutter.state('porch') === 'open', 5000);
    assert.ok(audit.list({ limit: 20, action: 'settings_changed' }).some((r) => r.target === 'privacy.intrusion' && r.actor === 'mqtt' && r.detail?.triggered === true));
  } catch (err) {
    console.log(t.logLines.slice(-40).map((l) => JSON.stringify(l)).join('\n'));
    throw err;
  } finally {
    await volet.stop();
    await waitFor('offline on stop', () => ha.last(`${P}/availability`) === 'offline', 3000).catch(() => undefined);
    const offline = ha.last(`${P}/availability`);
    await ha.close();
    await broker.stop();
    await camera.stop();
    t.cleanup();
    assert.equal(offline, 'offline', 'stopping Volet says offline');
  }
});
