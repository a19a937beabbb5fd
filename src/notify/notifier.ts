import { setTimeout as delay } from 'node:timers/promises';
import type { z } from 'zod';
import type { VoletConfig } from '../config/schema.ts';
import type { EventBus, ObjectEvent, ResidentArrival } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import { pushEndpointProblem, selfHostedProblem, type DestinationPolicy } from './destinations.ts';
import { plainTextMessage, pushMessage, pushPayload, type PlainTextMessage, type PushMessage } from './message.ts';
import type { NotifyRepository, SubscriptionRecord, TargetRecord } from './repository.ts';
import { DEFAULT_RETRY, type AttemptOutcome, type RetryPolicy, type RetryRuntime } from './retry.ts';
import { isQuietAt } from './quiet-hours.ts';
import { decide, ruleFor, ruleSchema, type NotifyRule, type Presence, type Suppression } from './rules.ts';
import { selfHostedTargetSchema, sendSelfHosted, type SelfHostedKind, type SelfHostedTarget } from './self-hosted.ts';
import { originOf, pushSubscriptionSchema, sendWebPush, type PushSubscriptionJSON, type VapidDetails } from './web-push.ts';

export type NotificationsConfig = VoletConfig['notifications'];

/**
 * The recipient of the ntfy/Gotify targets written in the config file (`notifications.ntfy`, `.gotify`).
 * User ids are the web viewer's (`web_users.id`, from 1), so 0 is free; its rules can be set like a user's.
 */
export const CONFIG_RECIPIENT = 0;

export interface DeliveryOptions {
  /** Seconds a push service may keep the message for an offline device; also the retry deadline. */
  ttlSeconds: number;
  /** Per-request timeout. */
  timeoutMs: number;
  retry: RetryPolicy;
}

export const DEFAULT_DELIVERY: DeliveryOptions = { ttlSeconds: 60, timeoutMs: 10_000, retry: DEFAULT_RETRY };

export interface NotifierDeps {
  repo: NotifyRepository;
  logger: Logger;
  /** Where the viewer is reached, e.g. https://nvr.home.arpa:8443 — event links point there. */
  viewerBaseUrl: string;
  /** From the privacy module. Only `'home'` silences away-only rules; a throw or a hang counts as `'unknown'`. */
  presence: () => Presence | Promise<Presence>;
  now?: () => number;
  config: NotificationsConfig;
  /**
   * VAPID contact (mailto: or https:) shown to push services. The default names no household on
   * purpose: the push services of browser vendors need not learn the viewer's address.
   */
  vapidSubject?: string;
  /** Time zone of the plain-text messages (ntfy, Gotify); the host's by default. */
  timeZone?: string;
  delivery?: Partial<DeliveryOptions>;
  /**
   * Camera permissions of the auth module, when there are any: false = this user never hears about
   * this camera. Not asked for {@link CONFIG_RECIPIENT}: the config file's targets hear about every camera.
   */
  mayNotify?: (userId: number, camera: string) => boolean;
  /** Waits between retries (tests pass a fast one). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export type Channel = 'web-push' | SelfHostedKind;

export interface DeliveryResult {
  channel: Channel;
  /** Subscription or target id; null for a target from the config file. */
  id: number | null;
  /** Origin of the push service or server: the only part of its URL that is ever reported. */
  origin: string;
  /**
   * 'gone': the push service forgot the subscription (404/410), so it was removed. 'blocked': the
   * destination is not (or no longer) allowed by the config, so it was not contacted at all.
   */
  outcome: 'sent' | 'gone' | 'failed' | 'blocked';
  attempts: number;
  status?: number;
  error?: string;
}

export interface NotifyResult {
  userId: number;
  sent: number;
  failed: number;
  removed: number;
  deliveries: DeliveryResult[];
}

export interface EventReport {
  eventId: string;
  notified: NotifyResult[];
  suppressed: { userId: number; reason: Suppression | 'not-allowed' }[];
}

