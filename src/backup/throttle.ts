import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleepFor } from 'node:timers/promises';

/** Something that makes a caller wait before it may send `bytes` more bytes. */
export interface Throttle {
  take(bytes: number, signal?: AbortSignal): Promise<void>;
}

export interface TokenBucketClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const realClock: TokenBucketClock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleepFor(ms, undefined, { signal }),
};

/**
 * A token bucket of `bytesPerSecond`, holding at most `burstBytes` (default one second's worth).
 * Takers go into debt and wait it off, so concurrent uploads share the rate fairly without a lock.
 */
export class TokenBucket implements Throttle {
  private tokens: number;
  private last: number;
  private readonly burst: number;

  constructor(
    readonly bytesPerSecond: number,
    burstBytes?: number,
    private readonly clock: TokenBucketClock = realClock,
  ) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`bytesPerSecond must be positive, got ${bytesPerSecond}`);
    this.burst = burstBytes ?? bytesPerSecond;
    this.tokens = this.burst;
    this.last = clock.now();
  }

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.bytesPerSecond) / 1000);
    this.last = now;
    this.tokens -= bytes;
    if (this.tokens < 0) await this.clock.sleep((-this.tokens * 1000) / this.bytesPerSecond, signal);
  }
}

/** A pass-through stream that lets bytes through no faster than the throttle allows. */
export function throttledStream(throttle: Throttle, signal?: AbortSignal): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      throttle.take(chunk.length, signal).then(
        () => callback(null, chunk),
        (error: unknown) => callback(error as Error),
      );
    },
  });
}
