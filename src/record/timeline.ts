import type { StorageIndex } from '../storage/storage-index.ts';

/** Recorded time closer than this to the previous segment's end continues the same span. */
export const SPAN_GAP_MS = 2000;
/** At most about this many motion entries per timeline, whatever the window. */
const MOTION_BUCKETS = 2000;
/** Segment times are read this much at a time (~2,000 rows of 10 s segments), yielding in between. */
const QUERY_CHUNK_MS = 6 * 3_600_000;
/** At most this many event markers per timeline (the newest window of a busy week stays readable). */
const MAX_MARKERS = 2000;

export interface TimeSpan {
  start: number;
  end: number;
}

export interface MotionSpan extends TimeSpan {
  /** Share of the time with motion, 0..1. */
  level: number;
}

export interface EventMarker {
  id: string;
  /** null while the vault is locked (labels are sealed). */
  label: string | null;
  score: number | null;
  start: number;
  end?: number;
}

export interface Timeline {
  camera: string;
  from: number;
  to: number;
  spans: TimeSpan[];
  motion: MotionSpan[];
  events: EventMarker[];
}

/**
 * Recorded spans from segment times sorted by start: a segment starting more than `gapMs` after
 * the span's end starts a new span. Spans are clipped to [from, to] when a window is given.
 */
export function mergeSpans(segments: Iterable<readonly [number, number]>, gapMs = SPAN_GAP_MS, window?: TimeSpan): TimeSpan[] {
  const spans: TimeSpan[] = [];
  let current: TimeSpan | undefined;
  for (const [start, end] of segments) {
    if (current && start - current.end <= gapMs) {
      current.end = Math.max(current.end, end);
      continue;
    }
    current = { start, end };
    spans.push(current);
  }
  if (!window) return spans;
  return spans
    .map((s) => ({ start: Math.max(s.start, window.start), end: Math.min(s.end, window.end) }))
    .filter((s) => s.end > s.start);
}

/** The motion bucket for a window: per segment for an hour or so, coarser for days. */
export const motionBucketMs = (fromMs: number, toMs: number): number => Math.max(1000, Math.ceil((toMs - fromMs) / MOTION_BUCKETS));

/**
 * A camera's timeline over [fromMs, toMs] from indexed queries only. `describe` gives an event's
 * label and score (sealed metadata), or undefined when they cannot be read (vault locked).
 */
export async function buildTimeline(
  index: StorageIndex,
  camera: string,
  fromMs: number,
  toMs: number,
  describe: (id: string) => Promise<{ label: string; score: number } | undefined>,
): Promise<Timeline> {
  const times: Array<[number, number]> = [];
  for (let at = fromMs; at < toMs; at += QUERY_CHUNK_MS) {
    if (at > fromMs) await new Promise((resolve) => setImmediate(resolve)); // a week is read in steps, not in one block
    times.push(...index.segmentTimes(camera, at, Math.min(toMs, at + QUERY_CHUNK_MS)));
  }
  const spans = mergeSpans(times, SPAN_GAP_MS, { start: fromMs, end: toMs });
  const motion = index.motionBetween(camera, fromMs, toMs, motionBucketMs(fromMs, toMs));
  const rows = index
    .eventsNear(camera, fromMs, toMs, index.longestEventMs())
    .filter((e) => e.startMs <= toMs && (e.endMs ?? Number.MAX_SAFE_INTEGER) >= fromMs)
    .sort((a, b) => a.startMs - b.startMs)
    .slice(-MAX_MARKERS);
  const events: EventMarker[] = [];
  for (const row of rows) {
    const info = await describe(row.id);
    events.push({ id: row.id, label: info?.label ?? null, score: info?.score ?? null, start: row.startMs, ...(row.endMs === null ? {} : { end: row.endMs }) });
  }
  return { camera, from: fromMs, to: toMs, spans, motion, events };
}
