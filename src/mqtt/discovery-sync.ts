import { discoveryFilter, staleDiscoveryTopics } from './discovery.ts';
import type { MqttConnection } from './connection.ts';

/**
 * Publishes this box's Home Assistant discovery payloads (retained), then clears the retained ones
 * of cameras that left the config: it listens briefly to this box's retained discovery config topics, and the
 * stale ones that belong to this box get an empty retained payload.
 */
export async function syncDiscovery(
  connection: MqttConnection,
  messages: ReadonlyArray<{ topic: string; payload: string }>,
  opts: { discoveryPrefix: string; boxId: string; listenMs?: number },
): Promise<string[]> {
  for (const { topic, payload } of messages) connection.publishRetainedNow(topic, payload);
  const filters = discoveryFilter(opts.discoveryPrefix, opts.boxId);
  const retained = new Set<string>();
  const collect = (topic: string, payload: Buffer) => {
    if (payload.length > 0 && topic.startsWith(`${opts.discoveryPrefix}/`) && topic.endsWith('/config')) retained.add(topic);
  };
  connection.on('message', collect);
  try {
    await connection.subscribe(filters);
    await new Promise((resolve) => setTimeout(resolve, opts.listenMs ?? 1000));
    await connection.unsubscribe(filters);
  } finally {
    connection.off('message', collect);
  }
  const stale = staleDiscoveryTopics([...retained], messages, opts.boxId);
  for (const topic of stale) connection.clearRetained(topic);
  return stale;
}
