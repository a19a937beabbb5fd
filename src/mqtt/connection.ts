import { EventEmitter } from 'node:events';
import { connect, type ErrorWithReasonCode, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log/logger.ts';

/**
 * `unauthorized`: the broker refused the user name or password (or the client id); retried with
 * backoff in case the broker's password file changes, logged once.
 */
export type MqttState = 'connecting' | 'connected' | 'reconnecting' | 'unauthorized' | 'stopped';

export interface MqttStatus {
  state: MqttState;
  /** scheme://host:port, never credentials. */
  broker: string;
  lastError?: string;
  since: number;
  /** Successful connections so far (the first one and each reconnect). */
  connects: number;
  /** Events dropped because the broker stopped acknowledging (or the queue for it was full). */
  droppedEvents: number;
}

export interface MqttConnectionOptions {
  url: string;
  /** PEM of the only CA trusted for mqtts:// (absent: the system's). */
  ca?: Buffer;
  username?: string;
  password?: string;
  clientId: string;
  keepaliveSeconds: number;
  /** Retained online/offline, also the last will. */
  availabilityTopic: string;
  logger: Logger;
  backoff?: { firstMs: number; maxMs: number };
  /**
   * Events kept while the broker is away (oldest dropped first), and events sent but not yet
   * acknowledged while it is connected (newer events dropped). Default 100.
   */
  maxQueuedEvents?: number;
}

type Payload = string | Buffer;
const REFUSED_CREDENTIALS = new Set([4, 5, 134, 135]);
const DEFAULT_BACKOFF = { firstMs: 1000, maxMs: 60_000 };
/** Bytes of events sent but not yet acknowledged beyond which events are dropped: snapshots are large. */
const MAX_UNACKED_BYTES = 8 * 1024 * 1024;

/**
 * One connection to the user's broker that never makes its callers wait: publishing is
 * fire-and-forget. Retained states are remembered (latest per topic) and republished on every
 * connect, so a broker that restarts or was down loses nothing that matters; events published while
 * it is away wait in a small bounded queue, and a broker that hangs (connected, reading nothing)
 * holds a bounded number of bytes: newer events are dropped until it acknowledges again.
 * Reconnects with exponential backoff.
 */
/** `message`: topic, payload, and whether the broker delivered it as a retained message. */
export class MqttConnection extends EventEmitter<{ connect: []; message: [string, Buffer, boolean] }> {
  private client?: MqttClient;
  private readonly retained = new Map<string, Payload>();
  private readonly queued: Array<{ topic: string; payload: Payload }> = [];
  private current: MqttStatus;
  private attempts = 0;
  private retryTimer?: NodeJS.Timeout;
  private stopping = false;
  private loggedError?: string;
  private readonly unacked = { messages: 0, bytes: 0 };
  private dropping = false;

  constructor(private readonly opts: MqttConnectionOptions) {
    super();
    const url = new URL(opts.url);
    this.current = { state: 'stopped', broker: `${url.protocol}//${url.host}`, since: Date.now(), connects: 0, droppedEvents: 0 };
  }

  status(): MqttStatus {
    return { ...this.current };
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): void {
    if (this.client) return;
    this.stopping = false;
    this.setState('connecting');
    const { opts } = this;
    const options: IClientOptions = {
      clientId: opts.clientId,
      username: opts.username,
      password: opts.password,
      keepalive: opts.keepaliveSeconds,
      clean: true,
      reconnectPeriod: 0, // our own backoff below
      connectTimeout: 10_000,
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: opts.availabilityTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(opts.ca ? { ca: opts.ca, rejectUnauthorized: true } : {}),
    };
    const client = connect(opts.url, options);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('message', (topic, payload, packet) => this.emit('message', topic, payload, packet.retain));
    client.on('error', (err) => this.onError(err));
    client.on('close', () => this.onClose());
  }

  /** A state: retained, remembered, sent now when connected and changed (else on the next connect). */
  publishState(topic: string, payload: Payload): void {
    const before = this.retained.get(topic);
    this.retained.set(topic, payload);
    if (before !== undefined && samePayload(before, payload)) return;
    if (this.connected) this.send(topic, payload, true);
  }

  /** Removes a retained message from the broker (an empty retained payload). */
  clearRetained(topic: string): void {
    this.retained.delete(topic);
    if (this.connected) this.send(topic, '', true);
  }

  /** Retained messages published once on connect without being remembered (discovery). */
  publishRetainedNow(topic: string, payload: Payload): void {
    if (this.connected) this.send(topic, payload, true);
  }

  /** An event: not retained; kept in a bounded queue while the broker is away. */
  publishEvent(topic: string, payload: Payload): void {
    if (this.connected) return this.sendEvent(topic, payload);
    this.queued.push({ topic, payload });
    const excess = this.queued.length - this.maxEvents;
    if (excess > 0) {
      this.queued.splice(0, excess);
      this.current.droppedEvents += excess;
    }
  }

  private get maxEvents(): number {
    return this.opts.maxQueuedEvents ?? 100;
  }

  /** Sends an event unless the broker is behind on what it was sent already. */
  private sendEvent(topic: string, payload: Payload): void {
    const full = this.unacked.messages >= this.maxEvents || this.unacked.bytes + Buffer.byteLength(payload) > MAX_UNACKED_BYTES;
    if (!full) return this.send(topic, payload, false, 1, true);
    this.current.droppedEvents += 1;
    if (this.dropping) return;
    this.dropping = true;
    this.opts.logger.warn(
      { broker: this.current.broker, unacknowledged: this.unacked.messages, bytes: this.unacked.bytes },
      'MQTT broker is not acknowledging what it was sent; new events are dropped until it catches up',
    );
  }

  subscribe(filters: string | string[]): Promise<void> {
    const client = this.client;
    if (!client?.connected) return Promise.resolve();
    return new Promise((resolve) =>
      client.subscribe(filters, { qos: 1 }, (err) => {
        if (err) this.opts.logger.warn({ filters, err: err.message }, 'MQTT subscribe failed');
        resolve();
      }),
    );
  }

  unsubscribe(filters: string | string[]): Promise<void> {
    const client = this.client;
    if (!client?.connected) return Promise.resolve();
    return new Promise((resolve) => client.unsubscribe(filters, () => resolve()));
  }

  /** Says offline (retained) when connected, then disconnects; never waits more than `timeoutMs`. */
  async stop(timeoutMs = 2000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    const ended = new Promise<void>((resolve) => {
      if (client.connected) {
        client.publish(this.opts.availabilityTopic, 'offline', { qos: 1, retain: true }, () => client.end(false, {}, () => resolve()));
      } else {
        client.end(true, {}, () => resolve());
      }
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    if (!client.disconnected) client.end(true);
    client.removeAllListeners();
    client.on('error', () => {}); // a late socket error after stop must not crash the process
    this.setState('stopped');
  }

  /**
   * `event`: counted as unacknowledged until its PUBACK (mqtt.js resends QoS 1 messages after a
   * reconnect, or fails them when the client ends). States (one per topic) leave with the socket.
   */
  private send(topic: string, payload: Payload, retain: boolean, qos: 0 | 1 = 0, event = false): void {
    const client = this.client;
    if (!client) return;
    const bytes = event ? Buffer.byteLength(payload) : 0;
    const counted = event ? 1 : 0;
    this.unacked.messages += counted;
    this.unacked.bytes += bytes;
    client.publish(topic, payload, { qos, retain }, (err) => {
      this.unacked.messages -= counted;
      this.unacked.bytes -= bytes;
      if (err && !this.stopping) this.opts.logger.debug({ topic, err: err.message }, 'MQTT publish failed');
      if (this.dropping && this.unacked.messages === 0) {
        this.dropping = false;
        this.opts.logger.info({ broker: this.current.broker, droppedEvents: this.current.droppedEvents }, 'MQTT broker caught up; events flow again');
      }
    });
  }

  private onConnect(): void {
    this.attempts = 0;
    this.current.connects += 1;
    if (this.loggedError !== undefined || this.current.connects > 1) this.opts.logger.info({ broker: this.current.broker }, 'MQTT connected');
    this.loggedError = undefined;
    this.setState('connected');
    this.send(this.opts.availabilityTopic, 'online', true, 1);
    for (const [topic, payload] of this.retained) this.send(topic, payload, true);
    for (const { topic, payload } of this.queued.splice(0)) this.sendEvent(topic, payload);
    this.emit('connect');
  }

  private onError(err: Error): void {
    const code = (err as ErrorWithReasonCode).code;
    const refused = typeof code === 'number' && REFUSED_CREDENTIALS.has(code);
    const message = refused ? `the broker refused the credentials (${err.message}): check mqtt.username and mqtt.password` : err.message;
    this.current.lastError = message;
    if (refused) this.setState('unauthorized');
    if (message !== this.loggedError) {
      this.loggedError = message;
      this.opts.logger[refused ? 'error' : 'warn']({ broker: this.current.broker, err: message }, 'MQTT broker unavailable; retrying with backoff');
    }
  }

  private onClose(): void {
    if (this.stopping || !this.client) return;
    if (this.current.state !== 'unauthorized') this.setState('reconnecting');
    if (this.retryTimer) return;
    const backoff = this.opts.backoff ?? DEFAULT_BACKOFF;
    const delay = Math.min(backoff.maxMs, backoff.firstMs * 2 ** this.attempts) * (0.75 + Math.random() * 0.5);
    this.attempts = Math.min(this.attempts + 1, 30);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopping) this.client?.reconnect();
    }, delay);
    this.retryTimer.unref();
  }

  private setState(state: MqttState): void {
    if (this.current.state === state) return;
    this.current = { ...this.current, state, since: Date.now() };
  }
}

function samePayload(a: Payload, b: Payload): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}
