import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { discoveryFilter, discoveryMessages, idToken, staleDiscoveryTopics, type DiscoveryInput } from '../../src/mqtt/discovery.ts';
import { mqttTopics } from '../../src/mqtt/topics.ts';

/**
 * Checked against Home Assistant's MQTT discovery documentation
 * (https://www.home-assistant.io/integrations/mqtt/, binary_sensor.mqtt, sensor.mqtt, switch.mqtt).
 */
const REQUIRED: Record<string, string[]> = {
  binary_sensor: ['state_topic'],
  sensor: ['state_topic'],
  switch: ['command_topic'],
};
const DISCOVERY_TOPIC = /^(.+)\/(binary_sensor|sensor|switch)\/([a-zA-Z0-9_-]+)\/([a-zA-Z0-9_-]+)\/config$/;
const ENTITY_ID = /^(binary_sensor|sensor|switch)\.(?!_)(?!.*__)[a-z0-9_]+(?<!_)$/;
const BINARY_DEVICE_CLASSES = new Set(['motion', 'occupancy', 'lock']);
const SENSOR_DEVICE_CLASSES = new Set(['data_size']);

const home: DiscoveryInput = {
  boxId: 'a1b2c3',
  prefix: 'volet/a1b2c3',
  discoveryPrefix: 'homeassistant',
  cameras: [
    { name: 'porch', labels: ['person', 'cat'] },
    { name: 'front_door', labels: ['person', 'traffic light'] },
  ],
  version: '0.1.0',
};

type Payload = Record<string, unknown> & { device: Record<string, unknown> };

function parsed(input: DiscoveryInput) {
  return discoveryMessages(input).map(({ topic, payload }) => {
    const match = DISCOVERY_TOPIC.exec(topic);
    assert.ok(match, `${topic} is a discovery config topic`);
    return { topic, component: match[2], node: match[3], objectId: match[4], config: JSON.parse(payload) as Payload };
  });
}

/** Every documented requirement one payload must meet, and Volet's own rules on top. */
function assertWellFormed(input: DiscoveryInput) {
  const P = input.prefix;
  for (const { topic, component, config } of parsed(input)) {
    assert.ok(topic.startsWith(`${input.discoveryPrefix}/`), topic);
    for (const key of REQUIRED[component]) assert.equal(typeof config[key], 'string', `${topic}: ${key}`);
    assert.equal(typeof config.name, 'string', `${topic}: name`);
    assert.equal(typeof config.unique_id, 'string', `${topic}: unique_id`);
    assert.match(String(config.default_entity_id), ENTITY_ID, `${topic}: default_entity_id`);
    assert.ok(String(config.default_entity_id).startsWith(`${component}.`), `${topic}: default_entity_id domain`);
    assert.equal(config.object_id, undefined, `${topic}: object_id was removed from Home Assistant in 2026.4`);
    assert.equal(config.availability_topic, `${P}/availability`);
    assert.equal(config.payload_available, 'online');
    assert.equal(config.payload_not_available, 'offline');
    for (const [key, value] of Object.entries(config)) {
      if (key.endsWith('_topic')) assert.ok(typeof value === 'string' && value.startsWith(`${P}/`), `${topic}: ${key} ${String(value)} under ${P}`);
    }
    assert.ok(Array.isArray(config.device.identifiers) && config.device.identifiers.length === 1, `${topic}: device.identifiers is a list`);
    assert.equal(config.device.manufacturer, 'Volet');
    assert.equal(config.device.sw_version, input.version);
    assert.equal(typeof config.device.name, 'string');
    if (component === 'binary_sensor') {
      assert.ok(BINARY_DEVICE_CLASSES.has(String(config.device_class)), `${topic}: device_class`);
      assert.equal(typeof config.payload_on, 'string');
      assert.equal(typeof config.payload_off, 'string');
    }
    if (component === 'sensor' && config.device_class !== undefined) assert.ok(SENSOR_DEVICE_CLASSES.has(String(config.device_class)), topic);
    if (component === 'switch') {
      assert.equal(config.retain, false, `${topic}: a retained command would be replayed on every reconnect`);
      assert.equal(typeof config.state_topic, 'string');
    }
  }
}

test('every payload is JSON with the fields Home Assistant documents for its component', () => {
  assertWellFormed(home);
  assertWellFormed({ ...home, prefix: 'house/ground floor/nvr', discoveryPrefix: 'ha/discovery', cameras: [] });
});

