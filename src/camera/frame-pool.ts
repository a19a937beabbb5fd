/**
 * A few reusable frame buffers per camera, so a camera does not allocate a fresh frame
 * (≈345 KB at 640×360) five times a second and wait for the GC to free it.
 *
 * Ownership is counted: `acquire` hands out a buffer with one hold, `hold` adds one and returns its
 * release, and a buffer is reused only once every hold is released. When all pooled buffers are
 * held, `acquire` allocates a fresh one that is never pooled, so a slow holder is never overwritten.
 */
export class FramePool {
  private readonly free: Buffer[] = [];
  /** Pooled buffers currently handed out → number of holds. */
  private readonly holds = new Map<Buffer, number>();
  private created = 0;
  private overflowCount = 0;

  constructor(
    readonly frameSize: number,
    readonly capacity = 3,
  ) {
    if (!Number.isInteger(frameSize) || frameSize <= 0) throw new RangeError(`frame size must be a positive integer, got ${frameSize}`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`pool capacity must be a positive integer, got ${capacity}`);
  }

  /** A buffer of `frameSize` bytes with one hold, owned by the caller until released. */
  acquire(): Buffer {
    let buffer = this.free.pop();
    if (!buffer && this.created < this.capacity) {
      buffer = Buffer.allocUnsafeSlow(this.frameSize);
      this.created += 1;
    }
    if (!buffer) {
      this.overflowCount += 1;
      return Buffer.allocUnsafeSlow(this.frameSize);
    }
    this.holds.set(buffer, 1);
    return buffer;
  }

  /** One more hold on a handed-out buffer; the returned function releases it (later calls do nothing). */
  hold(buffer: Buffer): () => void {
    const count = this.holds.get(buffer);
    if (count === undefined) {
      if (this.isPooled(buffer)) throw new Error('cannot hold a frame buffer that was already released');
      return () => {};
    }
    this.holds.set(buffer, count + 1);
    return this.onceReleasing(buffer);
  }

  /** Releases the hold `acquire` gave. Buffers the pool did not hand out (overflow) are left to the GC. */
  release(buffer: Buffer): void {
    const count = this.holds.get(buffer);
    if (count === undefined) {
      if (this.isPooled(buffer)) throw new Error('frame buffer released twice');
      return;
    }
    if (count > 1) {
      this.holds.set(buffer, count - 1);
      return;
    }
    this.holds.delete(buffer);
    this.free.push(buffer);
  }

  /** Buffers handed out that still have a hold. */
  get inUse(): number {
    return this.holds.size;
  }

  /** Frames that got a fresh, unpooled buffer because every pooled one was held. */
  get overflows(): number {
    return this.overflowCount;
  }

  private isPooled(buffer: Buffer): boolean {
    return this.free.includes(buffer);
  }

  private onceReleasing(buffer: Buffer): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(buffer);
    };
  }
}
