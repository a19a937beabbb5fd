import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextOf, decide, overrideFate, type CameraInputs, type ManualOverride } from '../../src/privacy/decide.ts';

const alarm = { state: 'open' as const, by: 'alarm: front door' };
const manualOpen = { state: 'open' as const, by: 'alice', reason: 'manual' as const };
const manualClose = { state: 'closed' as const, by: 'alice', reason: 'manual' as const };
const home = { state: 'closed' as const, by: 'bob' };
const nightClosed = { state: 'closed' as const, by: 'night' };
const dayOpen = { state: 'open' as const, by: 'day' };

test('precedence: intrusion > manual > presence > schedule > open', () => {
  const table: Array<[string, CameraInputs, string, string]> = [
    ['nothing applies', {}, 'open', 'default'],
    ['a closing schedule', { schedule: nightClosed }, 'closed', 'schedule'],
    ['an opening schedule', { schedule: dayOpen }, 'open', 'schedule'],
    ['presence beats an opening schedule', { presence: home, schedule: dayOpen }, 'closed', 'presence'],
    ['manual open beats presence', { manual: manualOpen, presence: home, schedule: nightClosed }, 'open', 'manual'],
    ['manual close beats an opening schedule', { manual: manualClose, schedule: dayOpen }, 'closed', 'manual'],
    ['the alarm beats a manual close', { intrusion: alarm, manual: manualClose }, 'open', 'intrusion'],
    ['the alarm beats presence and schedule', { intrusion: alarm, presence: home, schedule: nightClosed }, 'open', 'intrusion'],
  ];
  for (const [name, inputs, state, layer] of table) {
    assert.deepEqual(decide(inputs), { state, layer }, name);
  }
});

test('a manual state holds until the presence or schedule input changes', () => {
  const override: ManualOverride = { ...manualClose, at: 0, context: contextOf({ schedule: dayOpen }) };
  assert.equal(overrideFate(override, contextOf({ schedule: dayOpen }), 10 * 3_600_000), 'holds');
  assert.equal(overrideFate(override, contextOf({}), 1), 'superseded', 'the window ended');
  assert.equal(overrideFate(override, contextOf({ schedule: dayOpen, presence: home }), 1), 'superseded', 'someone came home');
});

test('auto-reopen expires a manual close only, and only when given', () => {
  const close: ManualOverride = { ...manualClose, at: 1000, context: contextOf({}) };
  const open: ManualOverride = { ...manualOpen, at: 1000, context: contextOf({}) };
  const ctx = contextOf({});
  assert.equal(overrideFate(close, ctx, 1000 + 59_999, 60_000), 'holds');
  assert.equal(overrideFate(close, ctx, 1000 + 60_000, 60_000), 'expired');
  assert.equal(overrideFate(close, ctx, 1000 + 86_400_000), 'holds', 'no auto-reopen configured');
  assert.equal(overrideFate(close, ctx, 1000 + 86_400_000, 0), 'holds', '0 = never');
  assert.equal(overrideFate(open, ctx, 1000 + 86_400_000, 60_000), 'holds', 'an open is never closed by a timer');
});
