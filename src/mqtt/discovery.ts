import { mqttTopics, type MqttTopics } from './topics.ts';

/**
 * Home Assistant MQTT discovery: one retained config message per entity, on
 * `<discoveryPrefix>/<component>/<node_id>/<object_id>/config` (node_id `volet_<box>`, object_id
 * `<camera|box>_<what>`), each naming the state and command topics of src/mqtt/topics.ts. Pure.
 * Fields follow https://www.home-assistant.io/integrations/mqtt/ (binary_sensor, sensor, switch);
 * `default_entity_id` replaces the payload `object_id` option Home Assistant removed in 2026.4.
 */

export interface DiscoveryInput {
  boxId: string;
  prefix: string;
  discoveryPrefix: string;
  cameras: { name: string; labels: string[] }[];
  version: string;
}

type Component = 'binary_sensor' | 'sensor' | 'switch';

interface Entity {
  component: Component;
  /** Id tokens after the device's: already free of `_`, joined by `_`. */
  what: string[];
  /** The same in words, for the readable entity id. */
  words: string;
  fields: Record<string, unknown>;
}

const MANUFACTURER = 'Volet';

/**
 * One id token per name, in [a-zA-Z0-9-] so that `_` only ever separates tokens: lowercase letters
 * and digits stay, `_` becomes `-`, anything else becomes `X` + 2 or `Y` + 6 uppercase hex digits
 * of its code point. Every code is decodable on its own, so different names never share a token.
 */
export function idToken(name: string): string {
  let out = '';
  for (const char of name) {
    if (/^[a-z0-9]$/.test(char)) out += char;
    else if (char === '_') out += '-';
    else {
      const code = char.codePointAt(0) ?? 0;
      out += code < 0x100 ? `X${hex(code, 2)}` : `Y${hex(code, 6)}`;
    }
  }
  return out;
}

/** The discovery node_id of a box; also its Home Assistant device identifier. */
export function discoveryNodeId(boxId: string): string {
  return `volet_${idToken(boxId)}`;
}

/** What to subscribe to for this box's retained config messages (see staleDiscoveryTopics). */
export function discoveryFilter(discoveryPrefix: string, boxId: string): string {
  return `${discoveryPrefix}/+/${discoveryNodeId(boxId)}/+/config`;
}

export function discoveryMessages(input: DiscoveryInput): { topic: string; payload: string }[] {
  const topics = mqttTopics(input.prefix);
  const node = discoveryNodeId(input.boxId);
  const common = {
    availability_topic: topics.availability,
    payload_available: 'online',
    payload_not_available: 'offline',
    origin: { name: MANUFACTURER, sw_version: input.version },
  };
  const boxDevice = {
    identifiers: [node],
    name: `Volet ${input.boxId}`,
    manufacturer: MANUFACTURER,
    model: 'Volet NVR',
    sw_version: input.version,
  };
  const messages: { topic: string; payload: string }[] = [];
  const add = (deviceToken: string, deviceWords: string, device: Record<string, unknown>, entity: Entity) => {
    const objectId = [deviceToken, ...entity.what].join('_');
    const uniqueId = `${node}_${objectId}`;
    const payload = {
      ...entity.fields,
      unique_id: uniqueId,
      default_entity_id: `${entity.component}.${entityIdSlug(`volet ${input.boxId} ${deviceWords} ${entity.words}`)}`,
      ...common,
      device,
    };
    messages.push({ topic: `${input.discoveryPrefix}/${entity.component}/${node}/${objectId}/config`, payload: JSON.stringify(payload) });
  };
  for (const camera of input.cameras) {
    const token = idToken(camera.name);
    const device = {
      identifiers: [`${node}_${token}`],
      name: camera.name,
      manufacturer: MANUFACTURER,
      model: 'Volet camera',
      sw_version: input.version,
      via_device: node,
    };
    for (const entity of cameraEntities(topics, camera.name, camera.labels)) add(token, camera.name, device, entity);
  }
  for (const entity of boxEntities(topics)) add('box', '', boxDevice, entity);
  return messages;
}

/**
 * Retained config topics of this box (node_id `volet_<box>`) that `current` no longer holds, e.g.
 * of a camera that left the config: publishing an empty retained payload on each removes the entity.
 * Topics of other boxes and other integrations are never returned.
 */
