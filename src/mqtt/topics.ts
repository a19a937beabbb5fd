import type { ResidentState, ShutterState } from '../privacy/types.ts';

/**
 * Every topic Volet uses under its prefix P (`mqtt.topicPrefix`, default `volet/<boxId>`). States
 * are retained, events are not; docs/INTEGRATIONS.md lists them and src/mqtt/discovery.ts builds
 * Home Assistant's entities on exactly these.
 */
export function mqttTopics(prefix: string) {
  const p = prefix;
  return {
    prefix: p,
    availability: `${p}/availability`,
    events: `${p}/events`,
    motion: (camera: string) => `${p}/${camera}/motion`,
    count: (camera: string, label: string) => `${p}/${camera}/${label}/count`,
    snapshot: (camera: string, label: string) => `${p}/${camera}/${label}/snapshot`,
    status: (camera: string) => `${p}/${camera}/status`,
    fps: (camera: string) => `${p}/${camera}/fps`,
    shutter: (camera: string) => `${p}/${camera}/shutter`,
    shutterReason: (camera: string) => `${p}/${camera}/shutter/reason`,
    shutterSet: (camera: string) => `${p}/${camera}/shutter/set`,
    vault: `${p}/vault`,
    storageFree: `${p}/storage/free`,
    recording: `${p}/recording`,
    presenceSet: (resident: string) => `${p}/presence/${resident}/set`,
    intrusionSet: `${p}/intrusion/set`,
    /** What Volet subscribes to for commands. */
    commandFilters: [`${p}/+/shutter/set`, `${p}/presence/+/set`, `${p}/intrusion/set`],
  };
}

export type MqttTopics = ReturnType<typeof mqttTopics>;

export type MqttCommand =
  | { kind: 'shutter'; camera: string; state: ShutterState }
  | { kind: 'presence'; resident: string; state: ResidentState }
  | { kind: 'intrusion'; action: 'arm' | 'disarm' | 'trigger' };

export type ParsedCommand = { command: MqttCommand } | { error: string } | { ignored: true };

const SHUTTER_PAYLOADS: Record<string, ShutterState> = { open: 'open', close: 'closed', closed: 'closed' };

/**
 * Turns a message on a command topic into a command, or an error a user can act on. Pure: the
 * cameras and residents Volet knows are passed in. Topics outside the command topics are ignored.
 */
export function parseCommand(
  prefix: string,
  topic: string,
  payload: Buffer,
  known: { cameras: readonly string[]; residents: readonly string[] },
): ParsedCommand {
  if (!topic.startsWith(`${prefix}/`)) return { ignored: true };
  const parts = topic.slice(prefix.length + 1).split('/');
  const text = payload.length > 64 ? undefined : payload.toString('utf8').trim().toLowerCase();
  const bad = (expected: string) => ({ error: `MQTT ${topic}: payload ${describe(payload)} is not one of ${expected}` });
  if (parts.length === 3 && parts[1] === 'shutter' && parts[2] === 'set') {
    const camera = parts[0];
    if (!known.cameras.includes(camera)) return { error: `MQTT ${topic}: no camera "${camera}" (cameras: ${known.cameras.join(', ') || 'none'})` };
    const state = text === undefined ? undefined : SHUTTER_PAYLOADS[text];
    return state ? { command: { kind: 'shutter', camera, state } } : bad('open, close');
  }
  if (parts.length === 3 && parts[0] === 'presence' && parts[2] === 'set') {
    const resident = parts[1];
    if (!known.residents.includes(resident)) return { error: `MQTT ${topic}: no resident "${resident}" in privacy.residents` };
    return text === 'home' || text === 'away' ? { command: { kind: 'presence', resident, state: text } } : bad('home, away');
  }
  if (parts.length === 2 && parts[0] === 'intrusion' && parts[1] === 'set') {
    return text === 'arm' || text === 'disarm' || text === 'trigger' ? { command: { kind: 'intrusion', action: text } } : bad('arm, disarm, trigger');
  }
  return { ignored: true };
}

function describe(payload: Buffer): string {
  if (payload.length > 64) return `of ${payload.length} bytes`;
  return JSON.stringify(payload.toString('utf8'));
}
