import { z } from 'zod';
import type { FaceResult } from '../events/bus.ts';
import { isQuietAt, quietHoursSchema } from './quiet-hours.ts';

/** Reported by the privacy module; only `'home'` silences an away-only rule (unknown fails open). */
export type Presence = 'home' | 'away' | 'unknown';

/** Every camera that has no rule of its own follows the user's `'*'` rule, or {@link defaultRule}. */
export const ANY_CAMERA = '*';

const name = z.string().min(1).max(64);

export const ruleSchema = z.strictObject({
  camera: z
    .string()
    .regex(/^([a-z0-9_-]{1,32}|\*)$/, 'must be a camera name (1–32 lowercase letters, digits, - and _) or "*"'),
  enabled: z.boolean().default(true),
  labels: z.array(name).max(100).default(['person']).describe('Labels that notify; empty = any label.'),
  zones: z.array(name).max(100).default([]).describe('Notify only once the object entered one of these; empty = anywhere.'),
  cooldownSeconds: z
    .number()
    .int('must be a whole number')
    .min(0, 'must be between 0 and 86400')
    .max(86400, 'must be between 0 and 86400')
    .nullable()
    .default(null)
    .describe('Minimum time between notifications for this camera; null = notifications.cooldownSeconds.'),
  awayOnly: z.boolean().default(false).describe('Notify only when nobody is home.'),
  unknownOnly: z
    .boolean()
    .default(false)
    .describe('People only when face recognition did not recognise a resident (no face seen counts as unknown); decided when the event ends.'),
  arrivals: z
    .array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a resident id'))
    .max(100)
    .default([])
    .describe('Residents (ids) whose arrival, recognised by face, notifies.'),
  quietHours: quietHoursSchema.nullable().default(null).describe('Local-time window without notifications.'),
});

/** A user's rule for one camera (or `'*'`), as stored and as the viewer edits it. */
export type NotifyRule = z.infer<typeof ruleSchema>;
export type NotifyRuleInput = z.input<typeof ruleSchema>;

/** What a user gets without any rule: people, anywhere, with the configured cooldown, at all hours. */
export function defaultRule(camera: string = ANY_CAMERA): NotifyRule {
  return ruleSchema.parse({ camera });
}

/** The camera's own rule, else the `'*'` rule, else the default. Rules are not merged. */
export function ruleFor(rules: readonly NotifyRule[], camera: string): NotifyRule {
  return rules.find((r) => r.camera === camera) ?? rules.find((r) => r.camera === ANY_CAMERA) ?? defaultRule();
}

export type Suppression = 'disabled' | 'label' | 'zone' | 'quiet-hours' | 'someone-home' | 'cooldown' | 'awaiting-face' | 'resident';

export type Decision = { notify: true } | { notify: false; reason: Suppression };

export interface DecisionContext {
  /** The instant to judge (ms since epoch), normally the clock's now. */
  at: number;
  /** Asked only when the rule is away-only. */
  presence: () => Presence;
  /** When this user was last notified about this camera, if ever. */
  lastNotifiedAt?: number;
  /** notifications.cooldownSeconds from the config. */
  defaultCooldownSeconds: number;
  /** The event ended: its face result is final (unknown-only rules wait for it). */
  faceFinal?: boolean;
}

/**
 * Whether one user is notified about one event. Checks run from the cheapest to the one that
 * depends on history, so a cooldown only starts when a notification is actually sent.
 */
export function decide(
  rule: NotifyRule,
  event: { label: string; zones: readonly string[]; face?: FaceResult },
  ctx: DecisionContext,
): Decision {
  if (!rule.enabled) return { notify: false, reason: 'disabled' };
  if (rule.labels.length > 0 && !rule.labels.includes(event.label)) return { notify: false, reason: 'label' };
  if (rule.zones.length > 0 && !rule.zones.some((zone) => event.zones.includes(zone))) return { notify: false, reason: 'zone' };
  if (rule.unknownOnly && event.label === 'person') {
    if (event.face?.resident) return { notify: false, reason: 'resident' };
    if (!ctx.faceFinal) return { notify: false, reason: 'awaiting-face' };
  }
  if (rule.quietHours && isQuietAt(ctx.at, rule.quietHours)) return { notify: false, reason: 'quiet-hours' };
  if (rule.awayOnly && ctx.presence() === 'home') return { notify: false, reason: 'someone-home' };
  const cooldownMs = (rule.cooldownSeconds ?? ctx.defaultCooldownSeconds) * 1000;
  if (ctx.lastNotifiedAt !== undefined && ctx.at - ctx.lastNotifiedAt < cooldownMs) return { notify: false, reason: 'cooldown' };
  return { notify: true };
}
