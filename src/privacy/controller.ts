import { EventEmitter } from 'node:events';
import type { Logger } from '../log/logger.ts';
import { contextOf, decide, overrideFate, reasonOf, type CameraInputs, type Layer, type ManualOverride, type Opinion } from './decide.ts';
import { hooksFor, type ShutterHook } from './hooks.ts';
import { PingUnavailableError, systemProbe, type DeviceProbe } from './lan-probe.ts';
import { LanWatch, PresenceBoard } from './presence.ts';
import type { ShutterRepository, StoredShutter } from './repository.ts';
import { effectiveTimeZone, scheduleInput } from './schedule.ts';
import { cameraTriggers, privacyProblems, type CameraTriggers, type PrivacyConfig } from './triggers.ts';
import type { IntrusionState, PresenceSource, ResidentPresence, ResidentState, ShutterChange, ShutterReason, ShutterState } from './types.ts';

/** The audit log as the shutter uses it (the web viewer's AuditLog fits). Never given a secret. */
export interface PrivacyAudit {
  record(
    action: 'shutter_changed' | 'settings_changed' | 'login_failed' | 'lockout',
    who: { actor?: string | null; ip?: string | null },
    target?: string | null,
    detail?: Record<string, unknown>,
  ): void;
}

export interface ShutterControllerOptions {
  repo: ShutterRepository;
  /** Every camera the app runs (the demo camera too). Any other name is treated as closed. */
  cameras: readonly string[];
  privacy: PrivacyConfig;
  logger: Logger;
  audit?: PrivacyAudit;
  now?: () => number;
  /** How often requests from other processes (the CLI) are picked up and timed triggers re-evaluated. */
  pollMs?: number;
  /** LAN presence probe; default: TCP connect for host:port, system ping for a bare host. */
  probe?: DeviceProbe;
  /** Camera-side hooks; default: built from `privacy.cameras.<name>.hook`. */
  hooks?: (camera: string) => ShutterHook[];
}

export interface CameraShutterStatus extends StoredShutter {
  camera: string;
  /** The trigger that decides the camera now ("default" = nothing does: open). */
  layer: Layer;
  triggers: CameraTriggers;
  /** What each trigger says right now; absent = no opinion. */
  inputs: CameraInputs & { manual?: { at: number } };
}

export interface PrivacyStatus {
  timeZone: string;
  cameras: CameraShutterStatus[];
  residents: ReturnType<PresenceBoard['list']>;
  intrusion: IntrusionState & { configured: boolean };
}

const DISARMED: IntrusionState = { armed: false, triggered: false, by: '', at: 0 };
const REQUEST_HISTORY_MS = 30 * 86_400_000;

interface ControllerEvents {
  change: [ShutterChange];
}

/**
 * The single source of truth for every camera's privacy shutter. It combines manual requests
 * (web, API, CLI through the shared `shutter_requests` table), presence, schedules and the
 * intrusion alarm by the precedence documented in decide.ts, keeps the result in `shutter_state`,
 * records each change in the audit log, calls camera-side hooks and emits `change` so the app stops
 * or resumes the camera's pipeline and recorder.
 *
 * `start()` decides the initial state of every camera (see `privacy.restore`) without emitting
 * `change`: the app starts the pipelines of the cameras whose `state()` is open afterwards.
 */
export class ShutterController extends EventEmitter<ControllerEvents> {
  readonly cameras: readonly string[];
  readonly timeZone: string;
  private readonly repo: ShutterRepository;
  private readonly privacy: PrivacyConfig;
  private readonly logger: Logger;
  private readonly audit?: PrivacyAudit;
  private readonly now: () => number;
  private readonly pollMs: number;
  private readonly probe: DeviceProbe;
  private readonly hooks: (camera: string) => ShutterHook[];
  private readonly triggers = new Map<string, CameraTriggers>();
  private readonly current = new Map<string, StoredShutter>();
  private readonly overrides: Map<string, ManualOverride>;
  private readonly lastInputs = new Map<string, CameraInputs>();
  private readonly presence: PresenceBoard;
  private intrusion: IntrusionState;
  private lan?: LanWatch;
  private started = false;
  private pollTimer?: NodeJS.Timeout;
  private probeTimer?: NodeJS.Timeout;
  private probing?: Promise<void>;
  private pingMissingLogged = false;
  private readonly hookQueues = new Map<string, Promise<void>>();
  private readonly hookStates = new Map<string, ShutterState>();