test('each camera is a device behind the box, with motion, occupancy and count per label, status, fps, shutter', () => {
  const all = parsed(home);
  const porch = all.filter((m) => (m.config.device.identifiers as string[])[0] === 'volet_a1b2c3_porch');
  assert.deepEqual(
    porch.map((m) => `${m.component}:${m.config.unique_id as string}`),
    [
      'binary_sensor:volet_a1b2c3_porch_motion',
      'binary_sensor:volet_a1b2c3_porch_person_occupancy',
      'sensor:volet_a1b2c3_porch_person_count',
      'binary_sensor:volet_a1b2c3_porch_cat_occupancy',
      'sensor:volet_a1b2c3_porch_cat_count',
      'sensor:volet_a1b2c3_porch_status',
      'sensor:volet_a1b2c3_porch_fps',
      'switch:volet_a1b2c3_porch_shutter',
      'sensor:volet_a1b2c3_porch_shutter_reason',
    ],
  );
  for (const m of porch) {
    assert.equal(m.config.device.name, 'porch');
    assert.equal(m.config.device.via_device, 'volet_a1b2c3');
    assert.equal(m.node, 'volet_a1b2c3');
  }
  const box = all.filter((m) => (m.config.device.identifiers as string[])[0] === 'volet_a1b2c3');
  assert.deepEqual(
    box.map((m) => `${m.component}:${m.config.unique_id as string}`),
    ['binary_sensor:volet_a1b2c3_box_vault', 'sensor:volet_a1b2c3_box_storage_free', 'sensor:volet_a1b2c3_box_recording'],
  );
  assert.equal(box[0].config.device.via_device, undefined);
  assert.equal(all.length, porch.length + box.length + 9);
});

test('state and command topics are exactly the ones the publisher uses', () => {
  const t = mqttTopics(home.prefix);
  const byId = new Map(parsed(home).map((m) => [m.config.unique_id as string, m.config]));
  const get = (id: string) => byId.get(id) ?? assert.fail(`no entity ${id}`);
  assert.equal(get('volet_a1b2c3_porch_motion').state_topic, t.motion('porch'));
  assert.equal(get('volet_a1b2c3_front-door_trafficX20light_count').state_topic, t.count('front_door', 'traffic light'));
  assert.equal(get('volet_a1b2c3_front-door_trafficX20light_occupancy').state_topic, t.count('front_door', 'traffic light'));
  assert.equal(get('volet_a1b2c3_porch_status').state_topic, t.status('porch'));
  assert.equal(get('volet_a1b2c3_porch_fps').state_topic, t.fps('porch'));
  assert.equal(get('volet_a1b2c3_porch_shutter').state_topic, t.shutter('porch'));
  assert.equal(get('volet_a1b2c3_porch_shutter').command_topic, t.shutterSet('porch'));
  assert.equal(get('volet_a1b2c3_porch_shutter_reason').state_topic, t.shutterReason('porch'));
  assert.equal(get('volet_a1b2c3_box_vault').state_topic, t.vault);
  assert.equal(get('volet_a1b2c3_box_storage_free').state_topic, t.storageFree);
  assert.equal(get('volet_a1b2c3_box_recording').state_topic, t.recording);
  assert.deepEqual(get('volet_a1b2c3_front-door_trafficX20light_count').name, 'Traffic light count');
  assert.equal(get('volet_a1b2c3_front-door_trafficX20light_count').default_entity_id, 'sensor.volet_a1b2c3_front_door_traffic_light_count');
});

test('the shutter switch is a privacy switch: on = closed, commands close/open, payloads the command parser accepts', () => {
  const shutter = parsed(home).find((m) => m.component === 'switch')?.config ?? assert.fail('no switch');
  assert.equal(shutter.state_on, 'closed');
  assert.equal(shutter.state_off, 'open');
  assert.equal(shutter.payload_on, 'close');
  assert.equal(shutter.payload_off, 'open');
  assert.equal(shutter.name, 'Privacy shutter');
});

test('occupancy turns on from the count topic when the count is above zero', () => {
  const occupancy = parsed(home).find((m) => m.objectId === 'porch_person_occupancy')?.config ?? assert.fail('no occupancy');
  assert.equal(occupancy.device_class, 'occupancy');
  assert.equal(occupancy.value_template, "{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}");
  assert.equal(occupancy.payload_on, 'ON');
});

test('box-level entities: vault as a lock (on = unlocked), storage free in bytes, recording health', () => {
  const byId = new Map(parsed(home).map((m) => [m.objectId, m.config]));
  assert.deepEqual(
    [byId.get('box_vault')?.device_class, byId.get('box_vault')?.payload_on, byId.get('box_vault')?.payload_off],
    ['lock', 'unlocked', 'locked'],
  );
  assert.deepEqual([byId.get('box_storage_free')?.device_class, byId.get('box_storage_free')?.unit_of_measurement], ['data_size', 'B']);
  assert.equal(byId.get('box_recording')?.state_topic, `${home.prefix}/recording`);
});

const name = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('a', 'b', '_', '-', '0', ' ', 'É', '/', '😀') });

test('id tokens use only [a-zA-Z0-9-] and two different names never share one', () => {
  fc.assert(
    fc.property(name, name, (a, b) => {
      assert.match(idToken(a), /^[a-zA-Z0-9-]+$/);
      if (a !== b) assert.notEqual(idToken(a), idToken(b));
    }),
    { numRuns: 2000 },
  );
  fc.assert(fc.property(fc.string({ minLength: 1, unit: 'binary' }), (a) => /^[a-zA-Z0-9-]+$/.test(idToken(a))));
  assert.equal(idToken('porch'), 'porch');
  assert.equal(idToken('front_door'), 'front-door');
  assert.notEqual(idToken('front-door'), idToken('front_door'));
});

