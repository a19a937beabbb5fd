import type { CameraStatus, EventBus, EventSnapshot, MotionNotice, ObjectEvent } from '../events/bus.ts';
import type { HealthReport } from '../health/assess.ts';
import type { ShutterChange, ShutterReason, ShutterState } from '../privacy/types.ts';
import type { MqttTopics } from './topics.ts';

/** Where states go: the connection (retained, remembered) and events (not retained). */
export interface MqttSink {
  publishState(topic: string, payload: string | Buffer): void;
  publishEvent(topic: string, payload: string | Buffer): void;
}

export interface StatePublisherDeps {
  topics: MqttTopics;
  sink: MqttSink;
  bus: EventBus;
  /** Each enabled camera and the labels it tracks (a count topic each). */
  cameras: ReadonlyArray<{ name: string; labels: readonly string[] }>;
  /** Cameras whose event snapshots are published (they leave the vault's protection). */
  snapshots: ReadonlySet<string>;
  cameraStatus: (camera: string) => CameraStatus | undefined;
  shutter: {
    state(camera: string): ShutterState;
    reason(camera: string): { reason: ShutterReason; by: string } | undefined;
    on(event: 'change', listener: (change: ShutterChange) => void): unknown;
    off(event: 'change', listener: (change: ShutterChange) => void): unknown;
  };
  /** The health monitor's assessment: vault, free space, recording health. */
  health?: () => Promise<HealthReport>;
  /** No motion for this long turns `motion` OFF (default 5 s). */
  motionOffMs?: number;
  /** Camera status/fps and health are read this often (default 5 s). */
  pollMs?: number;
  onError: (what: string, err: unknown) => void;
}

/**
 * Turns what happens in Volet (bus events, shutter changes, camera status, the health report) into
 * MQTT states and events. Runs on the bus's own emits and a slow poll, and only hands payloads to
 * the sink, which never blocks: frames and recording are never kept waiting.
 */
export class StatePublisher {
  private readonly active = new Map<string, Map<string, Set<string>>>();
  private readonly motionTimers = new Map<string, NodeJS.Timeout>();
  private pollTimer?: NodeJS.Timeout;
  private polling = false;

  private readonly onStart = (event: ObjectEvent) => this.safely('event:start', () => this.onEvent('start', event));
  private readonly onUpdate = (event: ObjectEvent) => this.safely('event:update', () => this.onEvent('update', event));
  private readonly onEnd = (event: ObjectEvent & { end: number }, snapshot: EventSnapshot | undefined) =>
    this.safely('event:end', () => this.onEvent('end', event, snapshot));
  private readonly onMotion = (notice: MotionNotice) => this.safely('motion', () => this.motion(notice.camera));
  private readonly onStatus = (status: CameraStatus) => this.safely('camera:status', () => this.publishStatus(status));
  private readonly onShutter = (change: ShutterChange) =>
    this.safely('shutter change', () => this.publishShutter(change.camera, change.state, { reason: change.reason, by: change.by }));

  constructor(private readonly deps: StatePublisherDeps) {}

  start(): void {
    const { bus, cameras, topics, sink, shutter } = this.deps;
    for (const camera of cameras) {
      sink.publishState(topics.motion(camera.name), 'OFF');
      for (const label of camera.labels) sink.publishState(topics.count(camera.name, label), '0');
      this.publishShutter(camera.name, shutter.state(camera.name), shutter.reason(camera.name));
      const status = this.deps.cameraStatus(camera.name);
      if (status) this.publishStatus(status);
    }
    bus.on('event:start', this.onStart);
    bus.on('event:update', this.onUpdate);
    bus.on('event:end', this.onEnd);
    bus.on('motion', this.onMotion);
    bus.on('camera:status', this.onStatus);
    shutter.on('change', this.onShutter);
    void this.poll();
    this.pollTimer = setInterval(() => void this.poll(), this.deps.pollMs ?? 5000);
    this.pollTimer.unref();
  }

  stop(): void {
    const { bus, shutter } = this.deps;
    bus.off('event:start', this.onStart);
    bus.off('event:update', this.onUpdate);
    bus.off('event:end', this.onEnd);
    bus.off('motion', this.onMotion);
    bus.off('camera:status', this.onStatus);
    shutter.off('change', this.onShutter);
    clearInterval(this.pollTimer);
    for (const timer of this.motionTimers.values()) clearTimeout(timer);
    this.motionTimers.clear();
  }

  /** Reads what is not pushed: each camera's status and fps, and the health report. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const camera of this.deps.cameras) {
        const status = this.deps.cameraStatus(camera.name);
        if (status) this.publishStatus(status);
      }
      if (this.deps.health) this.publishHealth(await this.deps.health());
    } catch (err) {
      this.deps.onError('health report', err);
    } finally {
      this.polling = false;
    }
  }

  private onEvent(type: 'start' | 'update' | 'end', event: ObjectEvent, snapshot?: EventSnapshot): void {
    const { topics, sink } = this.deps;
    const message = { type, id: event.id, camera: event.camera, label: event.label, score: event.score, zones: event.zones, start: event.start, ...(event.end !== undefined ? { end: event.end } : {}) };
    sink.publishEvent(topics.events, JSON.stringify(message));
    if (type === 'update') return;
    const labels = this.active.get(event.camera) ?? new Map<string, Set<string>>();
    this.active.set(event.camera, labels);
    const ids = labels.get(event.label) ?? new Set<string>();
    labels.set(event.label, ids);
    if (type === 'start') ids.add(event.id);
    else ids.delete(event.id);
    sink.publishState(topics.count(event.camera, event.label), String(ids.size));
    if (type === 'end' && snapshot && this.deps.snapshots.has(event.camera)) {
      sink.publishState(topics.snapshot(event.camera, event.label), snapshot.frame);
    }
  }

  private motion(camera: string): void {
    const timer = this.motionTimers.get(camera);
    if (timer) {
      timer.refresh();
      return;
    }
    this.deps.sink.publishState(this.deps.topics.motion(camera), 'ON');
    const off = setTimeout(() => this.motionOff(camera), this.deps.motionOffMs ?? 5000);
    off.unref();
    this.motionTimers.set(camera, off);
  }

  private motionOff(camera: string): void {
    clearTimeout(this.motionTimers.get(camera));
    this.motionTimers.delete(camera);
    this.deps.sink.publishState(this.deps.topics.motion(camera), 'OFF');
  }

  private publishStatus(status: CameraStatus): void {
    const { topics, sink } = this.deps;
    sink.publishState(topics.status(status.camera), status.state);
    sink.publishState(topics.fps(status.camera), String(Math.round(status.fps * 10) / 10));
  }

  private publishShutter(camera: string, state: ShutterState, cause: { reason: ShutterReason; by: string } | undefined): void {
    const { topics, sink } = this.deps;
    sink.publishState(topics.shutter(camera), state);
    if (cause) sink.publishState(topics.shutterReason(camera), `${cause.reason}: ${cause.by}`);
    if (state === 'closed' && this.motionTimers.has(camera)) this.motionOff(camera);
  }

  private publishHealth(report: HealthReport): void {
    const { topics, sink } = this.deps;
    sink.publishState(topics.vault, report.vault.unlocked ? 'unlocked' : 'locked');
    if ('freeBytes' in report.disk) sink.publishState(topics.storageFree, String(report.disk.freeBytes));
    sink.publishState(topics.recording, report.status === 'up' ? 'ok' : 'degraded');
  }

  private safely(what: string, run: () => void): void {
    try {
      run();
    } catch (err) {
      this.deps.onError(what, err);
    }
  }
}
