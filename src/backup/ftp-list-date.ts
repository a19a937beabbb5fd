const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * Parses the date column of a Unix-style LIST line ("Nov 22 12:00" for recent files, "Nov 22  2025"
 * for older ones) as UTC. Servers print local time without a zone, so this is good to a day —
 * enough for retention, which is why stat() asks MDTM instead.
 */
export function parseUnixListDate(raw: string, nowMs: number): number | undefined {
  const match = /^([A-Za-z]{3})\s+(\d{1,2})\s+(?:(\d{1,2}):(\d{2})|(\d{4}))$/.exec(raw.trim());
  if (!match) return undefined;
  const month = MONTHS.indexOf(match[1].toLowerCase());
  if (month < 0) return undefined;
  const day = Number(match[2]);
  if (match[5]) return Date.UTC(Number(match[5]), month, day);
  const hours = Number(match[3]);
  const minutes = Number(match[4]);
  const thisYear = new Date(nowMs).getUTCFullYear();
  const candidate = Date.UTC(thisYear, month, day, hours, minutes);
  // "Recent" means within the last six months, so a date ahead of now belongs to last year.
  return candidate > nowMs + 86_400_000 ? Date.UTC(thisYear - 1, month, day, hours, minutes) : candidate;
}
