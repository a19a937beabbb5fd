import { EventBus, type ObjectEvent } from '../src/events/bus.ts';
import { createLogger } from '../src/log/logger.ts';
import { MqttConnection } from '../src/mqtt/connection.ts';
import { StatePublisher } from '../src/mqtt/state-publisher.ts';
import { mqttTopics } from '../src/mqtt/topics.ts';
import { startMosquitto, watch } from '../test/support/mosquitto.ts';
import { option } from './options.ts';

/**
 * `npm run bench -- mqtt [--events N]`: from `event:start` on the bus to the `…/events` message
 * received by a subscriber (Home Assistant's side) through a real mosquitto on loopback, with the
 * broker's password file and ACL — p50/p95/max over N events. Target: ≤ 1 s.
 */

const WARMUP = 2;
const USERS = { volet: 'bench volet password', ha: 'bench ha password' };

export async function benchMqtt(args: string[]): Promise<void> {
  const events = option(args, '--events', 20);
  const broker = await startMosquitto({ users: USERS, acl: ['user volet', 'topic readwrite volet/#', 'user ha', 'topic read volet/#'] });
  const topics = mqttTopics('volet/bench');
  const logger = createLogger('silent');
  const connection = new MqttConnection({ url: broker.url, username: 'volet', password: USERS.volet, clientId: 'volet-bench', keepaliveSeconds: 30, availabilityTopic: topics.availability, logger });
  const bus = new EventBus();
  const publisher = new StatePublisher({
    topics,
    sink: connection,
    bus,
    cameras: [{ name: 'porch', labels: ['person'] }],
    snapshots: new Set(),
    cameraStatus: () => undefined,
    shutter: { state: () => 'open', reason: () => undefined, on: () => undefined, off: () => undefined },
    onError: (what, err) => {
      throw new Error(`${what}: ${(err as Error).message}`);
    },
  });
  const ha = await watch(broker.url, { username: 'ha', password: USERS.ha }, [topics.events]);
  try {
    publisher.start();
    connection.start();
    await until(() => connection.connected, 5000);
    const latencies: number[] = [];
    for (let i = 0; i < WARMUP + events; i++) {
      const event: ObjectEvent = { id: `bench-${i}`, camera: 'porch', label: 'person', score: 0.9, start: Date.now(), zones: [], box: { x: 0, y: 0, width: 10, height: 20 } };
      const received = new Promise<number>((resolve) => {
        const onMessage = (_topic: string, payload: Buffer) => {
          if (!payload.includes(`"bench-${i}"`)) return;
          ha.client.off('message', onMessage);
          resolve(performance.now());
        };
        ha.client.on('message', onMessage);
      });
      const t0 = performance.now();
      bus.emit('event:start', event);
      const t1 = await received;
      if (i >= WARMUP) latencies.push(t1 - t0);
    }
    const sorted = latencies.sort((a, b) => a - b);
    const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    const [p50, p95, max] = [pick(0.5), pick(0.95), sorted[sorted.length - 1]];
    const verdict = p95 <= 1000 ? 'OK (target ≤ 1000 ms)' : 'ABOVE the 1000 ms target';
    process.stdout.write(`event:start → MQTT message received (mosquitto on loopback), ${events} events: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${max.toFixed(1)} ms — ${verdict}\n`);
  } finally {
    publisher.stop();
    await connection.stop();
    await ha.close();
    await broker.stop();
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('the bench could not connect to mosquitto');
    await new Promise((r) => setTimeout(r, 20));
  }
}
