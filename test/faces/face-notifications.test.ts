import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ObjectEvent } from '../../src/events/bus.ts';
import { NotifyRepository } from '../../src/notify/repository.ts';
import { decide, defaultRule, ruleSchema } from '../../src/notify/rules.ts';
import { harness, personEvent } from '../notify/harness.ts';
import { PushServiceStandIn } from '../support/push-service.ts';

const ALICE = 1;

let push: PushServiceStandIn;
before(async () => {
  push = await PushServiceStandIn.start();
});
after(async () => {
  await push.close();
});

const ctx = (faceFinal: boolean) => ({ at: 0, presence: () => 'unknown' as const, defaultCooldownSeconds: 0, faceFinal });

test('an unknown-only rule waits for the face result, is silenced by a resident and lets unknown or unseen faces through', () => {
  const rule = ruleSchema.parse({ camera: '*', unknownOnly: true });
  const person = { label: 'person', zones: [] };
  assert.deepEqual(decide(rule, person, ctx(false)), { notify: false, reason: 'awaiting-face' });
  assert.deepEqual(decide(rule, { ...person, face: { resident: 'r1' } }, ctx(false)), { notify: false, reason: 'resident' });
  assert.deepEqual(decide(rule, { ...person, face: { resident: 'r1' } }, ctx(true)), { notify: false, reason: 'resident' });
  assert.deepEqual(decide(rule, { ...person, face: { unknown: true } }, ctx(true)), { notify: true });
  assert.deepEqual(decide(rule, person, ctx(true)), { notify: true }, 'no face seen counts as unknown');
  assert.deepEqual(decide(defaultRule(), { ...person, face: { resident: 'r1' } }, ctx(false)), { notify: true }, 'other rules ignore faces');
  assert.deepEqual(ruleSchema.safeParse({ camera: '*', arrivals: ['not an id!'] }).success, false);
});

test('with "unknown person only", a resident is not notified and an unknown face is, when its event ends', async () => {
  const h = await harness({ config: { pushServices: [push.origin] } });
  try {
    const phone = push.subscribe();
    h.notifier.subscribe(ALICE, phone.json);
    h.notifier.setRule(ALICE, { camera: '*', unknownOnly: true });
    const resident = personEvent();
    const stranger = personEvent();
    const nobody = personEvent();
    for (const e of [resident, stranger, nobody]) await h.emitStart(e);
    assert.equal(push.receivedBy(phone.id).length, 0, 'nothing before the face result');

    const end = (e: ObjectEvent, face?: ObjectEvent['face']) => h.bus.emit('event:end', { ...e, end: e.start + 5000, ...(face ? { face } : {}) }, undefined);
    end(resident, { resident: 'r1' });
    end(stranger, { unknown: true });
    end(nobody);
    await h.notifier.idle();
    assert.deepEqual(
      push.receivedBy(phone.id).map((p) => JSON.parse(p.plaintext).eventId).sort(),
      [stranger.id, nobody.id].sort(),
    );
  } finally {
    await h.close();
  }
});

test('"tell me when alice arrives" notifies the users who asked, naming her', async () => {
  const h = await harness({ config: { pushServices: [push.origin] }, mayNotify: (userId) => userId === ALICE });
  try {
    const phone = push.subscribe();
    const other = push.subscribe();
    h.notifier.subscribe(ALICE, phone.json);
    h.notifier.subscribe(2, other.json);
    h.notifier.setRule(ALICE, { camera: '*', arrivals: ['r-alice'] });
    h.notifier.setRule(2, { camera: '*', arrivals: ['r-alice'] });
    h.bus.emit('resident:arrived', { resident: 'r-bob', name: 'bob', camera: 'porch', eventId: 'ev-b', at: Date.UTC(2026, 4, 17, 9) });
    h.bus.emit('resident:arrived', { resident: 'r-alice', name: 'alice', camera: 'porch', eventId: 'ev-a', at: Date.UTC(2026, 4, 17, 9) });
    await h.notifier.idle();
    const got = push.receivedBy(phone.id).map((p) => JSON.parse(p.plaintext));
    assert.deepEqual(got.map((m) => [m.label, m.eventId]), [['alice arrived', 'ev-a']]);
    assert.equal(push.receivedBy(other.id).length, 0, 'a user without the right on the camera is not told');
  } finally {
    await h.close();
  }
});

test('a deleted resident leaves every arrival rule', async () => {
  const h = await harness();
  try {
    h.notifier.setRule(ALICE, { camera: '*', arrivals: ['r-alice', 'r-bob'] });
    h.notifier.setRule(ALICE, { camera: 'porch', arrivals: ['r-alice'], labels: ['dog'] });
    h.notifier.setRule(2, { camera: '*', arrivals: ['r-bob'] });
    assert.equal(new NotifyRepository(h.db).forgetResident('r-alice', Date.now()), 2);
    assert.deepEqual(h.notifier.rules(ALICE).map((r) => [r.camera, r.arrivals, r.labels]), [['*', ['r-bob'], ['person']], ['porch', [], ['dog']]]);
    assert.deepEqual(h.notifier.rules(2).map((r) => r.arrivals), [['r-bob']]);
  } finally {
    await h.close();
  }
});
