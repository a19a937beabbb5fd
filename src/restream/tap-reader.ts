import { Readable } from 'node:stream';
import type { Fragment } from './fmp4.ts';
import type { LiveTap } from './tap.ts';

/**
 * One ffmpeg run's stdin fed from a tap, so a process that needs the camera's stream (the MPEG-1
 * transcoder, the detector's decoder for a camera without a sub stream) opens no connection of its
 * own: the tap's init segment, then fragments from the next keyframe. A reader that falls behind
 * skips to the next keyframe rather than buffer without bound. A new init segment (the source
 * restarted) ends the stream, and the supervised ffmpeg with it: its next run starts on the new one.
 */
export class TapReader extends Readable {
  private started = false;
  private ended = false;
  private waitingForKeyframe = true;
  private readonly onInit = (init: Buffer) => {
    if (this.ended) return;
    if (this.started) {
      this.ended = true;
      this.push(null);
      return;
    }
    this.started = true;
    this.push(init);
  };
  private readonly onFragment = (fragment: Fragment) => {
    if (!this.started || this.ended) return;
    if (this.waitingForKeyframe && (!fragment.keyframe || this.readableLength >= this.readableHighWaterMark)) return;
    this.waitingForKeyframe = !this.push(fragment.data);
  };

  constructor(private readonly tap: LiveTap) {
    super({ highWaterMark: 4 * 1024 * 1024 });
    tap.on('init', this.onInit);
    tap.on('fragment', this.onFragment);
    if (tap.init) this.onInit(tap.init);
  }

  override _read(): void {}

  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    this.tap.off('init', this.onInit);
    this.tap.off('fragment', this.onFragment);
    callback(err);
  }
}
