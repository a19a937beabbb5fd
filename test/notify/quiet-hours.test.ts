import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isQuietAt, minutesOfDay, quietHoursSchema } from '../../src/notify/quiet-hours.ts';

const utc = (h: number, m: number, day = 15) => Date.UTC(2026, 0, day, h, m);

test('minutes of day are local wall-clock time in the given zone', () => {
  assert.equal(minutesOfDay(utc(23, 30), 'UTC'), 23 * 60 + 30);
  assert.equal(minutesOfDay(utc(23, 30), 'Europe/Paris'), 30); // 00:30 next day in winter
  assert.equal(minutesOfDay(utc(2, 15), 'America/Los_Angeles'), 18 * 60 + 15); // 18:15 the day before
});

test('a window within one day covers [start, end)', () => {
  const quiet = { start: '09:00', end: '17:00', timeZone: 'UTC' };
  assert.equal(isQuietAt(utc(8, 59), quiet), false);
  assert.equal(isQuietAt(utc(9, 0), quiet), true);
  assert.equal(isQuietAt(utc(16, 59), quiet), true);
  assert.equal(isQuietAt(utc(17, 0), quiet), false);
});

test('a window that crosses midnight covers the late evening and the early morning', () => {
  const quiet = { start: '22:00', end: '07:00', timeZone: 'UTC' };
  assert.equal(isQuietAt(utc(21, 59), quiet), false);
  assert.equal(isQuietAt(utc(22, 0), quiet), true);
  assert.equal(isQuietAt(utc(23, 59), quiet), true);
  assert.equal(isQuietAt(utc(0, 0), quiet), true);
  assert.equal(isQuietAt(utc(6, 59), quiet), true);
  assert.equal(isQuietAt(utc(7, 0), quiet), false);
  assert.equal(isQuietAt(utc(12, 0), quiet), false);
});

test('quiet hours are judged in their own time zone, not the host\'s', () => {
  const tokyo = { start: '22:00', end: '07:00', timeZone: 'Asia/Tokyo' }; // UTC+9
  assert.equal(isQuietAt(utc(13, 30), tokyo), true); // 22:30 in Tokyo
  assert.equal(isQuietAt(utc(21, 30), tokyo), true); // 06:30 next morning in Tokyo
  assert.equal(isQuietAt(utc(22, 30), tokyo), false); // 07:30 in Tokyo
  assert.equal(isQuietAt(utc(3, 0), tokyo), false); // noon in Tokyo
});

test('daylight saving time moves the window with the wall clock', () => {
  const paris = { start: '22:00', end: '07:00', timeZone: 'Europe/Paris' };
  // 21:30 UTC is 22:30 in winter (CET) but 23:30 in summer (CEST): quiet either way.
  assert.equal(isQuietAt(Date.UTC(2026, 0, 10, 21, 30), paris), true);
  assert.equal(isQuietAt(Date.UTC(2026, 6, 10, 21, 30), paris), true);
  // 20:30 UTC is 21:30 CET (not quiet) but 22:30 CEST (quiet).
  assert.equal(isQuietAt(Date.UTC(2026, 0, 10, 20, 30), paris), false);
  assert.equal(isQuietAt(Date.UTC(2026, 6, 10, 20, 30), paris), true);
});

test('quiet hours with a bad time, an unknown zone or an empty window are rejected', () => {
  assert.equal(quietHoursSchema.safeParse({ start: '22:00', end: '07:00', timeZone: 'Europe/Paris' }).success, true);
  assert.equal(quietHoursSchema.safeParse({ start: '24:00', end: '07:00', timeZone: 'UTC' }).success, false);
  assert.equal(quietHoursSchema.safeParse({ start: '7:00', end: '08:00', timeZone: 'UTC' }).success, false);
  assert.equal(quietHoursSchema.safeParse({ start: '22:00', end: '07:00', timeZone: 'Mars/Olympus' }).success, false);
  assert.equal(quietHoursSchema.safeParse({ start: '08:00', end: '08:00', timeZone: 'UTC' }).success, false);
});