export function staleDiscoveryTopics(retainedTopics: readonly string[], current: readonly { topic: string }[], boxId: string): string[] {
  const node = discoveryNodeId(boxId);
  const keep = new Set(current.map((message) => message.topic));
  return [...new Set(retainedTopics)].filter((topic) => {
    const levels = topic.split('/');
    return levels.length >= 5 && levels.at(-1) === 'config' && levels.at(-3) === node && !keep.has(topic);
  });
}

function cameraEntities(topics: MqttTopics, camera: string, labels: string[]): Entity[] {
  const entities: Entity[] = [
    {
      component: 'binary_sensor',
      what: ['motion'],
      words: 'motion',
      fields: { name: 'Motion', device_class: 'motion', state_topic: topics.motion(camera), payload_on: 'ON', payload_off: 'OFF' },
    },
  ];
  for (const label of [...new Set(labels)]) {
    const shown = label.charAt(0).toUpperCase() + label.slice(1);
    const count = topics.count(camera, label);
    entities.push(
      {
        component: 'binary_sensor',
        what: [idToken(label), 'occupancy'],
        words: `${label} occupancy`,
        fields: {
          name: `${shown} occupancy`,
          device_class: 'occupancy',
          state_topic: count,
          value_template: "{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}",
          payload_on: 'ON',
          payload_off: 'OFF',
        },
      },
      {
        component: 'sensor',
        what: [idToken(label), 'count'],
        words: `${label} count`,
        fields: { name: `${shown} count`, state_topic: count, state_class: 'measurement', icon: 'mdi:counter' },
      },
    );
  }
  entities.push(
    {
      component: 'sensor',
      what: ['status'],
      words: 'status',
      fields: { name: 'Status', state_topic: topics.status(camera), entity_category: 'diagnostic', icon: 'mdi:cctv' },
    },
    {
      component: 'sensor',
      what: ['fps'],
      words: 'fps',
      fields: {
        name: 'Frame rate',
        state_topic: topics.fps(camera),
        unit_of_measurement: 'fps',
        state_class: 'measurement',
        suggested_display_precision: 1,
        entity_category: 'diagnostic',
      },
    },
    {
      // A privacy switch, as Home Assistant's camera integrations name it: on = the shutter is closed.
      component: 'switch',
      what: ['shutter'],
      words: 'shutter',
      fields: {
        name: 'Privacy shutter',
        icon: 'mdi:cctv-off',
        state_topic: topics.shutter(camera),
        state_on: 'closed',
        state_off: 'open',
        command_topic: topics.shutterSet(camera),
        payload_on: 'close',
        payload_off: 'open',
        retain: false,
        optimistic: false,
      },
    },
    {
      component: 'sensor',
      what: ['shutter', 'reason'],
      words: 'shutter reason',
      fields: { name: 'Shutter reason', state_topic: topics.shutterReason(camera), icon: 'mdi:information-outline' },
    },
  );
  return entities;
}

function boxEntities(topics: MqttTopics): Entity[] {
  return [
    {
      // device_class lock: on means unlocked.
      component: 'binary_sensor',
      what: ['vault'],
      words: 'vault',
      fields: { name: 'Vault', device_class: 'lock', state_topic: topics.vault, payload_on: 'unlocked', payload_off: 'locked' },
    },
    {
      component: 'sensor',
      what: ['storage', 'free'],
      words: 'storage free',
      fields: {
        name: 'Storage free',
        device_class: 'data_size',
        unit_of_measurement: 'B',
        suggested_unit_of_measurement: 'GB',
        suggested_display_precision: 1,
        state_class: 'measurement',
        state_topic: topics.storageFree,
      },
    },
    {
      component: 'sensor',
      what: ['recording'],
      words: 'recording',
      fields: { name: 'Recording', state_topic: topics.recording, icon: 'mdi:record-rec' },
    },
  ];
}

/** A readable entity id part ([a-z0-9_], no leading, trailing or double `_`); Home Assistant adds `_2` if taken. */
function entityIdSlug(text: string): string {
  return text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '') || 'volet';
}

function hex(code: number, width: number): string {
  return code.toString(16).toUpperCase().padStart(width, '0');
}
