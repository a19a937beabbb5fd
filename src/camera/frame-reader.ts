import type { FramePool } from './frame-pool.ts';

/**
 * Cuts a byte stream of raw video into whole frames of exactly `frameSize` bytes.
 * A frame is emitted only when complete; a partial tail is kept until the next chunk.
 * With a pool, frames are assembled in pooled buffers and `onFrame` receives the hold `acquire`
 * gave: it must release the frame to the pool when done with it.
 */
export class FrameReader {
  private pending?: Buffer;
  private filled = 0;

  constructor(
    readonly frameSize: number,
    private readonly onFrame: (frame: Buffer) => void,
    private readonly pool?: FramePool,
  ) {
    if (!Number.isInteger(frameSize) || frameSize <= 0) throw new RangeError(`frame size must be a positive integer, got ${frameSize}`);
    if (pool && pool.frameSize !== frameSize) throw new RangeError(`pool buffers are ${pool.frameSize} bytes, frames ${frameSize}`);
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      // Taken only when bytes arrive, so the frame just emitted can already be back in the pool.
      const pending = (this.pending ??= this.pool ? this.pool.acquire() : Buffer.allocUnsafe(this.frameSize));
      const take = Math.min(this.frameSize - this.filled, chunk.length - offset);
      chunk.copy(pending, this.filled, offset, offset + take);
      this.filled += take;
      offset += take;
      if (this.filled === this.frameSize) {
        this.pending = undefined;
        this.filled = 0;
        this.onFrame(pending);
      }
    }
  }

  /** Drops a partial frame, e.g. when the stream restarts. */
  reset(): void {
    this.filled = 0;
  }

  get partialBytes(): number {
    return this.filled;
  }
}

export function yuv420pFrameSize(width: number, height: number): number {
  return width * height + 2 * (Math.ceil(width / 2) * Math.ceil(height / 2));
}
