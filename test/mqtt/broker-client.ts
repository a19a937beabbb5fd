import { connect, type MqttClient } from 'mqtt';

/** A test's own MQTT client (Home Assistant's side): records every message it receives. */
export interface Watcher {
  client: MqttClient;
  messages: Array<{ topic: string; payload: Buffer; retain: boolean; at: number }>;
  /** The latest payload seen on a topic, as text. */
  last(topic: string): string | undefined;
  publish(topic: string, payload: string, retain?: boolean): Promise<void>;
  close(): Promise<void>;
}

export async function watch(url: string, auth: { username: string; password: string }, filters: string[], extra: { ca?: Buffer } = {}): Promise<Watcher> {
  const client = connect(url, { ...auth, reconnectPeriod: 200, clientId: `watcher-${Math.random().toString(16).slice(2)}`, ...(extra.ca ? { ca: extra.ca } : {}) });
  const messages: Watcher['messages'] = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload, retain: packet.retain, at: Date.now() }));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(filters, { qos: 1 });
  return {
    client,
    messages,
    last(topic) {
      for (let i = messages.length - 1; i >= 0; i--) if (messages[i].topic === topic) return messages[i].payload.toString();
      return undefined;
    },
    async publish(topic, payload, retain = false) {
      await client.publishAsync(topic, payload, { qos: 1, retain });
    },
    close: () => client.endAsync(true),
  };
}
