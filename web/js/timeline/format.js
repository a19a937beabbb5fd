// Times and colours shared by the timeline's parts.

/** 14:05 or 14:05:09, in the viewer's time zone. */
export function clockTime(ms, seconds = true) {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: seconds ? '2-digit' : undefined, hour12: false });
}

/** 1 h 02 min, 4 min 30 s, 12 s. */
export function duration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** YYYY-MM-DD of a local day. */
export function dayOf(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** Local midnight to midnight (23 or 25 h across a daylight-saving change). */
export function dayBounds(day) {
  const from = new Date(`${day}T00:00:00`).getTime();
  const next = new Date(from);
  next.setDate(next.getDate() + 1);
  return { from, to: next.getTime() };
}

export function shiftDay(day, days) {
  const d = new Date(`${day}T12:00:00`);
  d.setDate(d.getDate() + days);
  return dayOf(d.getTime());
}

const COLOURS = { person: '#ff6b6b', car: '#4ea1ff', truck: '#4ea1ff', bicycle: '#b48cff', motorcycle: '#b48cff', dog: '#5ccf8a', cat: '#5ccf8a', bird: '#9be15d' };

/** One colour per label: fixed for the common ones, derived from the name for the rest. */
export function labelColour(label) {
  if (COLOURS[label]) return COLOURS[label];
  let hash = 0;
  for (const c of label) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 70% 62%)`;
}
