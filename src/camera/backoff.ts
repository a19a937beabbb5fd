/** Exponential reconnect delays: 1 s, 2 s, 4 s … capped; reset once a stream has been healthy. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs = 1000,
    private readonly maxMs = 30_000,
  ) {}

  next(): number {
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    if (delay < this.maxMs) this.attempt += 1;
    return delay;
  }

  /** Failures that will not fix themselves soon (wrong password) wait the longest. */
  max(): number {
    this.attempt = Math.ceil(Math.log2(this.maxMs / this.initialMs));
    return this.maxMs;
  }

  reset(): void {
    this.attempt = 0;
  }
}
