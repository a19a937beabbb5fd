/**
 * Exponential reconnect delays: 1 s, 2 s, 4 s … capped, each ±`jitter` at random so that cameras
 * behind one failed switch do not all reconnect in the same instant; reset once a stream has been
 * healthy.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs = 1000,
    private readonly maxMs = 30_000,
    private readonly jitter = 0.2,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    if (delay < this.maxMs) this.attempt += 1;
    return this.jittered(delay);
  }

  /** Failures that will not fix themselves soon (wrong password) wait the longest. */
  max(): number {
    this.attempt = Math.ceil(Math.log2(this.maxMs / this.initialMs));
    return this.jittered(this.maxMs);
  }

  reset(): void {
    this.attempt = 0;
  }

  private jittered(delay: number): number {
    return Math.round(delay * (1 + this.jitter * (2 * this.random() - 1)));
  }
}
