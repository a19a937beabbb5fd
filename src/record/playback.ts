import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { remuxToFragmentedMp4 } from '../camera/ffmpeg.ts';
import { streamFfmpegOnce } from '../process/ffmpeg-supervisor.ts';
import type { FileRow, StorageIndex } from '../storage/storage-index.ts';
import { decryptFileToBuffer } from '../vault/files.ts';
import type { FileKeyOpener } from '../vault/format.ts';
import { drainedOrClosed } from './drained.ts';
import { SPAN_GAP_MS } from './timeline.ts';
import { enterSegment } from './ts-keyframes.ts';

export interface PlaybackRequest {
  storageDir: string;
  index: StorageIndex;
  vault: FileKeyOpener;
  camera: string;
  atMs: number;
  /** At the end of what is recorded, how long to wait for the recorder's next segment of the span. */
  followMs?: number;
}

/** One playback: fragmented MP4 of one recorded span, from the keyframe at or before the instant asked. */
export interface Playback {
  camera: string;
  /** Wall-clock ms of media time 0: the instant asked plays at (atMs − startMs) / 1000 s. */
  startMs: number;
  output: Readable;
  /** Stops feeding and kills ffmpeg (the client went away, or the vault locked). */
  close(): void;
  /** Settles once the playback has ended, whatever the reason. */
  ended: Promise<void>;
}

const FOLLOW_POLL_MS = 1000;
const PAGE = 16;

/**
 * Plays a camera's recording from `atMs` (or from the next recorded instant after a gap): the
 * segments are decrypted one at a time into ffmpeg's stdin (no plaintext file anywhere) and
 * remuxed without re-encoding. The stream follows the reader's pace and ends where the span ends
 * (a gap of more than SPAN_GAP_MS): the viewer opens a new playback at the next span. Resolves
 * undefined when nothing is recorded at or after `atMs`.
 */
export async function openPlayback(req: PlaybackRequest): Promise<Playback | undefined> {
  const [first] = req.index.segmentsFrom(req.camera, req.atMs, 1);
  if (!first) return undefined;
  const entry = enterSegment(await decryptFileToBuffer(join(req.storageDir, first.name), req.vault), first.startMs, req.atMs);
  const input = new PassThrough();
  const run = streamFfmpegOnce(remuxToFragmentedMp4(input));
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    run.kill();
    input.destroy();
    run.output.destroy();
  };
  const feeding = feed(req, first, entry.data, input, () => closed).then(
    () => input.end(),
    () => close(),
  );
  const ended = Promise.allSettled([feeding, run.done]).then(() => close());
  run.output.on('close', close);
  return { camera: req.camera, startMs: entry.startMs, output: run.output, close, ended };
}

/** Writes the first segment's bytes, then each following segment of the span, at ffmpeg's pace. */
async function feed(req: PlaybackRequest, first: FileRow, firstBytes: Buffer, input: PassThrough, closed: () => boolean): Promise<void> {
  if (!(await write(input, firstBytes, closed))) return;
  let last = first;
  let waitedMs = 0;
  while (!closed()) {
    const next = req.index.segmentsAfter(req.camera, last.startMs, PAGE);
    if (next.length === 0) {
      if (waitedMs >= (req.followMs ?? 0)) return;
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      waitedMs += FOLLOW_POLL_MS;
      continue;
    }
    waitedMs = 0;
    for (const segment of next) {
      if (segment.startMs - last.endMs > SPAN_GAP_MS) return;
      const plaintext = await decryptFileToBuffer(join(req.storageDir, segment.name), req.vault);
      if (!(await write(input, plaintext, closed))) return;
      last = segment;
    }
  }
}

/** false once the playback is closed. */
async function write(input: PassThrough, bytes: Buffer, closed: () => boolean): Promise<boolean> {
  if (closed()) return false;
  if (!input.write(bytes)) await drainedOrClosed(input);
  return !closed();
}
