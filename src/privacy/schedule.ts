import type { ShutterState } from './types.ts';

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** A weekly window of local wall-clock time, as configured under `privacy.schedules`. */
export interface ShutterSchedule {
  name: string;
  /** Undefined = every camera. */
  cameras?: string[];
  /** Days the window starts on. */
  days: Weekday[];
  /** "HH:MM", inclusive. */
  from: string;
  /** "HH:MM" or "24:00", exclusive; not after `from` = the next day. */
  to: string;
  state: ShutterState;
}

export interface LocalClock {
  weekday: Weekday;
  /** Minutes since local midnight, 0–1439. */
  minutes: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** Local weekday and wall-clock minutes at instant `at` (ms since epoch) in the IANA zone `timeZone`. */
export function localClock(at: number, timeZone: string): LocalClock {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formats.set(timeZone, format);
  }
  let weekday: Weekday = 'mon';
  let hour = 0;
  let minute = 0;
  for (const part of format.formatToParts(at)) {
    if (part.type === 'weekday') weekday = part.value.slice(0, 3).toLowerCase() as Weekday;
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { weekday, minutes: hour * 60 + minute };
}

function clockMinutes(text: string): number {
  const [hours, minutes] = text.split(':').map(Number);
  return hours * 60 + minutes;
}

function dayBefore(day: Weekday): Weekday {
  return WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7];
}

/**
 * True while the local wall clock reads inside the window. Judging by the wall clock keeps
 * daylight-saving changes simple to explain: in the spring gap the missing times are skipped (a
 * window from 02:30 starts at 03:00), and in the repeated autumn hour a window covering it applies
 * both times round. A window whose `to` is not after `from` crosses midnight and belongs to the day
 * it started on: `days: [fri]`, 22:00–07:00 runs from Friday night to Saturday morning.
 */
export function scheduleActive(schedule: ShutterSchedule, at: number, timeZone: string): boolean {
  const { weekday, minutes } = localClock(at, timeZone);
  const from = clockMinutes(schedule.from);
  const to = clockMinutes(schedule.to);
  if (from < to) return schedule.days.includes(weekday) && minutes >= from && minutes < to;
  return (
    (schedule.days.includes(weekday) && minutes >= from) ||
    (schedule.days.includes(dayBefore(weekday)) && minutes < to)
  );
}

export function scheduleApplies(schedule: Pick<ShutterSchedule, 'cameras'>, camera: string): boolean {
  return schedule.cameras === undefined || schedule.cameras.includes(camera);
}

/**
 * What the schedules say about one camera at `at`: the state of the active windows (closed wins
 * when windows disagree: privacy first) and the name of the window that says so, or undefined
 * when no window is active.
 */
export function scheduleInput(
  schedules: readonly ShutterSchedule[],
  camera: string,
  at: number,
  timeZone: string,
): { state: ShutterState; by: string } | undefined {
  let found: { state: ShutterState; by: string } | undefined;
  for (const schedule of schedules) {
    if (!scheduleApplies(schedule, camera) || !scheduleActive(schedule, at, timeZone)) continue;
    if (!found || (found.state === 'open' && schedule.state === 'closed')) found = { state: schedule.state, by: schedule.name };
  }
  return found;
}

/** The zone schedules are judged in: the configured one, or the system's. */
export function effectiveTimeZone(configured: string | undefined): string {
  return configured ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}