  constructor(opts: ShutterControllerOptions) {
    super();
    const problems = privacyProblems(opts.privacy, opts.cameras);
    if (problems.length > 0) throw new Error(`Invalid privacy settings:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.cameras = [...opts.cameras];
    this.privacy = opts.privacy;
    this.timeZone = effectiveTimeZone(opts.privacy.timeZone);
    this.logger = opts.logger;
    this.audit = opts.audit;
    this.now = opts.now ?? Date.now;
    this.pollMs = opts.pollMs ?? 1000;
    this.probe = opts.probe ?? systemProbe();
    this.hooks = opts.hooks ?? ((camera) => hooksFor(camera, opts.privacy.cameras[camera]?.hook));
    for (const camera of this.cameras) this.triggers.set(camera, cameraTriggers(opts.privacy, camera));
    this.repo = opts.repo;
    this.overrides = new Map([...this.repo.overrides()].filter(([camera]) => this.cameras.includes(camera)));
    this.presence = new PresenceBoard(Object.keys(opts.privacy.residents), this.repo.presence());
    this.intrusion = this.repo.intrusion() ?? DISARMED;
  }

  // --- the web viewer's ShutterAccess ---------------------------------------------------------

  /** Closed until `start()` has decided, and for any camera this controller does not manage. */
  state(camera: string): ShutterState {
    return this.current.get(camera)?.state ?? 'closed';
  }

  /**
   * A manual open or close (`by`: the username). Goes through the same `shutter_requests` table as
   * the CLI; applied at once when started, else at start-up. Resolves once recorded (and applied);
   * a higher-precedence trigger (the alarm) may still hold the camera in the other state.
   */
  async set(camera: string, state: ShutterState, by: string): Promise<void> {
    if (!this.cameras.includes(camera)) throw new Error(`Unknown camera "${camera}"`);
    this.repo.request(camera, state, by, this.now());
    if (this.started) this.applyRequests(this.now());
  }

  // --- status -----------------------------------------------------------------------------------

  status(): PrivacyStatus {
    const now = this.now();
    return {
      timeZone: this.timeZone,
      cameras: this.cameras.map((camera) => {
        const base = this.baseInputs(camera, now);
        const override = this.overrides.get(camera);
        const inputs = {
          ...base,
          ...(override ? { manual: { state: override.state, by: override.by, reason: override.reason, at: override.at } } : {}),
        };
        const stored = this.current.get(camera) ?? { state: 'closed' as const, reason: 'startup' as const, by: 'not started', since: now };
        return { camera, ...stored, layer: decide(inputs).layer, triggers: this.triggers.get(camera)!, inputs };
      }),
      residents: this.presence.list(),
      intrusion: { ...this.intrusion, configured: this.privacy.intrusion.token !== undefined },
    };
  }

  // --- presence and intrusion (the privacy router calls these) ----------------------------------

  /** Is anyone home? For notification rules such as "only when away"; unknown without residents. */
  occupancy(): 'home' | 'away' | 'unknown' {
    return this.presence.occupancy;
  }

  /** A configured resident's last reported state, if any (face presence asks before reporting). */
  residentPresence(resident: string): ResidentPresence | undefined {
    return this.presence.get(resident);
  }

  /** A resident's phone or hub reports home/away. Returns true when it changed their state. */
  reportPresence(resident: string, state: ResidentState, source: PresenceSource = 'api'): boolean {
    const now = this.now();
    if (!this.presence.report(resident, state, source, now)) return false;
    this.repo.savePresence(resident, this.presence.get(resident)!);
    this.logger.info({ resident, state, source }, 'resident presence');
    if (this.started) this.evaluate(now);
    return true;
  }

  /** Arms or disarms the intrusion override; disarming also clears a triggered alarm. */
  setArmed(armed: boolean, by: string): IntrusionState {
    const next = { armed, triggered: armed && this.intrusion.triggered, by, at: this.now() };
    this.updateIntrusion(next, armed ? 'armed' : 'disarmed');
    return this.intrusion;
  }

  /** An alarm went off (true) or was acknowledged (false). Ignored, returning undefined, while disarmed. */
  setTriggered(triggered: boolean, by: string): IntrusionState | undefined {
    if (triggered && !this.intrusion.armed) {
      this.logger.warn({ by }, 'intrusion trigger ignored: the alarm is not armed');
      return undefined;
    }
    this.updateIntrusion({ ...this.intrusion, triggered, by, at: this.now() }, triggered ? 'triggered' : 'trigger cleared');
    return this.intrusion;
  }

  private updateIntrusion(next: IntrusionState, what: string): void {
    if (next.armed === this.intrusion.armed && next.triggered === this.intrusion.triggered) return; // a panel repeating itself
    this.intrusion = next;
    this.repo.saveIntrusion(next);
    this.logger.warn({ by: next.by, armed: next.armed, triggered: next.triggered }, `intrusion alarm ${what}`);
    this.safely('audit', () =>
      this.audit?.record('settings_changed', { actor: next.by }, 'privacy.intrusion', { armed: next.armed, triggered: next.triggered }),
    );
    if (this.started) this.evaluate(next.at);
  }

  // --- lifecycle --------------------------------------------------------------------------------

  /** Decides every camera's initial state (privacy.restore), then watches requests, timers and the LAN. */
  async start(): Promise<void> {
    if (this.started) return;
    const now = this.now();
    this.repo.pruneRequests(now - REQUEST_HISTORY_MS);
    for (const [camera, stored] of this.repo.states()) if (this.cameras.includes(camera)) this.current.set(camera, stored);
    for (const camera of this.cameras) this.hookStates.set(camera, this.current.get(camera)?.state ?? 'open');
    const restore = this.privacy.restore;
    if (restore !== 'last') {
      for (const camera of this.cameras) {
        const startup: ManualOverride = {
          state: restore,
          reason: 'startup',
          by: `privacy.restore: ${restore}`,
          at: now,
          context: contextOf(this.baseInputs(camera, now)),
        };
        this.overrides.set(camera, startup);
        this.repo.saveOverride(camera, startup);
      }
    }
    const devices = Object.fromEntries(Object.entries(this.privacy.residents).map(([name, r]) => [name, r.devices]));
    this.lan = new LanWatch(devices, this.privacy.presence.lan.awayAfterMinutes * 60_000, now);
    this.started = true;
    this.evaluate(now, true);
    this.applyRequests(now, true); // asked for while Volet was not running
    this.pollTimer = setInterval(() => this.tick(), this.pollMs);
    this.pollTimer.unref();
    if (this.lan.addresses.length > 0) {
      void this.probeNow();
      this.probeTimer = setInterval(() => void this.probeNow(), this.privacy.presence.lan.intervalSeconds * 1000);
      this.probeTimer.unref();
    }
  }

  /** Stops timers and waits for hooks already under way. The last state stays in the database. */
  async stop(): Promise<void> {
    this.started = false;
    clearInterval(this.pollTimer);
    clearInterval(this.probeTimer);
    await this.probing;
    await Promise.all(this.hookQueues.values());
  }

  /** One poll: requests from other processes, then timed triggers (schedules, auto-reopen, LAN). */
  tick(): void {
    if (!this.started) return;
    try {
      const now = this.now();
      this.applyRequests(now);
      this.evaluate(now);
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'privacy shutter: evaluation failed');
    }
  }

  // --- deciding ---------------------------------------------------------------------------------

  private applyRequests(now: number, startup = false): void {
    for (const request of this.repo.pendingRequests()) {
      if (!this.cameras.includes(request.camera)) {
        this.repo.completeRequest(request.id, now, null, `unknown camera "${request.camera}"`);
        continue;
      }
      const override: ManualOverride = {
        state: request.state,
        reason: 'manual',
        by: request.by,
        at: now,
        context: contextOf(this.baseInputs(request.camera, now)),
      };
      this.overrides.set(request.camera, override);
      this.repo.saveOverride(request.camera, override);
      const layer = this.evaluateCamera(request.camera, now, startup);
      const result = this.state(request.camera);
      this.repo.completeRequest(request.id, now, result, result === request.state ? null : `held ${result} by ${layer}`);
    }
  }

  private evaluate(now: number, startup = false): void {
    for (const change of this.lan?.changes(now) ?? []) {
      if (this.presence.report(change.resident, change.state, 'lan', now)) {
        this.repo.savePresence(change.resident, this.presence.get(change.resident)!);
        this.logger.info({ resident: change.resident, state: change.state, source: 'lan' }, 'resident presence');
      }
    }
    for (const camera of this.cameras) this.evaluateCamera(camera, now, startup);
  }

  /** Re-decides one camera; returns the layer that decides it. */
  private evaluateCamera(camera: string, now: number, startup: boolean): Layer {
    const base = this.baseInputs(camera, now);
    let expired = false;
    const held = this.overrides.get(camera);
    if (held) {
      const minutes = this.triggers.get(camera)!.autoReopenMinutes;
      const fate = overrideFate(held, contextOf(base), now, minutes * 60_000);
      if (fate !== 'holds') {
        this.overrides.delete(camera);
        this.repo.deleteOverride(camera);
        expired = fate === 'expired';
      }
    }
    const override = this.overrides.get(camera);
    const inputs: CameraInputs = { ...base, ...(override ? { manual: { state: override.state, by: override.by, reason: override.reason } } : {}) };
    const previous = this.lastInputs.get(camera);
    this.lastInputs.set(camera, inputs);
    const decision = decide(inputs);
    if (this.current.get(camera)?.state === decision.state) return decision.layer;
    const cause = expired
      ? { reason: 'auto-reopen' as const, by: `after ${this.triggers.get(camera)!.autoReopenMinutes} min` }
      : this.attribute(decision.layer, inputs, previous, override);
    this.change(camera, decision.state, cause.reason, cause.by, now, startup);
    return decision.layer;
  }

  /** What the configured triggers other than manual say about a camera at `now`. */
  private baseInputs(camera: string, now: number): Omit<CameraInputs, 'manual'> {
    const triggers = this.triggers.get(camera);
    if (!triggers) return {};
    const presence: Opinion | undefined = triggers.presence && this.presence.anyoneHome ? { state: 'closed', by: this.presence.by } : undefined;
    const schedule = scheduleInput(this.privacy.schedules, camera, now, this.timeZone);
    const alarm = this.intrusion;
    const intrusion: Opinion | undefined =
      triggers.intrusion && alarm.armed && alarm.triggered && (this.privacy.intrusion.overridePresence || !presence)
        ? { state: 'open', by: alarm.by }
        : undefined;
    return { intrusion, presence, schedule };
  }

  /**
   * Names the cause of a change: the deciding trigger when it just spoke up, else the highest
   * trigger whose opinion just changed (a window that ended, the last resident leaving, a disarm).
   */
  private attribute(
    layer: Layer,
    inputs: CameraInputs,
    previous: CameraInputs | undefined,
    override: ManualOverride | undefined,
  ): { reason: ShutterReason; by: string } {
    const changed = (l: 'intrusion' | 'manual' | 'presence' | 'schedule') =>
      previous === undefined ? inputs[l] !== undefined : inputs[l]?.state !== previous[l]?.state || inputs[l]?.by !== previous[l]?.by;
    if (layer !== 'default' && changed(layer)) return { reason: reasonOf(layer, override?.reason), by: inputs[layer]!.by };
    if (previous) {
      if (changed('intrusion')) return { reason: 'intrusion', by: this.intrusion.by };
      if (changed('presence')) return { reason: 'presence', by: this.presence.by };
      if (changed('schedule')) return { reason: 'schedule', by: inputs.schedule?.by ?? previous.schedule?.by ?? 'schedule' };
    }
    if (layer !== 'default') return { reason: reasonOf(layer, override?.reason), by: inputs[layer]!.by };
    return { reason: 'startup', by: 'start-up' };
  }

  private change(camera: string, state: ShutterState, reason: ShutterReason, by: string, at: number, startup: boolean): void {
    const before = this.current.get(camera);
    this.current.set(camera, { state, reason, by, since: at });
    // The pipeline hears first: a closing camera must stop watching even if the database is stuck.
    // Each listener on its own: one that throws must not keep the others (the pipeline) from hearing.
    if (!startup) {
      for (const listener of this.rawListeners('change')) {
        this.safely('change listener', () => listener.call(this, { camera, state, reason, by, at }));
      }
    }
    this.logger.info({ camera, state, reason, by }, state === 'closed' ? 'privacy shutter closed' : 'privacy shutter opened');
    this.safely('saving the shutter state', () => this.repo.saveState(camera, { state, reason, by, since: at }));
    this.safely('audit', () => this.audit?.record('shutter_changed', { actor: by }, camera, { from: before?.state ?? null, to: state, reason }));
    this.runHooks(camera);
  }

  private safely(what: string, run: () => unknown): void {
    try {
      run();
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, `privacy shutter: ${what} failed`);
    }
  }

  // --- camera-side hooks ------------------------------------------------------------------------

  /** Hooks run one at a time per camera, in order, skipping states already told; failures are logged only. */
  private runHooks(camera: string): void {
    const hooks = this.hooks(camera);
    if (hooks.length === 0) return;
    const previous = this.hookQueues.get(camera) ?? Promise.resolve();
    const next = previous.then(async () => {
      const state = this.state(camera);
      if (this.hookStates.get(camera) === state) return;
      this.hookStates.set(camera, state);
      await Promise.all(
        hooks.map(async (hook) => {
          try {
            await (state === 'open' ? hook.open() : hook.close());
            this.logger.debug({ camera, hook: hook.kind, state }, 'shutter hook done');
          } catch (err) {
            this.logger.warn({ camera, hook: hook.kind, state, err: (err as Error).message }, 'shutter hook failed (the shutter itself changed)');
          }
        }),
      );
    });
    this.hookQueues.set(camera, next);
  }

  // --- LAN presence -----------------------------------------------------------------------------

  /** Probes every resident device once (also done every `presence.lan.intervalSeconds`), then re-decides. */
  probeNow(): Promise<void> {
    const lan = this.lan;
    if (!lan || !this.started) return Promise.resolve();
    this.probing ??= Promise.all(
      lan.addresses.map(async (address) => {
        try {
          if (await this.probe(address)) lan.seen(address, this.now());
        } catch (err) {
          if (err instanceof PingUnavailableError) {
            if (!this.pingMissingLogged) this.logger.error({ err: err.message }, 'LAN presence cannot probe devices');
            this.pingMissingLogged = true;
          } else {
            this.logger.debug({ address, err: (err as Error).message }, 'LAN probe failed');
          }
        }
      }),
    ).then(() => {
      this.probing = undefined;
      this.tick();
    });
    return this.probing;
  }
}
