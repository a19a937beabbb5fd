/**
 * Where a recorded MPEG-TS segment can be entered: the offsets of its video keyframes (packets
 * that start a PES with the random-access flag, which ffmpeg's muxer sets on every keyframe) and
 * their presentation times. Pure: bytes in, offsets out. Lets playback and export start at the
 * keyframe before an instant instead of at the segment's start, without decoding anything.
 */

const PACKET = 188;
const SYNC = 0x47;
const PTS_WRAP = 2 ** 33;
/** MPEG-TS presentation times run at 90 kHz. */
export const PTS_PER_MS = 90;

export interface TsEntryPoint {
  /** Byte offset of the packet that starts the keyframe's PES. */
  offset: number;
  /** Its presentation time, 90 kHz. */
  pts: number;
}

export interface TsLayout {
  /** PAT, PMT and other tables before the first media packet: what a demuxer needs before any entry point. */
  headerEnd: number;
  /** Video keyframes, in stream order. */
  keyframes: TsEntryPoint[];
  /** Presentation time of the segment's first video PES (its time 0), or undefined without video. */
  firstVideoPts?: number;
  /** PIDs of the tables (PAT, SDT, PMTs): kept as they are when slicing. */
  tablePids: ReadonlySet<number>;
}

/** ptsA − ptsB in 90 kHz ticks, across the 33-bit wrap. */
export function ptsDiff(a: number, b: number): number {
  const d = (((a - b) % PTS_WRAP) + PTS_WRAP) % PTS_WRAP;
  return d >= PTS_WRAP / 2 ? d - PTS_WRAP : d;
}

/** Reads a segment's layout; bytes that are not 188-byte packets aligned from offset 0 give an empty layout. */
export function tsLayout(data: Uint8Array): TsLayout {
  const tablePids = new Set<number>([0x0000, 0x0011]);
  const keyframes: TsEntryPoint[] = [];
  let headerEnd = -1;
  let firstVideoPts: number | undefined;
  for (let at = 0; at + PACKET <= data.length; at += PACKET) {
    if (data[at] !== SYNC) break;
    const pid = ((data[at + 1]! & 0x1f) << 8) | data[at + 2]!;
    const unitStart = (data[at + 1]! & 0x40) !== 0;
    const control = (data[at + 3]! >> 4) & 0x3;
    let payload = at + 4;
    let randomAccess = false;
    if (control & 0x2) {
      const length = data[at + 4]!;
      randomAccess = length > 0 && (data[at + 5]! & 0x40) !== 0;
      payload += 1 + length;
    }
    if (!(control & 0x1) || payload >= at + PACKET) continue;
    if (tablePids.has(pid)) {
      if (pid === 0 && unitStart) for (const pmt of patProgramPids(data, payload, at + PACKET)) tablePids.add(pmt);
      continue;
    }
    if (headerEnd < 0) headerEnd = at;
    if (!unitStart) continue;
    const pes = pesVideoPts(data, payload, at + PACKET);
    if (pes === undefined) continue;
    firstVideoPts ??= pes;
    if (randomAccess) keyframes.push({ offset: at, pts: pes });
  }
  return { headerEnd: Math.max(0, headerEnd), keyframes, firstVideoPts, tablePids };
}

/** The last keyframe at or before `pts` (the first one when all are later). */
export function keyframeAtOrBefore(layout: TsLayout, pts: number): TsEntryPoint | undefined {
  let found = layout.keyframes[0];
  for (const keyframe of layout.keyframes) {
    if (ptsDiff(keyframe.pts, pts) > 0) break;
    found = keyframe;
  }
  return found;
}

/**
 * The segment entered at `entry`: its tables, then every packet from the keyframe on, except the
 * other streams' (audio) packets whose PES starts before the keyframe's time. The output then
 * begins with the keyframe in time as well as in bytes, so its time 0 is the keyframe.
 */
export function sliceAt(data: Uint8Array, layout: TsLayout, entry: TsEntryPoint): Buffer {
  const out: Uint8Array[] = [data.subarray(0, layout.headerEnd)];
  const started = new Set<number>();
  let videoPid: number | undefined;
  for (let at = entry.offset; at + PACKET <= data.length; at += PACKET) {
    const pid = ((data[at + 1]! & 0x1f) << 8) | data[at + 2]!;
    videoPid ??= pid;
    if (pid === videoPid || layout.tablePids.has(pid) || started.has(pid)) {
      out.push(data.subarray(at, at + PACKET));
      continue;
    }
    if ((data[at + 1]! & 0x40) === 0) continue;
    const pts = pesPts(data, payloadStart(data, at), at + PACKET);
    if (pts !== undefined && ptsDiff(pts, entry.pts) < 0) continue;
    started.add(pid);
    out.push(data.subarray(at, at + PACKET));
  }
  return Buffer.concat(out);
}

function payloadStart(data: Uint8Array, at: number): number {
  return (data[at + 3]! >> 4) & 0x2 ? at + 5 + data[at + 4]! : at + 4;
}

/** PMT PIDs named by a PAT section starting at `at` (after the pointer field). */
function patProgramPids(data: Uint8Array, at: number, end: number): number[] {
  const section = at + 1 + data[at]!;
  if (section + 8 > end || data[section] !== 0x00) return [];
  const length = ((data[section + 1]! & 0x0f) << 8) | data[section + 2]!;
  const last = Math.min(end, section + 3 + length - 4);
  const pids: number[] = [];
  for (let p = section + 8; p + 4 <= last; p += 4) {
    const program = (data[p]! << 8) | data[p + 1]!;
    if (program !== 0) pids.push(((data[p + 2]! & 0x1f) << 8) | data[p + 3]!);
  }
  return pids;
}

/** PTS of a video PES header (stream id 0xE0–0xEF) at `at`, else undefined. */
function pesVideoPts(data: Uint8Array, at: number, end: number): number | undefined {
  return at + 4 <= end && (data[at + 3]! & 0xf0) === 0xe0 ? pesPts(data, at, end) : undefined;
}

/** PTS of a PES header at `at`, else undefined. */
function pesPts(data: Uint8Array, at: number, end: number): number | undefined {
  if (at + 14 > end || data[at] !== 0 || data[at + 1] !== 0 || data[at + 2] !== 1) return undefined;
  if ((data[at + 7]! & 0x80) === 0) return undefined;
  const p = at + 9;
  return (
    ((data[p]! >> 1) & 0x07) * 2 ** 30 +
    ((data[p + 1]! << 7) | (data[p + 2]! >> 1)) * 2 ** 15 +
    ((data[p + 3]! << 7) | (data[p + 4]! >> 1))
  );
}

/**
 * A recorded segment (which starts at wall-clock `segmentStartMs` with its first video frame)
 * entered at the keyframe at or before wall-clock `atMs`: the bytes to play and the wall-clock
 * time they start at. A segment that cannot be read as MPEG-TS is played whole.
 */
export function enterSegment(plaintext: Buffer, segmentStartMs: number, atMs: number): { data: Buffer; startMs: number } {
  const layout = tsLayout(plaintext);
  if (layout.firstVideoPts === undefined || atMs <= segmentStartMs) return { data: plaintext, startMs: segmentStartMs };
  const entry = keyframeAtOrBefore(layout, layout.firstVideoPts + (atMs - segmentStartMs) * PTS_PER_MS);
  if (!entry || entry.offset <= layout.headerEnd) return { data: plaintext, startMs: segmentStartMs };
  return { data: sliceAt(plaintext, layout, entry), startMs: segmentStartMs + Math.round(ptsDiff(entry.pts, layout.firstVideoPts) / PTS_PER_MS) };
}