/** A push subscription as shown to its owner: no key material. */
export interface SubscriptionInfo {
  id: number;
  endpoint: string;
  origin: string;
  userAgent: string | null;
  created: number;
  lastSuccess: number | null;
  failures: number;
}

/** A self-hosted target as shown to its owner: the token itself is never returned. */
export interface TargetInfo {
  id: number;
  kind: SelfHostedKind;
  url: string;
  hasToken: boolean;
  created: number;
  lastSuccess: number | null;
  failures: number;
}

/** Bad input from the viewer, with the path of each problem (answer it with 400). */
export class NotifyInputError extends Error {
  constructor(
    readonly what: string,
    readonly problems: string[],
  ) {
    super(`Invalid ${what}: ${problems.join('; ')}`);
    this.name = 'NotifyInputError';
  }
}

function parseInput<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new NotifyInputError(
    what,
    parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`),
  );
}

const MAX_AWAITED_EVENTS = 1000;
const PRESENCE_TIMEOUT_MS = 2000;
const DEFAULT_SUBJECT = 'mailto:nvr@volet.invalid';

/**
 * Tells people about events: Web Push (VAPID, end-to-end encrypted) to their browsers and plain
 * text to their own ntfy/Gotify servers, filtered by each user's rules. Nothing here can throw into
 * the event bus: every failure is caught, logged with the endpoint's origin only, and reported.
 */
export class Notifier {
  private readonly repo: NotifyRepository;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly delivery: DeliveryOptions;
  private readonly vapid: VapidDetails;
  private readonly policy: DestinationPolicy;
  /** A browser's push subscription, on a push service the config allows. */
  readonly subscriptionSchema;
  /** An ntfy topic or Gotify server on a host of notifications.allowedHosts. */
  readonly targetSchema;
  private readonly configTargets: SelfHostedTarget[] = [];
  private readonly lastNotified = new Map<string, number>();
  /** Events whose object has not yet entered a zone some user waits for: event id → those users. */
  private readonly awaitingZone = new Map<string, Set<number>>();
  /** Users with an unknown-only rule, per event: decided when it ends, with its face result. */
  private readonly awaitingFace = new Map<string, Set<number>>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly shutdown = new AbortController();
  private detachFromBus: (() => void) | undefined;

  constructor(private readonly deps: NotifierDeps) {
    this.repo = deps.repo;
    this.logger = deps.logger.child({ module: 'notify' });
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
    this.delivery = {
      ...DEFAULT_DELIVERY,
      ...deps.delivery,
      retry: { ...DEFAULT_DELIVERY.retry, ...deps.delivery?.retry },
    };
    const subject = deps.vapidSubject ?? DEFAULT_SUBJECT;
    if (!/^(mailto:|https:)/.test(subject)) throw new Error(`VAPID subject "${subject}" must be a mailto: or https: URL`);
    this.vapid = { ...this.repo.vapidKeys(this.now()), subject };
    this.policy = { pushServices: deps.config.pushServices, allowedHosts: deps.config.allowedHosts };
    this.subscriptionSchema = pushSubscriptionSchema.superRefine((subscription, ctx) => {
      const problem = pushEndpointProblem(subscription.endpoint, this.policy);
      if (problem) ctx.addIssue({ code: 'custom', path: ['endpoint'], message: problem });
    });
    this.targetSchema = selfHostedTargetSchema.superRefine((target, ctx) => {
      const problem = selfHostedProblem(target.url, this.policy);
      if (problem) ctx.addIssue({ code: 'custom', path: ['url'], message: problem });
    });
    for (const [kind, url] of [
      ['ntfy', deps.config.ntfy],
      ['gotify', deps.config.gotify],
    ] as const) {
      if (!url) continue;
      const parsed = selfHostedTargetSchema.safeParse({ kind, url });
      if (parsed.success) this.configTargets.push(parsed.data);
      else this.logger.warn({ kind, origin: originOf(url) }, `notifications.${kind} ignored: ${parsed.error.issues[0]?.message}`);
    }
  }

  /** applicationServerKey for `pushManager.subscribe` (base64url, 65 bytes). */
  vapidPublicKey(): string {
    return this.vapid.publicKey;
  }

  /** Listens to the bus: event:start notifies; event:update catches objects that enter a wanted zone later. */
  attach(bus: EventBus): void {
    this.detach();
    const onStart = (event: ObjectEvent) => this.track(this.notifyEvent(event));
    const onUpdate = (event: ObjectEvent) => {
      if (this.awaitingZone.get(event.id)?.size) this.track(this.notifyEvent(event, 'update'));
    };
    const onEnd = (event: ObjectEvent) => {
      this.awaitingZone.delete(event.id);
      if (this.awaitingFace.get(event.id)?.size) this.track(this.notifyEvent(event, 'end'));
      else this.awaitingFace.delete(event.id);
    };
    const onArrival = (arrival: ResidentArrival) => this.track(this.notifyArrival(arrival));
    bus.on('event:start', onStart);
    bus.on('event:update', onUpdate);
    bus.on('event:end', onEnd);
    bus.on('resident:arrived', onArrival);
    this.detachFromBus = () => {
      bus.off('event:start', onStart);
      bus.off('event:update', onUpdate);
      bus.off('event:end', onEnd);
      bus.off('resident:arrived', onArrival);
    };
  }

  detach(): void {
    this.detachFromBus?.();
    this.detachFromBus = undefined;
  }

  /** Resolves once every notification under way has been delivered or given up. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Stops listening, abandons retries and waits for requests under way to end. */
  async close(): Promise<void> {
    this.detach();
    this.shutdown.abort();
    await this.idle();
  }

  /**
   * Decides, for every user with somewhere to be notified, whether this event concerns them, and
   * notifies them. `phase: 'update'` re-examines only users waiting for the object to enter a zone,
   * `'end'` those waiting for the event's face result (unknown-only rules). Never rejects.
   */
  async notifyEvent(event: ObjectEvent, phase: 'start' | 'update' | 'end' = 'start'): Promise<EventReport> {
    const report: EventReport = { eventId: event.id, notified: [], suppressed: [] };
    try {
      await Promise.resolve(); // let the emitter (the camera pipeline) go on before any database read
      const awaiting = phase === 'end' ? this.awaitingFace : this.awaitingZone;
      const candidates = phase === 'start' ? this.recipients() : [...(awaiting.get(event.id) ?? [])];
      const rules = new Map<number, NotifyRule>();
      for (const userId of candidates) {
        if (!this.mayNotify(userId, event.camera)) {
          report.suppressed.push({ userId, reason: 'not-allowed' });
          continue;
        }
        rules.set(userId, ruleFor(this.repo.rulesOf(userId), event.camera));
      }
      const presence = [...rules.values()].some((rule) => rule.awayOnly) ? await this.currentPresence() : 'unknown';

      // Synchronous from here to the sends, so concurrent events cannot both pass a cooldown.
      const at = this.now();
      const chosen: number[] = [];
      for (const [userId, rule] of rules) {
        const waiting = awaiting.get(event.id);
        if (phase !== 'start' && !waiting?.has(userId)) continue;
        const key = `${userId}\u0000${event.camera}`;
        const decision = decide(rule, event, {
          at,
          presence: () => presence,
          lastNotifiedAt: this.lastNotified.get(key),
          defaultCooldownSeconds: this.deps.config.cooldownSeconds,
          faceFinal: phase === 'end',
        });
        if (decision.notify) {
          this.lastNotified.set(key, at);
          chosen.push(userId);
        } else {
          report.suppressed.push({ userId, reason: decision.reason });
        }
        if (!decision.notify && decision.reason === 'zone' && phase !== 'end') this.awaitZone(event.id, userId);
        else waiting?.delete(userId);
        if (!decision.notify && decision.reason === 'awaiting-face') this.awaitIn(this.awaitingFace, event.id, userId);
      }
      if (phase === 'end') this.awaitingFace.delete(event.id);

      if (chosen.length === 0) return report;
      const message = pushMessage(event, this.deps.viewerBaseUrl);
      report.notified = await Promise.all(chosen.map((userId) => this.deliver(userId, message)));
    } catch (err) {
      this.logger.error({ eventId: event.id, camera: event.camera, err: (err as Error).message }, 'notifying about an event failed');
    }
    return report;
  }

  /**
   * "Tell me when <resident> arrives": every user whose rule for the camera lists the resident is
   * notified ("Alice arrived"), outside quiet hours, without cooldown. Never rejects.
   */
  async notifyArrival(arrival: ResidentArrival): Promise<NotifyResult[]> {
    try {
      await Promise.resolve();
      const chosen = this.recipients().filter((userId) => {
        if (!this.mayNotify(userId, arrival.camera)) return false;
        const rule = ruleFor(this.repo.rulesOf(userId), arrival.camera);
        return rule.enabled && rule.arrivals.includes(arrival.resident) && !(rule.quietHours && isQuietAt(this.now(), rule.quietHours));
      });
      if (chosen.length === 0) return [];
      const message = pushMessage({ id: arrival.eventId, camera: arrival.camera, label: `${arrival.name} arrived`, start: arrival.at }, this.deps.viewerBaseUrl);
      return await Promise.all(chosen.map((userId) => this.deliver(userId, message)));
    } catch (err) {
      this.logger.error({ camera: arrival.camera, err: (err as Error).message }, 'notifying about an arrival failed');
      return [];
    }
  }

  /** Sends a sample notification to every subscription and target of `userId`, ignoring rules. Never rejects. */
  async sendTest(userId: number): Promise<NotifyResult> {
    const message: PushMessage = {
      camera: 'Volet',
      label: 'Test notification',
      time: new Date(this.now()).toISOString(),
      eventId: 'test',
      url: `${this.deps.viewerBaseUrl.replace(/\/+$/, '')}/#/settings/notifications`,
    };
    try {
      return await this.track(this.deliver(userId, message));
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'test notification failed');
      return { userId, sent: 0, failed: 0, removed: 0, deliveries: [] };
    }
  }

  // ── subscriptions ────────────────────────────────────────────────────────────

  /** Stores (or re-assigns to this user) a browser's push subscription. Throws NotifyInputError on bad input. */
  subscribe(userId: number, subscription: PushSubscriptionJSON, userAgent?: string): SubscriptionInfo {
    const valid = parseInput(this.subscriptionSchema, subscription, 'push subscription');
    const record = this.repo.saveSubscription(
      userId,
      { endpoint: valid.endpoint, p256dh: valid.keys.p256dh, auth: valid.keys.auth },
      userAgent ? userAgent.slice(0, 256) : null,
      this.now(),
    );
    this.logger.info({ userId, origin: originOf(record.endpoint) }, 'push subscription added');
    return subscriptionInfo(record);
  }

  /** Removes the user's subscription with this endpoint; false when there was none. */
  unsubscribe(userId: number, endpoint: string): boolean {
    const removed = this.repo.removeSubscription(userId, endpoint);
    if (removed) this.logger.info({ userId, origin: originOf(endpoint) }, 'push subscription removed');
    return removed;
  }

  subscriptions(userId: number): SubscriptionInfo[] {
    return this.repo.subscriptionsOf(userId).map(subscriptionInfo);
  }

  // ── rules ────────────────────────────────────────────────────────────────────

  /** The rules the user saved (per camera and `'*'`). */
  rules(userId: number): NotifyRule[] {
    return this.repo.rulesOf(userId);
  }

  /** The rule that applies to `camera` for this user, saved or default. */
  ruleFor(userId: number, camera: string): NotifyRule {
    return ruleFor(this.repo.rulesOf(userId), camera);
  }

  /** Validates and saves a rule (replacing the camera's previous one). Throws NotifyInputError on bad input. */
  setRule(userId: number, input: unknown): NotifyRule {
    const rule = parseInput(ruleSchema, input, 'notification rule');
    this.repo.saveRule(userId, rule, this.now());
    return rule;
  }

  removeRule(userId: number, camera: string): boolean {
    return this.repo.removeRule(userId, camera);
  }

  // ── self-hosted targets ──────────────────────────────────────────────────────

  /**
   * Adds an ntfy topic or a Gotify server for the user, on a host of notifications.allowedHosts
   * (only administrators may call this from the viewer). Throws NotifyInputError on bad input.
   */
  addTarget(userId: number, input: unknown): TargetInfo {
    const target = parseInput(this.targetSchema, input, 'notification target');
    return targetInfo(this.repo.saveTarget(userId, target, this.now()));
  }

  removeTarget(userId: number, id: number): boolean {
    return this.repo.removeTarget(userId, id);
  }

  /** Removes a deleted user's subscriptions, rules and targets. */
  forgetUser(userId: number): void {
    this.repo.forgetUser(userId);
    for (const key of this.lastNotified.keys()) if (key.startsWith(`${userId}\u0000`)) this.lastNotified.delete(key);
  }

  targets(userId: number): TargetInfo[] {
    return this.repo.targetsOf(userId).map(targetInfo);
  }

  // ── delivery ─────────────────────────────────────────────────────────────────

  private recipients(): number[] {
    const users = this.repo.recipients();
    if (this.configTargets.length > 0 && !users.includes(CONFIG_RECIPIENT)) users.push(CONFIG_RECIPIENT);
    return users;
  }

  private mayNotify(userId: number, camera: string): boolean {
    if (userId === CONFIG_RECIPIENT) return true;
    try {
      return this.deps.mayNotify?.(userId, camera) ?? true;
    } catch {
      return false;
    }
  }

  private async currentPresence(): Promise<Presence> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const answer = await Promise.race([
        Promise.resolve().then(() => this.deps.presence()),
        new Promise<Presence>((resolve) => {
          timer = setTimeout(() => resolve('unknown'), PRESENCE_TIMEOUT_MS);
        }),
      ]);
      return answer === 'home' || answer === 'away' ? answer : 'unknown';
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'presence unavailable; treated as unknown');
      return 'unknown';
    } finally {
      clearTimeout(timer);
    }
  }

  private awaitZone(eventId: string, userId: number): void {
    this.awaitIn(this.awaitingZone, eventId, userId);
  }

  private awaitIn(awaiting: Map<string, Set<number>>, eventId: string, userId: number): void {
    let users = awaiting.get(eventId);
    if (!users) {
      if (awaiting.size >= MAX_AWAITED_EVENTS) {
        const oldest = awaiting.keys().next().value;
        if (oldest !== undefined) awaiting.delete(oldest);
      }
      users = new Set();
      awaiting.set(eventId, users);
    }
    users.add(userId);
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise);
    void promise.finally(() => this.inflight.delete(promise)).catch(() => undefined);
    return promise;
  }

  /** Sends one message to every subscription and target of a user, all in parallel. */
  private async deliver(userId: number, message: PushMessage): Promise<NotifyResult> {
    const runtime: RetryRuntime = {
      now: this.now,
      sleep: this.sleep,
      deadline: this.now() + this.delivery.ttlSeconds * 1000,
      signal: this.shutdown.signal,
    };
    const payload = pushPayload(message);
    const text = plainTextMessage(message, this.deps.timeZone);
    const targets: (TargetRecord | (SelfHostedTarget & { id: null }))[] = this.repo.targetsOf(userId);
    if (userId === CONFIG_RECIPIENT) targets.push(...this.configTargets.map((target) => ({ ...target, id: null })));
    const deliveries = await Promise.all([
      ...this.repo.subscriptionsOf(userId).map((subscription) => this.push(subscription, payload, runtime)),
      ...targets.map((target) => this.post(target, text, runtime)),
    ]);
    return {
      userId,
      sent: deliveries.filter((d) => d.outcome === 'sent').length,
      failed: deliveries.filter((d) => d.outcome === 'failed' || d.outcome === 'blocked').length,
      removed: deliveries.filter((d) => d.outcome === 'gone').length,
      deliveries,
    };
  }

  private async push(subscription: SubscriptionRecord, payload: string, runtime: RetryRuntime): Promise<DeliveryResult> {
    const origin = originOf(subscription.endpoint);
    const problem = pushEndpointProblem(subscription.endpoint, this.policy);
    if (problem) return this.blocked('web-push', subscription.id, origin, problem);
    let result: DeliveryResult;
    try {
      const outcome = await sendWebPush(subscription, payload, this.vapid, { ...this.delivery, runtime });
      const gone = !outcome.ok && (outcome.status === 404 || outcome.status === 410);
      result = toResult('web-push', subscription.id, origin, outcome, gone);
      if (gone) this.repo.removeSubscriptionById(subscription.id);
      else if (outcome.ok) this.repo.subscriptionDelivered(subscription.id, this.now());
      else this.repo.subscriptionFailed(subscription.id);
    } catch (err) {
      result = { channel: 'web-push', id: subscription.id, origin, outcome: 'failed', attempts: 0, error: (err as Error).message };
    }
    this.logDelivery(result);
    return result;
  }

  private async post(target: SelfHostedTarget & { id: number | null }, text: PlainTextMessage, runtime: RetryRuntime): Promise<DeliveryResult> {
    const origin = originOf(target.url);
    // The config file's own targets are the administrator's word; stored ones are checked again.
    const problem = target.id === null ? undefined : selfHostedProblem(target.url, this.policy);
    if (problem) return this.blocked(target.kind, target.id, origin, problem);
    let result: DeliveryResult;
    try {
      const outcome = await sendSelfHosted(target, text, { ...this.delivery, runtime });
      result = toResult(target.kind, target.id, origin, outcome, false);
      if (target.id !== null) {
        if (outcome.ok) this.repo.targetDelivered(target.id, this.now());
        else this.repo.targetFailed(target.id);
      }
    } catch (err) {
      result = { channel: target.kind, id: target.id, origin, outcome: 'failed', attempts: 0, error: (err as Error).message };
    }
    this.logDelivery(result);
    return result;
  }

  /** A stored destination the config does not (or no longer) allow: reported, never contacted. */
  private blocked(channel: Channel, id: number | null, origin: string, problem: string): DeliveryResult {
    this.logger.warn({ channel, id, origin }, `notification destination not allowed, not contacted: ${problem}`);
    return { channel, id, origin, outcome: 'blocked', attempts: 0, error: 'destination not allowed' };
  }

  private logDelivery(result: DeliveryResult): void {
    const { channel, origin, attempts, status, error } = result;
    if (result.outcome === 'sent') this.logger.debug({ channel, origin, attempts }, 'notification delivered');
    else if (result.outcome === 'gone') this.logger.info({ channel, origin, status }, 'push subscription expired; removed');
    else this.logger.warn({ channel, origin, attempts, status, error }, 'notification not delivered');
  }
}

function toResult(channel: Channel, id: number | null, origin: string, outcome: AttemptOutcome, gone: boolean): DeliveryResult {
  const result: DeliveryResult = { channel, id, origin, outcome: outcome.ok ? 'sent' : gone ? 'gone' : 'failed', attempts: outcome.attempts };
  if (outcome.status !== undefined) result.status = outcome.status;
  if (!outcome.ok && outcome.error !== undefined) result.error = outcome.error;
  return result;
}

function subscriptionInfo(record: SubscriptionRecord): SubscriptionInfo {
  const { id, endpoint, userAgent, created, lastSuccess, failures } = record;
  return { id, endpoint, origin: originOf(endpoint), userAgent, created, lastSuccess, failures };
}

function targetInfo(record: TargetRecord): TargetInfo {
  const { id, kind, url, token, created, lastSuccess, failures } = record;
  return { id, kind, url, hasToken: token !== undefined, created, lastSuccess, failures };
}
