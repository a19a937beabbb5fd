import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Presence } from '../../src/notify/rules.ts';
import { NotifyInputError } from '../../src/notify/notifier.ts';
import { PushServiceStandIn } from '../support/push-service.ts';
import { harness, personEvent, type HarnessOptions } from './harness.ts';

const [ALICE, BOB] = [1, 2];

let push: PushServiceStandIn;
before(async () => {
  push = await PushServiceStandIn.start();
});
after(async () => {
  await push.close();
});

/** A notifier allowed to reach the push service stand-in (notifications.pushServices), and nothing else. */
const pushHarness = (over: HarnessOptions = {}) => harness({ ...over, config: { pushServices: [push.origin], ...over.config } });

/** A clock the test moves by hand. */
function manualClock(start: number) {
  let now = start;
  return { now: () => now, set: (at: number) => (now = at), advance: (ms: number) => (now += ms) };
}

test('only the labels a user asked for notify them', async () => {
  const h = await pushHarness();
  try {
    const phone = push.subscribe();
    h.notifier.subscribe(ALICE, phone.json);
    h.notifier.setRule(ALICE, { camera: '*', labels: ['person', 'dog'] });

    await h.emitStart(personEvent({ label: 'cat' }));
    await h.emitStart(personEvent({ label: 'dog' }));
    await h.emitStart(personEvent({ label: 'person' }));

    assert.deepEqual(
      push.receivedBy(phone.id).map((p) => JSON.parse(p.plaintext).label),
      ['dog', 'person'],
    );
  } finally {
    await h.close();
  }
});

test('a zone rule waits until the object enters the zone, then notifies once', async () => {
  const h = await pushHarness();
  try {
    const phone = push.subscribe();
    h.notifier.subscribe(ALICE, phone.json);
    h.notifier.setRule(ALICE, { camera: 'porch', zones: ['door'] });
    const event = personEvent({ zones: ['sidewalk'] });

    await h.emitStart(event);
    assert.equal(push.receivedBy(phone.id).length, 0, 'not in the zone yet');

    h.bus.emit('event:update', { ...event, zones: ['sidewalk'] });
    await h.notifier.idle();
    assert.equal(push.receivedBy(phone.id).length, 0);

    h.bus.emit('event:update', { ...event, zones: ['sidewalk', 'door'] });
    h.bus.emit('event:update', { ...event, zones: ['sidewalk', 'door'] });
    await h.notifier.idle();
    h.bus.emit('event:update', { ...event, zones: ['sidewalk', 'door'] });
    await h.notifier.idle();
    assert.equal(push.receivedBy(phone.id).length, 1, 'notified exactly once, on entering');
    assert.equal(JSON.parse(push.receivedBy(phone.id)[0].plaintext).eventId, event.id);
  } finally {
    await h.close();
  }
});

test('an event that ends outside the zone never notifies', async () => {
  const h = await pushHarness();
  try {
    const phone = push.subscribe();
    h.notifier.subscribe(ALICE, phone.json);
    h.notifier.setRule(ALICE, { camera: '*', zones: ['door'] });
    const event = personEvent({ zones: [] });

    await h.emitStart(event);
    h.bus.emit('event:end', { ...event, end: event.start + 5000 }, undefined);
    h.bus.emit('event:update', { ...event, zones: ['door'] }); // late update after the end: ignored
    await h.notifier.idle();
    assert.equal(push.receivedBy(phone.id).length, 0);
  } finally {
    await h.close();
  }
});

test('cooldown: one notification per camera and user within cooldownSeconds', async () => {
  const clock = manualClock(Date.UTC(2026, 4, 17, 12, 0, 0));
  const h = await pushHarness({ now: clock.now, config: { cooldownSeconds: 60 } });
  try {
    const phone = push.subscribe();
    h.notifier.subscribe(ALICE, phone.json);

    await h.emitStart(personEvent({ camera: 'porch' }));
    clock.advance(30_000);
    await h.emitStart(personEvent({ camera: 'porch' })); // suppressed
    await h.emitStart(personEvent({ camera: 'garden' })); // another camera: its own cooldown
    clock.advance(30_000);
    await h.emitStart(personEvent({ camera: 'porch' })); // 60 s after the first: allowed

    assert.deepEqual(
      push.receivedBy(phone.id).map((p) => JSON.parse(p.plaintext).camera),
      ['porch', 'garden', 'porch'],
    );
  } finally {
    await h.close();
  }
});