const box = fc.record({
  boxId: name,
  cameras: fc.uniqueArray(fc.record({ name: fc.oneof(name, fc.constant('box')), labels: fc.uniqueArray(name, { maxLength: 3 }) }), {
    maxLength: 4,
    selector: (camera) => camera.name,
  }),
});

function inputOf(b: { boxId: string; cameras: DiscoveryInput['cameras'] }): DiscoveryInput {
  return { boxId: b.boxId, prefix: `volet/${b.boxId}`, discoveryPrefix: 'homeassistant', cameras: b.cameras, version: '1.0.0' };
}

test('unique ids, device ids and discovery topics never collide, within a box or between two boxes', () => {
  fc.assert(
    fc.property(box, box, (one, other) => {
      fc.pre(one.boxId !== other.boxId);
      const messages = [...parsed(inputOf(one)), ...parsed(inputOf(other))];
      const ids = messages.map((m) => m.config.unique_id);
      assert.equal(new Set(ids).size, ids.length, 'unique ids');
      const topics = messages.map((m) => m.topic);
      assert.equal(new Set(topics).size, topics.length, 'discovery topics');
      const devices = new Map<string, string>();
      for (const m of messages) {
        const id = (m.config.device.identifiers as string[])[0];
        const owner = `${m.config.device.name as string}|${m.config.device.via_device as string}`;
        assert.equal(devices.get(id) ?? owner, owner, `device ${id} belongs to one camera or box`);
        devices.set(id, owner);
      }
    }),
    { numRuns: 300 },
  );
});

test('ids are stable: the same config gives the same messages, and camera order does not matter', () => {
  fc.assert(
    fc.property(box, (b) => {
      const input = inputOf(b);
      assert.deepEqual(discoveryMessages(input), discoveryMessages(structuredClone(input)));
      const reversed = discoveryMessages({ ...input, cameras: [...input.cameras].reverse() });
      assert.deepEqual(new Set(reversed.map((m) => m.topic + m.payload)), new Set(discoveryMessages(input).map((m) => m.topic + m.payload)));
    }),
    { numRuns: 200 },
  );
  assertWellFormed(inputOf({ boxId: 'b', cameras: [{ name: 'Ça/va #1', labels: ['😀', 'a+b'] }] }));
});

test('a camera that left the config leaves stale topics; other boxes and integrations are never touched', () => {
  const before = discoveryMessages(home);
  const after = discoveryMessages({ ...home, cameras: home.cameras.filter((c) => c.name !== 'front_door') });
  const gone = before.filter((m) => !after.some((a) => a.topic === m.topic)).map((m) => m.topic);
  assert.equal(gone.length, 9);
  assert.ok(gone.every((topic) => topic.includes('/front-door_')));

  const neighbours = ['a1b2c3_x', 'a1b2c3-x', 'a1b2', 'A1B2C3'].flatMap((boxId) => discoveryMessages({ ...home, boxId }).map((m) => m.topic));
  const foreign = ['homeassistant/binary_sensor/frigate/porch_person/config', 'homeassistant/sensor/volet_a1b2c3/config', 'volet/a1b2c3/porch/motion'];
  const retained = [...before.map((m) => m.topic), ...neighbours, ...foreign];
  assert.deepEqual(staleDiscoveryTopics(retained, after, home.boxId).sort(), gone.sort());
  assert.deepEqual(staleDiscoveryTopics(retained, before, home.boxId), []);
  assert.deepEqual(staleDiscoveryTopics(retained, [], home.boxId).sort(), before.map((m) => m.topic).sort());
});

test('stale topics: exactly this box\'s retained topics missing from the current set, for any two boxes', () => {
  fc.assert(
    fc.property(box, box, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), (one, other, kept) => {
      fc.pre(one.boxId !== other.boxId);
      const previous = discoveryMessages(inputOf(one));
      const current = discoveryMessages(inputOf({ ...one, cameras: one.cameras.filter((_, i) => kept[i]) }));
      const theirs = discoveryMessages(inputOf(other)).map((m) => m.topic);
      const stale = staleDiscoveryTopics([...theirs, ...previous.map((m) => m.topic)], current, one.boxId);
      const expected = previous.map((m) => m.topic).filter((t) => !current.some((c) => c.topic === t));
      assert.deepEqual(stale.sort(), expected.sort());
    }),
    { numRuns: 300 },
  );
});

test('the subscription filter matches this box\'s config topics only', () => {
  assert.equal(discoveryFilter('homeassistant', 'a1b2c3'), 'homeassistant/+/volet_a1b2c3/+/config');
  const [prefix, , node, , config] = discoveryFilter('homeassistant', 'a1b2c3').split('/');
  for (const m of discoveryMessages(home)) {
    const levels = m.topic.split('/');
    assert.deepEqual([levels[0], levels[2], levels[4]], [prefix, node, config]);
  }
});
