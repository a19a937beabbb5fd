import type { Readable } from 'node:stream';
import type { ObjectEvent } from '../events/bus.ts';
import type { Box } from '../geometry/box.ts';
import type { ExportJob } from './export-queue.ts';
import type { Timeline } from './timeline.ts';

/**
 * What recordings offer for review (events, clips, the timeline, playback, exports), in the shapes
 * the web viewer serves; the web layer's access.ts re-exports them.
 */

export interface EventFilter {
  /** Only these cameras (the caller's permitted set intersected with the query). */
  cameras: string[];
  label?: string;
  /** Only events where face recognition saw this resident (id). */
  resident?: string;
  /** ms since epoch, inclusive. */
  from?: number;
  /** ms since epoch, exclusive. */
  to?: number;
  /** Newest first; at most this many. */
  limit: number;
  /** Paging: only events that started before this ms timestamp. */
  before?: number;
}

/** A stored event as the viewer lists it: the bus's event (its box only when known) and what is kept of it. */
export interface RecordedEvent extends Omit<ObjectEvent, 'box'> {
  box?: Box;
  kept: boolean;
  hasClip: boolean;
  hasSnapshot: boolean;
}

/** A clip either as a file on disk (plaintext, e.g. in tmpfs) or as a stream of known size. */
export type ClipSource =
  | { path: string; size: number }
  | { size: number; /** `end` is inclusive, as in HTTP Range. */ open(range?: { start: number; end: number }): Readable };

export interface StorageUsage {
  totalBytes: number;
  freeBytes: number;
  usedByVoletBytes: number;
  perCamera: Record<string, number>;
}

export interface RecordingsAccess {
  listEvents(filter: EventFilter): Promise<RecordedEvent[]>;
  /** Decrypted JPEG; throws VaultLockedError while locked. Resolves undefined when unknown. */
  eventSnapshot(id: string, kind: 'crop' | 'frame'): Promise<Buffer | undefined>;
  /** MP4 of the event; throws VaultLockedError while locked. Resolves undefined when unknown. */
  eventClip(id: string): Promise<ClipSource | undefined>;
  /** Resolves false when the event does not exist. */
  keepEvent(id: string, kept: boolean): Promise<boolean>;
  /** Camera of an event, for permission checks before anything is decrypted. */
  eventCamera(id: string): Promise<string | undefined>;
  /**
   * One event (for the clip page and notification links). Optional: without it the viewer looks
   * the id up among the camera's 500 newest events.
   */
  getEvent?(id: string): Promise<RecordedEvent | undefined>;
  storageUsage(): Promise<StorageUsage>;
  /** Recorded spans, motion and event markers of a camera over [fromMs, toMs], from the index only. */
  timeline?(camera: string, fromMs: number, toMs: number): Promise<Timeline>;
  /**
   * Fragmented MP4 of a camera from `atMs` to the end of its recorded span; undefined when nothing
   * is recorded at or after it. Throws VaultLockedError, or PlaybackBusyError when too many play.
   */
  playback?(camera: string, atMs: number): Promise<PlaybackSource | undefined>;
  /** Exports requested from the viewer, per owner (username). */
  exports?: ExportsAccess;
}

export interface PlaybackSource {
  /** Wall-clock ms of media time 0. */
  startMs: number;
  output: Readable;
  /** Stops the stream and its ffmpeg. */
  close(): void;
}

export interface ExportsAccess {
  /** Throws VaultLockedError, or ExportLimitError when the owner has too many. */
  request(owner: string, camera: string, from: number, to: number): ExportJob;
  list(owner: string): ExportJob[];
  get(owner: string, id: string): ExportJob | undefined;
  /** The MP4 of a ready export. */
  file(owner: string, id: string): Promise<{ path: string; size: number } | undefined>;
  /** Cancels or deletes; false when the owner has no such export. */
  remove(owner: string, id: string): Promise<boolean>;
}
