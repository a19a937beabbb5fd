import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, defaultRule, ruleFor, ruleSchema, type DecisionContext, type NotifyRule, type NotifyRuleInput } from '../../src/notify/rules.ts';

const rule = (input: Partial<NotifyRuleInput> = {}): NotifyRule => ruleSchema.parse({ camera: 'porch', ...input });
const person = { label: 'person', zones: [] as string[] };
const at = Date.UTC(2026, 0, 15, 12, 0, 0);
const ctx = (over: Partial<DecisionContext> = {}): DecisionContext => ({
  at,
  presence: () => 'away',
  defaultCooldownSeconds: 60,
  ...over,
});

test('by default a person anywhere notifies, a cat does not', () => {
  assert.deepEqual(decide(defaultRule(), person, ctx()), { notify: true });
  assert.deepEqual(decide(defaultRule(), { label: 'cat', zones: [] }, ctx()), { notify: false, reason: 'label' });
});

test('a disabled rule never notifies', () => {
  assert.deepEqual(decide(rule({ enabled: false }), person, ctx()), { notify: false, reason: 'disabled' });
});

test('labels filter, and an empty label list means any label', () => {
  assert.deepEqual(decide(rule({ labels: ['dog', 'cat'] }), { label: 'cat', zones: [] }, ctx()), { notify: true });
  assert.deepEqual(decide(rule({ labels: ['dog'] }), person, ctx()), { notify: false, reason: 'label' });
  assert.deepEqual(decide(rule({ labels: [] }), { label: 'horse', zones: [] }, ctx()), { notify: true });
});

test('zones: notify only once the object entered one of them; none listed means anywhere', () => {
  const doorOrDrive = rule({ zones: ['door', 'driveway'] });
  assert.deepEqual(decide(doorOrDrive, { label: 'person', zones: [] }, ctx()), { notify: false, reason: 'zone' });
  assert.deepEqual(decide(doorOrDrive, { label: 'person', zones: ['street'] }, ctx()), { notify: false, reason: 'zone' });
  assert.deepEqual(decide(doorOrDrive, { label: 'person', zones: ['street', 'driveway'] }, ctx()), { notify: true });
  assert.deepEqual(decide(rule({ zones: [] }), { label: 'person', zones: ['street'] }, ctx()), { notify: true });
});

test('cooldown: the camera stays silent for cooldownSeconds after a notification', () => {
  const r = rule({ cooldownSeconds: 30 });
  assert.deepEqual(decide(r, person, ctx({ lastNotifiedAt: at - 29_999 })), { notify: false, reason: 'cooldown' });
  assert.deepEqual(decide(r, person, ctx({ lastNotifiedAt: at - 30_000 })), { notify: true });
  assert.deepEqual(decide(r, person, ctx({ lastNotifiedAt: undefined })), { notify: true });
});

test('cooldown falls back to notifications.cooldownSeconds, and 0 disables it', () => {
  assert.deepEqual(decide(rule(), person, ctx({ lastNotifiedAt: at - 59_000, defaultCooldownSeconds: 60 })), {
    notify: false,
    reason: 'cooldown',
  });
  assert.deepEqual(decide(rule(), person, ctx({ lastNotifiedAt: at - 61_000, defaultCooldownSeconds: 60 })), { notify: true });
  assert.deepEqual(decide(rule({ cooldownSeconds: 0 }), person, ctx({ lastNotifiedAt: at })), { notify: true });
});

test('away-only: silent when someone is home, notifies when away or unknown', () => {
  const r = rule({ awayOnly: true });
  assert.deepEqual(decide(r, person, ctx({ presence: () => 'home' })), { notify: false, reason: 'someone-home' });
  assert.deepEqual(decide(r, person, ctx({ presence: () => 'away' })), { notify: true });
  assert.deepEqual(decide(r, person, ctx({ presence: () => 'unknown' })), { notify: true });
});

test('presence is not consulted by rules that are not away-only', () => {
  const presence = () => {
    throw new Error('must not be asked');
  };
  assert.deepEqual(decide(rule(), person, ctx({ presence })), { notify: true });
});

test('quiet hours across midnight in the rule\'s time zone silence notifications', () => {
  const r = rule({ quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Paris' } });
  assert.deepEqual(decide(r, person, ctx({ at: Date.UTC(2026, 0, 15, 22, 30) })), { notify: false, reason: 'quiet-hours' }); // 23:30
  assert.deepEqual(decide(r, person, ctx({ at: Date.UTC(2026, 0, 16, 4, 0) })), { notify: false, reason: 'quiet-hours' }); // 05:00
  assert.deepEqual(decide(r, person, ctx({ at: Date.UTC(2026, 0, 16, 6, 0) })), { notify: true }); // 07:00
});

test('a suppressed event does not start a cooldown (cooldown is checked last)', () => {
  const r = rule({ labels: ['person'], cooldownSeconds: 60 });
  assert.deepEqual(decide(r, { label: 'cat', zones: [] }, ctx({ lastNotifiedAt: at })), { notify: false, reason: 'label' });
});

test('the camera\'s own rule wins over "*", which wins over the default; rules are not merged', () => {
  const star = ruleSchema.parse({ camera: '*', labels: ['car'] });
  const porch = ruleSchema.parse({ camera: 'porch', labels: ['dog'] });
  assert.deepEqual(ruleFor([star, porch], 'porch'), porch);
  assert.deepEqual(ruleFor([star, porch], 'garden'), star);
  assert.deepEqual(ruleFor([porch], 'garden'), defaultRule());
});

test('rules are validated: camera names, labels, cooldown range, no unknown keys', () => {
  assert.equal(ruleSchema.safeParse({ camera: 'Porch Cam' }).success, false);
  assert.equal(ruleSchema.safeParse({ camera: 'porch', labels: [''] }).success, false);
  assert.equal(ruleSchema.safeParse({ camera: 'porch', cooldownSeconds: -1 }).success, false);
  assert.equal(ruleSchema.safeParse({ camera: 'porch', cooldownSeconds: 1.5 }).success, false);
  assert.equal(ruleSchema.safeParse({ camera: 'porch', sendImage: true }).success, false);
  assert.deepEqual(ruleSchema.parse({ camera: '*' }), {
    camera: '*',
    enabled: true,
    labels: ['person'],
    zones: [],
    cooldownSeconds: null,
    awayOnly: false,
    unknownOnly: false,
    arrivals: [],
    quietHours: null,
  });
});
