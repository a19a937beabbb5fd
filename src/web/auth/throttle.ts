export interface ThrottleLimits {
  /** Failures allowed from one address within the window before it is locked out. */
  perIp: number;
  /** Failures allowed for one username within the window before it is locked out. */
  perUser: number;
  windowMs: number;
  lockoutMs: number;
}

export const DEFAULT_THROTTLE: ThrottleLimits = { perIp: 20, perUser: 5, windowMs: 15 * 60_000, lockoutMs: 15 * 60_000 };

interface Bucket {
  failures: number[];
  lockedUntil: number;
}

/**
 * Counts failed logins per address and per username and locks either out for a while once it
 * crosses its limit. In memory: a restart clears it, which a patient attacker gains little from
 * because each attempt still costs a full Argon2id check.
 */
export class LoginThrottle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: ThrottleLimits = DEFAULT_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until the key may try again, or 0. */
  lockedFor(ip: string, username?: string): number {
    const now = this.now();
    const keys = [`ip:${ip}`, ...(username ? [`user:${username.toLowerCase()}`] : [])];
    return Math.max(0, ...keys.map((k) => (this.buckets.get(k)?.lockedUntil ?? 0) - now));
  }

  /** Records a failure; returns which keys this failure locked out (for the audit log). */
  fail(ip: string, username?: string): { lockedIp: boolean; lockedUser: boolean } {
    const lockedIp = this.bump(`ip:${ip}`, this.limits.perIp);
    const lockedUser = username ? this.bump(`user:${username.toLowerCase()}`, this.limits.perUser) : false;
    return { lockedIp, lockedUser };
  }

  /** A success clears the username's failures (not the address's: one good account must not unlock guessing others). */
  succeed(username: string): void {
    this.buckets.delete(`user:${username.toLowerCase()}`);
  }

  private bump(key: string, limit: number): boolean {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { failures: [], lockedUntil: 0 };
    bucket.failures = bucket.failures.filter((t) => now - t < this.limits.windowMs);
    bucket.failures.push(now);
    this.buckets.set(key, bucket);
    if (bucket.failures.length >= limit && bucket.lockedUntil <= now) {
      bucket.lockedUntil = now + this.limits.lockoutMs;
      bucket.failures = [];
      return true;
    }
    if (this.buckets.size > 10_000) this.prune();
    return false;
  }

  private prune(): void {
    const now = this.now();
    for (const [key, b] of this.buckets) {
      if (b.lockedUntil <= now && b.failures.every((t) => now - t >= this.limits.windowMs)) this.buckets.delete(key);
    }
  }
}
