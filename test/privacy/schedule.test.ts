import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localClock, scheduleActive, scheduleInput, type ShutterSchedule } from '../../src/privacy/schedule.ts';

const EVERY_DAY: ShutterSchedule['days'] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const window = (from: string, to: string, more: Partial<ShutterSchedule> = {}): ShutterSchedule => ({
  name: 'night',
  days: EVERY_DAY,
  from,
  to,
  state: 'closed',
  ...more,
});
const utc = (iso: string) => Date.parse(`${iso}Z`);
const PARIS = 'Europe/Paris';

test('local clock is the wall time and weekday of the given zone', () => {
  assert.deepEqual(localClock(utc('2026-01-15T23:30'), 'UTC'), { weekday: 'thu', minutes: 23 * 60 + 30 });
  assert.deepEqual(localClock(utc('2026-01-15T23:30'), PARIS), { weekday: 'fri', minutes: 30 });
  assert.deepEqual(localClock(utc('2026-07-15T21:30'), PARIS), { weekday: 'wed', minutes: 23 * 60 + 30 }, 'summer time is UTC+2');
});

test('a window within one day covers [from, to)', () => {
  const day = window('09:00', '17:00');
  assert.equal(scheduleActive(day, utc('2026-01-15T08:59'), 'UTC'), false);
  assert.equal(scheduleActive(day, utc('2026-01-15T09:00'), 'UTC'), true);
  assert.equal(scheduleActive(day, utc('2026-01-15T16:59'), 'UTC'), true);
  assert.equal(scheduleActive(day, utc('2026-01-15T17:00'), 'UTC'), false);
});

test('a window crossing midnight runs from the evening of its day into the next morning', () => {
  const fridayNight = window('22:00', '07:00', { days: ['fri'] }); // 2026-01-16 is a Friday
  assert.equal(scheduleActive(fridayNight, utc('2026-01-16T21:59'), 'UTC'), false);
  assert.equal(scheduleActive(fridayNight, utc('2026-01-16T22:00'), 'UTC'), true);
  assert.equal(scheduleActive(fridayNight, utc('2026-01-17T00:00'), 'UTC'), true, 'Saturday just after midnight');
  assert.equal(scheduleActive(fridayNight, utc('2026-01-17T06:59'), 'UTC'), true);
  assert.equal(scheduleActive(fridayNight, utc('2026-01-17T07:00'), 'UTC'), false);
  assert.equal(scheduleActive(fridayNight, utc('2026-01-17T22:30'), 'UTC'), false, 'Saturday night is not Friday night');
  assert.equal(scheduleActive(fridayNight, utc('2026-01-16T03:00'), 'UTC'), false, 'Friday early morning belongs to Thursday night');
});

test('24:00 ends a window at midnight', () => {
  const evening = window('20:00', '24:00');
  assert.equal(scheduleActive(evening, utc('2026-01-15T23:59'), 'UTC'), true);
  assert.equal(scheduleActive(evening, utc('2026-01-16T00:00'), 'UTC'), false);
});

test('windows are judged in their time zone, not the host\'s', () => {
  const night = window('22:00', '07:00');
  assert.equal(scheduleActive(night, utc('2026-01-15T21:30'), PARIS), true, '22:30 in Paris');
  assert.equal(scheduleActive(night, utc('2026-01-15T21:30'), 'UTC'), false);
  assert.equal(scheduleActive(night, utc('2026-01-15T06:30'), PARIS), false, '07:30 in Paris');
});

