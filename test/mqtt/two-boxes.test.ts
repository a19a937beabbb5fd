import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVolet, type RunningVolet } from '../../src/app/start.ts';
import { staticClip } from '../support/clips.ts';
import { startMosquitto, watch, type Watcher } from '../support/mosquitto.ts';
import { startRtspCamera } from '../support/rtsp-camera.ts';
import { tempVoletConfig, waitFor } from '../support/volet-fixture.ts';

const USERS = { volet: 'volet broker password', ha: 'home assistant password' };
const ACL = ['user volet', 'topic readwrite volet/#', 'topic readwrite homeassistant/#', 'user ha', 'topic readwrite #'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The retained discovery configs a new subscriber receives: topic → payload. */
async function retainedConfigs(url: string): Promise<Map<string, { unique_id: string; state_topic?: string; command_topic?: string; device: { identifiers: string[] } }>> {
  const late = await watch(url, { username: 'ha', password: USERS.ha }, ['homeassistant/#']);
  await sleep(700);
  await late.close();
  return new Map(late.messages.filter((m) => m.payload.length > 0).map((m) => [m.topic, JSON.parse(m.payload.toString())]));
}

test('two boxes on one broker keep apart; a camera that left the config leaves Home Assistant', { timeout: 180_000 }, async () => {
  const clip = await staticClip({ width: 320, height: 180, seconds: 4 });
  const camera = await startRtspCamera({ mounts: { '/main': clip.path }, loop: true });
  const broker = await startMosquitto({ users: USERS, acl: ACL });
  const mqttYaml = `mqtt: { url: '${broker.url}', username: volet, password: '${USERS.volet}' }\n`;
  const cam = (name: string) => `  ${name}:\n    main: ${camera.url('/main')}\n    detect: { width: 320, height: 180, fps: 2 }\n    record: { mode: 'off' }\n`;
  const a = tempVoletConfig(`cameras:\n${cam('porch')}${cam('garden')}${mqttYaml}`);
  const b = tempVoletConfig(`cameras:\n${cam('porch')}${mqttYaml}`);
  const ha: Watcher = await watch(broker.url, { username: 'ha', password: USERS.ha }, ['#']);
  const running: RunningVolet[] = [];
  try {
    const boxA = await startVolet(a.config, a.logger, { web: false });
    running.push(boxA);
    const boxB = await startVolet(b.config, b.logger, { web: false });
    running.push(boxB);
    const [pa, pb] = [boxA.mqtt!.topics.prefix, boxB.mqtt!.topics.prefix];
    assert.notEqual(boxA.mqtt!.boxId, boxB.mqtt!.boxId);
    assert.notEqual(pa, pb);
    await waitFor('both online and streaming', () => ha.last(`${pa}/porch/status`) === 'streaming' && ha.last(`${pb}/porch/status`) === 'streaming', 30_000);
    await sleep(1500); // discovery published on connect

    const configs = await retainedConfigs(broker.url);
    const ofA = [...configs].filter(([topic]) => topic.includes(`/volet_${boxA.mqtt!.boxId}/`));
    const ofB = [...configs].filter(([topic]) => topic.includes(`/volet_${boxB.mqtt!.boxId}/`));
    assert.ok(ofA.length > 0 && ofB.length > 0);
    assert.equal(ofA.length + ofB.length, configs.size, 'every config belongs to one of the boxes');
    const uniqueIds = [...configs.values()].map((c) => c.unique_id);
    assert.equal(new Set(uniqueIds).size, uniqueIds.length, 'no unique_id is shared');
    const devicesA = new Set(ofA.flatMap(([, c]) => c.device.identifiers));
    assert.ok(ofB.every(([, c]) => c.device.identifiers.every((id) => !devicesA.has(id))), 'no device is shared');
    for (const [, c] of ofA) for (const topic of [c.state_topic, c.command_topic]) if (topic) assert.ok(topic.startsWith(`${pa}/`), topic);
    for (const [, c] of ofB) for (const topic of [c.state_topic, c.command_topic]) if (topic) assert.ok(topic.startsWith(`${pb}/`), topic);
    assert.ok(ofA.some(([topic]) => topic.includes('/garden_')), 'box A announces its garden camera');

    // A command to box B's porch moves only box B's porch.
    await ha.publish(`${pb}/porch/shutter/set`, 'close');
    await waitFor('box B closed', () => boxB.shutter.state('porch') === 'closed', 5000);
    await sleep(300);
    assert.equal(boxA.shutter.state('porch'), 'open', "box A's porch of the same name is untouched");

    // Box A restarts without its garden camera: same box id, the garden's entities are removed.
    const idA = boxA.mqtt!.boxId;
    await boxA.stop();
    running.shift();
    const { garden: _garden, ...withoutGarden } = a.config.cameras;
    const boxA2 = await startVolet({ ...a.config, cameras: withoutGarden }, a.logger, { web: false });
    running.push(boxA2);
    assert.equal(boxA2.mqtt!.boxId, idA, 'the box id survives a restart');
    await waitFor('box A back online', () => boxA2.mqtt!.status().state === 'connected', 10_000);
    await sleep(2000); // discovery and the stale sweep
    const after = await retainedConfigs(broker.url);
    assert.ok(![...after.keys()].some((topic) => topic.includes(`/volet_${idA}/garden_`)), 'no garden config is left');
    assert.ok([...after.keys()].some((topic) => topic.includes(`/volet_${idA}/porch_`)), 'the porch stays');
    assert.equal([...after.keys()].filter((topic) => topic.includes(`/volet_${boxB.mqtt!.boxId}/`)).length, ofB.length, "box B's configs are untouched");
  } finally {
    for (const volet of running.reverse()) await volet.stop();
    await ha.close();
    await broker.stop();
    await camera.stop();
    a.cleanup();
    b.cleanup();
  }
});
