import type { EventBus, MotionNotice } from '../events/bus.ts';
import type { FileRow, StorageIndex } from '../storage/storage-index.ts';

/**
 * Seconds are remembered this long: a segment can be stored well after it was recorded (pre-roll
 * kept in RAM until an event decides), and its motion must still be known then.
 */
const REMEMBER_MS = 15 * 60_000;
/** Segments stored last, per camera, whose level motion noticed after their storage still raises. */
const RECENT_SEGMENTS = 8;

/**
 * Share of the seconds of [startMs, endMs) in which motion was seen, 0..1. `seconds` are whole
 * seconds since the epoch (Math.floor(ms / 1000)) with motion, in any order, without duplicates.
 */
export function motionLevel(seconds: Iterable<number>, startMs: number, endMs: number): number {
  const first = Math.floor(startMs / 1000);
  const last = Math.max(first + 1, Math.ceil(endMs / 1000));
  let moving = 0;
  for (const second of seconds) if (second >= first && second < last) moving++;
  return Math.min(1, moving / (last - first));
}

/**
 * The timeline's motion activity: remembers in which seconds each camera saw motion (the
 * pipeline's 'motion' notices) and, as each segment is stored, writes its level into the index.
 * Motion can reach it after the segment it falls in was stored (the detection stream lags the
 * recorder under load): the camera's last few stored segments are updated then.
 */
export class MotionActivity {
  private readonly seconds = new Map<string, number[]>();
  private readonly recent = new Map<string, FileRow[]>();
  private readonly onMotion = (m: MotionNotice) => this.noteMotion(m.camera, m.at);

  constructor(private readonly index: Pick<StorageIndex, 'setSegmentMotion'>) {}

  attach(bus: EventBus): void {
    bus.on('motion', this.onMotion);
  }

  detach(bus: EventBus): void {
    bus.off('motion', this.onMotion);
    this.seconds.clear();
    this.recent.clear();
  }

  noteMotion(camera: string, atMs: number): void {
    let list = this.seconds.get(camera);
    if (!list) this.seconds.set(camera, (list = []));
    const second = Math.floor(atMs / 1000);
    if (list.at(-1) === second) return;
    list.push(second);
    const oldest = Math.floor((atMs - REMEMBER_MS) / 1000);
    let drop = 0;
    while (drop < list.length && list[drop]! < oldest) drop++;
    if (drop > 0) list.splice(0, drop);
    for (const row of this.recent.get(camera) ?? []) if (atMs >= row.startMs && atMs < row.endMs) this.writeLevel(row);
  }

  /** A file was stored: a segment gets its motion level (none written when it had no motion). */
  onStored(row: FileRow): void {
    if (row.kind !== 'segment') return;
    let recent = this.recent.get(row.camera);
    if (!recent) this.recent.set(row.camera, (recent = []));
    recent.push(row);
    if (recent.length > RECENT_SEGMENTS) recent.shift();
    this.writeLevel(row);
  }

  private writeLevel(row: FileRow): void {
    const level = motionLevel(new Set(this.seconds.get(row.camera) ?? []), row.startMs, row.endMs);
    if (level > 0) this.index.setSegmentMotion(row, level);
  }
}
