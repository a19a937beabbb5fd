import { z } from 'zod';

/** A local-time window such as 22:00–07:00 (crossing midnight) in a named IANA time zone. */
export interface QuietHours {
  /** "HH:MM", inclusive. */
  start: string;
  /** "HH:MM", exclusive. */
  end: string;
  /** IANA name, e.g. "Europe/Paris". */
  timeZone: string;
}

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a 24-hour time "HH:MM"');

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const quietHoursSchema = z
  .strictObject({
    start: clock,
    end: clock,
    timeZone: z.string().min(1).refine(isTimeZone, 'must be an IANA time zone such as "Europe/Paris"'),
  })
  .refine((q) => q.start !== q.end, { message: 'start and end must differ', path: ['end'] });

const hourMinuteFormats = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight (0–1439) at instant `at` (ms since epoch) in `timeZone`. */
export function minutesOfDay(at: number, timeZone: string): number {
  let format = hourMinuteFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    hourMinuteFormats.set(timeZone, format);
  }
  let hour = 0;
  let minute = 0;
  for (const part of format.formatToParts(at)) {
    if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return hour * 60 + minute;
}

function parseClock(text: string): number {
  const [hours, minutes] = text.split(':').map(Number);
  return hours * 60 + minutes;
}

/** True when `at` falls inside the window [start, end) of local wall-clock time; windows may cross midnight. */
export function isQuietAt(at: number, quiet: QuietHours): boolean {
  const now = minutesOfDay(at, quiet.timeZone);
  const start = parseClock(quiet.start);
  const end = parseClock(quiet.end);
  return start < end ? now >= start && now < end : now >= start || now < end;
}