test('spring forward in Paris (2026-03-29): the night window still ends at 07:00 local, an hour shorter', () => {
  const night = window('22:00', '07:00');
  // Saturday 22:00 CET = 21:00 UTC; Sunday 07:00 CEST = 05:00 UTC.
  assert.equal(scheduleActive(night, utc('2026-03-28T20:59'), PARIS), false);
  assert.equal(scheduleActive(night, utc('2026-03-28T21:00'), PARIS), true);
  assert.equal(scheduleActive(night, utc('2026-03-29T00:59'), PARIS), true, '01:59 CET, just before the jump');
  assert.equal(scheduleActive(night, utc('2026-03-29T01:00'), PARIS), true, '03:00 CEST, just after the jump');
  assert.equal(scheduleActive(night, utc('2026-03-29T04:59'), PARIS), true);
  assert.equal(scheduleActive(night, utc('2026-03-29T05:00'), PARIS), false, '07:00 CEST');
  // The morning before, 07:00 was still CET = 06:00 UTC.
  assert.equal(scheduleActive(night, utc('2026-03-28T05:59'), PARIS), true);
  assert.equal(scheduleActive(night, utc('2026-03-28T06:00'), PARIS), false);
});

test('spring forward: a window starting in the skipped hour starts when the clock jumps to 03:00', () => {
  const odd = window('02:30', '03:30', { days: ['sun'] });
  assert.equal(scheduleActive(odd, utc('2026-03-29T00:59'), PARIS), false, '01:59 CET');
  assert.equal(scheduleActive(odd, utc('2026-03-29T01:00'), PARIS), true, '03:00 CEST');
  assert.equal(scheduleActive(odd, utc('2026-03-29T01:29'), PARIS), true);
  assert.equal(scheduleActive(odd, utc('2026-03-29T01:30'), PARIS), false, '03:30 CEST');
});

test('fall back in Paris (2026-10-25): the night window ends at 07:00 local, an hour longer', () => {
  const night = window('22:00', '07:00');
  // Saturday 22:00 CEST = 20:00 UTC; Sunday 07:00 CET = 06:00 UTC.
  assert.equal(scheduleActive(night, utc('2026-10-24T19:59'), PARIS), false);
  assert.equal(scheduleActive(night, utc('2026-10-24T20:00'), PARIS), true);
  assert.equal(scheduleActive(night, utc('2026-10-25T00:30'), PARIS), true, '02:30 CEST, first pass');
  assert.equal(scheduleActive(night, utc('2026-10-25T01:30'), PARIS), true, '02:30 CET, second pass');
  assert.equal(scheduleActive(night, utc('2026-10-25T05:59'), PARIS), true, '06:59 CET');
  assert.equal(scheduleActive(night, utc('2026-10-25T06:00'), PARIS), false, '07:00 CET');
  // The next evening starts at 22:00 CET = 21:00 UTC.
  assert.equal(scheduleActive(night, utc('2026-10-25T20:59'), PARIS), false);
  assert.equal(scheduleActive(night, utc('2026-10-25T21:00'), PARIS), true);
});

test('fall back: a window inside the repeated hour applies both times the wall clock reads it', () => {
  const repeated = window('02:15', '02:45', { days: ['sun'] });
  assert.equal(scheduleActive(repeated, utc('2026-10-25T00:20'), PARIS), true, '02:20 CEST');
  assert.equal(scheduleActive(repeated, utc('2026-10-25T00:50'), PARIS), false, '02:50 CEST');
  assert.equal(scheduleActive(repeated, utc('2026-10-25T01:20'), PARIS), true, '02:20 CET');
  assert.equal(scheduleActive(repeated, utc('2026-10-25T01:50'), PARIS), false, '02:50 CET');
});

test('a schedule applies to its cameras only, every camera by default, and closed wins over open', () => {
  const at = utc('2026-01-15T23:00');
  const schedules: ShutterSchedule[] = [
    window('22:00', '07:00', { name: 'bedroom night', cameras: ['bedroom'] }),
    window('20:00', '24:00', { name: 'evening open', state: 'open' }),
  ];
  assert.deepEqual(scheduleInput(schedules, 'bedroom', at, 'UTC'), { state: 'closed', by: 'bedroom night' });
  assert.deepEqual(scheduleInput(schedules, 'porch', at, 'UTC'), { state: 'open', by: 'evening open' });
  assert.equal(scheduleInput(schedules, 'porch', utc('2026-01-15T12:00'), 'UTC'), undefined);
});
