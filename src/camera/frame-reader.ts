/**
 * Cuts a byte stream of raw video into whole frames of exactly `frameSize` bytes.
 * A frame is emitted only when complete; a partial tail is kept until the next chunk.
 */
export class FrameReader {
  private pending: Buffer;
  private filled = 0;

  constructor(
    readonly frameSize: number,
    private readonly onFrame: (frame: Buffer) => void,
  ) {
    if (!Number.isInteger(frameSize) || frameSize <= 0) throw new RangeError(`frame size must be a positive integer, got ${frameSize}`);
    this.pending = Buffer.allocUnsafe(frameSize);
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.frameSize - this.filled, chunk.length - offset);
      chunk.copy(this.pending, this.filled, offset, offset + take);
      this.filled += take;
      offset += take;
      if (this.filled === this.frameSize) {
        const frame = this.pending;
        this.pending = Buffer.allocUnsafe(this.frameSize);
        this.filled = 0;
        this.onFrame(frame);
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