test('events emitted together cannot slip through a cooldown', async () => {
  const h = await pushHarness({ config: { cooldownSeconds: 60 } });
  try {
    const phone = push.subscribe();
    h.notifier.subscribe(ALICE, phone.json);
    h.bus.emit('event:start', personEvent());
    h.bus.emit('event:start', personEvent());
    h.bus.emit('event:start', personEvent());
    await h.notifier.idle();
    assert.equal(push.receivedBy(phone.id).length, 1);
  } finally {
    await h.close();
  }
});

test('quiet hours across midnight in the user\'s time zone hold notifications back', async () => {
  const clock = manualClock(Date.UTC(2026, 0, 15, 22, 30)); // 23:30 in Paris
  const h = await pushHarness({ now: clock.now });
  try {
    const phone = push.subscribe();
    h.notifier.subscribe(ALICE, phone.json);
    h.notifier.setRule(ALICE, { camera: '*', quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Paris' } });

    const night = await h.notifier.notifyEvent(personEvent());
    clock.set(Date.UTC(2026, 0, 16, 5, 59)); // 06:59 in Paris
    const dawn = await h.notifier.notifyEvent(personEvent());
    clock.set(Date.UTC(2026, 0, 16, 6, 0)); // 07:00 in Paris
    const morning = await h.notifier.notifyEvent(personEvent());

    assert.deepEqual(night.suppressed, [{ userId: ALICE, reason: 'quiet-hours' }]);
    assert.deepEqual(dawn.suppressed, [{ userId: ALICE, reason: 'quiet-hours' }]);
    assert.equal(morning.notified[0].sent, 1);
    assert.equal(push.receivedBy(phone.id).length, 1);
  } finally {
    await h.close();
  }
});

test('away-only rules notify only when nobody is home (unknown presence notifies)', async () => {
  let presence: Presence = 'home';
  const h = await pushHarness({ presence: () => presence });
  try {
    const alicePhone = push.subscribe();
    const bobPhone = push.subscribe();
    h.notifier.subscribe(ALICE, alicePhone.json);
    h.notifier.subscribe(BOB, bobPhone.json);
    h.notifier.setRule(ALICE, { camera: '*', awayOnly: true });

    await h.emitStart(personEvent());
    assert.equal(push.receivedBy(alicePhone.id).length, 0, 'alice is silenced while someone is home');
    assert.equal(push.receivedBy(bobPhone.id).length, 1, 'bob has no away-only rule');

    presence = 'away';
    await h.emitStart(personEvent());
    presence = 'unknown';
    await h.emitStart(personEvent());
    assert.equal(push.receivedBy(alicePhone.id).length, 2);
  } finally {
    await h.close();
  }
});

test('presence that throws or rejects counts as unknown and never blocks', async () => {
  for (const presence of [
    (): Presence => {
      throw new Error('privacy module down');
    },
    (): Promise<Presence> => Promise.reject(new Error('privacy module down')),
  ]) {
    const h = await pushHarness({ presence });
    try {
      const phone = push.subscribe();
      h.notifier.subscribe(ALICE, phone.json);
      h.notifier.setRule(ALICE, { camera: '*', awayOnly: true });
      await h.emitStart(personEvent());
      assert.equal(push.receivedBy(phone.id).length, 1);
      assert.match(h.logs(), /presence unavailable/);
    } finally {
      await h.close();
    }
  }
});

test('a camera rule overrides the user\'s "*" rule for that camera only', async () => {
  const h = await pushHarness();
  try {
    const phone = push.subscribe();
    h.notifier.subscribe(ALICE, phone.json);
    h.notifier.setRule(ALICE, { camera: '*', enabled: false });
    h.notifier.setRule(ALICE, { camera: 'gate', labels: ['car'] });

    await h.emitStart(personEvent({ camera: 'porch', label: 'person' }));
    await h.emitStart(personEvent({ camera: 'gate', label: 'person' }));
    await h.emitStart(personEvent({ camera: 'gate', label: 'car' }));

    assert.deepEqual(
      push.receivedBy(phone.id).map((p) => JSON.parse(p.plaintext)).map((m) => `${m.label}@${m.camera}`),
      ['car@gate'],
    );
    assert.deepEqual(h.notifier.ruleFor(ALICE, 'porch').enabled, false);
    assert.equal(h.notifier.removeRule(ALICE, 'gate'), true);
    assert.deepEqual(h.notifier.rules(ALICE).map((r) => r.camera), ['*']);
  } finally {
    await h.close();
  }
});

test('users the auth module does not allow on a camera hear nothing about it', async () => {
  const h = await pushHarness({ mayNotify: (userId, camera) => !(userId === BOB && camera === 'garden') });
  try {
    const alicePhone = push.subscribe();
    const bobPhone = push.subscribe();
    h.notifier.subscribe(ALICE, alicePhone.json);
    h.notifier.subscribe(BOB, bobPhone.json);

    const report = await h.notifier.notifyEvent(personEvent({ camera: 'garden' }));

    assert.equal(push.receivedBy(alicePhone.id).length, 1);
    assert.equal(push.receivedBy(bobPhone.id).length, 0);
    assert.deepEqual(report.suppressed, [{ userId: BOB, reason: 'not-allowed' }]);
  } finally {
    await h.close();
  }
});

test('invalid rules are refused with the path of each problem', async () => {
  const h = await pushHarness();
  try {
    assert.throws(
      () => h.notifier.setRule(ALICE, { camera: 'porch', cooldownSeconds: -5, quietHours: { start: '25:00', end: '07:00', timeZone: 'Nowhere/City' } }),
      (err: unknown) =>
        err instanceof NotifyInputError &&
        err.problems.some((p) => p.startsWith('cooldownSeconds')) &&
        err.problems.some((p) => p.startsWith('quietHours.start')) &&
        err.problems.some((p) => p.startsWith('quietHours.timeZone')),
    );
    assert.deepEqual(h.notifier.rules(ALICE), []);
  } finally {
    await h.close();
  }
});

test('a notification failure never reaches the event bus or the caller', async () => {
  const h = await pushHarness({
    mayNotify: () => {
      throw new Error('auth module exploded');
    },
  });
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const phone = push.subscribe();
    h.notifier.subscribe(ALICE, phone.json);
    // A throwing permission hook denies, it does not crash.
    assert.doesNotThrow(() => h.bus.emit('event:start', personEvent()));
    await h.notifier.idle();

    // Even with the database gone mid-flight, emitting and notifying stay silent.
    h.db.close();
    assert.doesNotThrow(() => h.bus.emit('event:start', personEvent()));
    assert.doesNotThrow(() => h.bus.emit('event:update', personEvent()));
    await h.notifier.idle();
    const report = await h.notifier.notifyEvent(personEvent());
    assert.deepEqual(report.notified, []);
    const test = await h.notifier.sendTest(ALICE);
    assert.equal(test.sent, 0);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, []);
    assert.match(h.logs(), /notifying about an event failed/);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await h.close();
  }
});

test('forgetting a user removes their subscriptions, rules and targets', async () => {
  const h = await pushHarness({ config: { allowedHosts: ['ntfy.example'] } });
  try {
    h.notifier.subscribe(ALICE, push.subscribe().json);
    h.notifier.setRule(ALICE, { camera: '*', labels: ['car'] });
    h.notifier.addTarget(ALICE, { kind: 'ntfy', url: 'https://ntfy.example/alice' });
    h.notifier.subscribe(BOB, push.subscribe().json);

    h.notifier.forgetUser(ALICE);

    assert.deepEqual(h.notifier.subscriptions(ALICE), []);
    assert.deepEqual(h.notifier.rules(ALICE), []);
    assert.deepEqual(h.notifier.targets(ALICE), []);
    assert.equal(h.notifier.subscriptions(BOB).length, 1);
  } finally {
    await h.close();
  }
});
