import { readFileSync } from 'node:fs';
import type { Module } from '../app/lifecycle.ts';
import type { VoletConfig } from '../config/schema.ts';
import type { CameraStatus, EventBus } from '../events/bus.ts';
import type { HealthReport } from '../health/assess.ts';
import type { Logger } from '../log/logger.ts';
import { resolveLabelFilters } from '../objects/label-filters.ts';
import type { PrivacyAudit, ShutterController } from '../privacy/controller.ts';
import { loadBoxId } from './box-id.ts';
import { runCommand } from './commands.ts';
import { MqttConnection, type MqttStatus } from './connection.ts';
import { discoveryMessages } from './discovery.ts';
import { syncDiscovery } from './discovery-sync.ts';
import { StatePublisher } from './state-publisher.ts';
import { mqttTopics, parseCommand, type MqttTopics } from './topics.ts';

export interface MqttModuleDeps {
  config: VoletConfig;
  logger: Logger;
  bus: EventBus;
  storageDir: string;
  pipelines: ReadonlyMap<string, { supervisor: { status: CameraStatus } }>;
  shutter: ShutterController;
  audit?: PrivacyAudit;
  health?: () => Promise<HealthReport>;
  /** Volet's version shown in Home Assistant (default: package.json's). */
  version?: string;
  /** Tests: faster motion-off, polling and reconnects. */
  timing?: { motionOffMs?: number; pollMs?: number; backoff?: { firstMs: number; maxMs: number }; discoveryListenMs?: number };
}

export interface MqttModuleStatus extends MqttStatus {
  boxId: string;
  prefix: string;
}

/**
 * Volet on the user's MQTT broker: states and events out, shutter, presence and intrusion commands
 * in, Home Assistant discovery. Started after the cameras and the shutter; stopping says offline.
 */
export class MqttModule implements Module {
  readonly name = 'mqtt';
  readonly boxId: string;
  readonly topics: MqttTopics;
  readonly connection: MqttConnection;
  private readonly publisher: StatePublisher;
  private readonly cameras: Array<{ name: string; labels: string[] }>;
  private readonly onConnect = () => void this.connected();
  private readonly onMessage = (topic: string, payload: Buffer, retained: boolean) => this.message(topic, payload, retained);

  constructor(private readonly deps: MqttModuleDeps) {
    const { config, logger } = deps;
    const mqtt = config.mqtt;
    if (!mqtt.url) throw new Error('mqtt.url is not set');
    this.boxId = mqtt.boxId ?? loadBoxId(deps.storageDir);
    this.topics = mqttTopics(mqtt.topicPrefix ?? `volet/${this.boxId}`);
    this.cameras = [...deps.pipelines.keys()].map((name) => ({
      name,
      labels: Object.keys(resolveLabelFilters(config.cameras[name]?.objects ?? config.detector.labels)),
    }));
    this.connection = new MqttConnection({
      url: mqtt.url,
      ca: mqtt.ca ? readCa(mqtt.ca) : undefined,
      username: mqtt.username,
      password: mqtt.password,
      clientId: mqtt.clientId ?? `volet-${this.boxId}`,
      keepaliveSeconds: mqtt.keepalive,
      availabilityTopic: this.topics.availability,
      logger,
      backoff: deps.timing?.backoff,
    });
    const shutter = deps.shutter;
    this.publisher = new StatePublisher({
      topics: this.topics,
      sink: this.connection,
      bus: deps.bus,
      cameras: this.cameras,
      snapshots: new Set(mqtt.snapshots),
      cameraStatus: (camera) => deps.pipelines.get(camera)?.supervisor.status,
      shutter: {
        state: (camera) => shutter.state(camera),
        reason: (camera) => shutter.status().cameras.find((c) => c.camera === camera),
        on: (event, listener) => shutter.on(event, listener),
        off: (event, listener) => shutter.off(event, listener),
      },
      health: deps.health,
      motionOffMs: deps.timing?.motionOffMs,
      pollMs: deps.timing?.pollMs,
      onError: (what, err) => logger.error({ what, err: (err as Error).message }, 'MQTT: publishing failed'),
    });
  }

  status(): MqttModuleStatus {
    return { ...this.connection.status(), boxId: this.boxId, prefix: this.topics.prefix };
  }

  start(): void {
    this.connection.on('connect', this.onConnect);
    this.connection.on('message', this.onMessage);
    this.publisher.start();
    this.connection.start();
  }

  async stop(): Promise<void> {
    this.publisher.stop();
    this.connection.off('connect', this.onConnect);
    this.connection.off('message', this.onMessage);
    await this.connection.stop();
  }

  private async connected(): Promise<void> {
    const { config, logger } = this.deps;
    const version = this.deps.version ?? voletVersion();
    await this.connection.subscribe(this.topics.commandFilters);
    void this.publisher.poll();
    if (!config.mqtt.discovery) return;
    try {
      const messages = discoveryMessages({ boxId: this.boxId, prefix: this.topics.prefix, discoveryPrefix: config.mqtt.discoveryPrefix, cameras: this.cameras, version });
      const removed = await syncDiscovery(this.connection, messages, {
        discoveryPrefix: config.mqtt.discoveryPrefix,
        boxId: this.boxId,
        listenMs: this.deps.timing?.discoveryListenMs,
      });
      if (removed.length > 0) logger.info({ removed: removed.length }, 'MQTT: removed Home Assistant entities of cameras no longer configured');
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'MQTT: Home Assistant discovery failed');
    }
  }

  private message(topic: string, payload: Buffer, retained: boolean): void {
    const { logger, shutter, audit, config } = this.deps;
    // A retained command would be replayed at every reconnect, undoing later changes made elsewhere.
    if (retained) {
      if (topic.endsWith('/set') && payload.length > 0) logger.error({ topic }, 'MQTT command ignored: commands must not be retained');
      return;
    }
    const parsed = parseCommand(this.topics.prefix, topic, payload, {
      cameras: shutter.cameras,
      residents: Object.keys(config.privacy.residents),
    });
    if ('error' in parsed) logger.error({ topic }, parsed.error);
    else if ('command' in parsed) void runCommand(parsed.command, { shutter, audit, logger });
  }
}

function readCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`mqtt.ca: cannot read ${path}: ${(err as Error).message}`);
  }
}

function voletVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
