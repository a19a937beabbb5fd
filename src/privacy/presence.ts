import type { PresenceSource, ResidentPresence, ResidentState } from './types.ts';

/**
 * Who is home. Each resident's state is the latest report from any source (their phone or hub
 * through the API, or the LAN watch); the house is occupied while anyone is home. `by` names the
 * resident whose report last flipped that: the first one home, or the last one to leave.
 */
export class PresenceBoard {
  private readonly residents = new Map<string, ResidentPresence>();
  private lastFlipBy = '';

  constructor(
    readonly names: readonly string[],
    restored: Iterable<[string, ResidentPresence]> = [],
  ) {
    let latest = -Infinity;
    for (const [name, presence] of restored) {
      if (!names.includes(name)) continue;
      this.residents.set(name, presence);
      if (presence.at > latest) {
        latest = presence.at;
        this.lastFlipBy = name;
      }
    }
  }

  get configured(): boolean {
    return this.names.length > 0;
  }

  get anyoneHome(): boolean {
    for (const presence of this.residents.values()) if (presence.state === 'home') return true;
    return false;
  }

  /** Whether the house is occupied: unknown with no residents, or while none is home and one never reported. */
  get occupancy(): 'home' | 'away' | 'unknown' {
    if (this.anyoneHome) return 'home';
    return this.configured && this.names.every((n) => this.residents.has(n)) ? 'away' : 'unknown';
  }

  /** The resident whose report last made the house occupied or empty. */
  get by(): string {
    return this.lastFlipBy;
  }

  get(name: string): ResidentPresence | undefined {
    return this.residents.get(name);
  }

  /** Records a report; returns true when it changed the resident's state. Unknown names are refused. */
  report(name: string, state: ResidentState, source: PresenceSource, at: number): boolean {
    if (!this.names.includes(name)) throw new Error(`Unknown resident "${name}"`);
    const before = this.residents.get(name);
    if (before?.state === state) return false;
    const wasHome = this.anyoneHome;
    this.residents.set(name, { state, source, at });
    if (this.anyoneHome !== wasHome) this.lastFlipBy = name;
    return true;
  }

  list(): Array<{ name: string } & (ResidentPresence | { state: 'unknown'; source: null; at: null })> {
    return this.names.map((name) => ({ name, ...(this.residents.get(name) ?? { state: 'unknown' as const, source: null, at: null }) }));
  }
}

/**
 * LAN presence: a resident is home while one of their devices was seen within `awayAfterMs`, and
 * away once none was for that long (counted from start-up for devices never seen). Only changes
 * are reported, so an explicit API report stands until the LAN view next changes.
 */
export class LanWatch {
  private readonly lastSeen = new Map<string, number>();
  private readonly reported = new Map<string, ResidentState>();

  constructor(
    private readonly devices: Readonly<Record<string, readonly string[]>>,
    private readonly awayAfterMs: number,
    private readonly startedAt: number,
  ) {}

  get addresses(): string[] {
    return [...new Set(Object.values(this.devices).flat())];
  }

  seen(address: string, at: number): void {
    this.lastSeen.set(address, Math.max(at, this.lastSeen.get(address) ?? -Infinity));
  }

  /** Residents whose LAN state changed since the last call. */
  changes(now: number): Array<{ resident: string; state: ResidentState }> {
    const out: Array<{ resident: string; state: ResidentState }> = [];
    for (const [resident, addresses] of Object.entries(this.devices)) {
      if (addresses.length === 0) continue;
      const seen = addresses.some((a) => now - (this.lastSeen.get(a) ?? -Infinity) < this.awayAfterMs);
      const state: ResidentState | undefined = seen ? 'home' : now - this.startedAt >= this.awayAfterMs ? 'away' : undefined;
      if (state === undefined || this.reported.get(resident) === state) continue;
      this.reported.set(resident, state);
      out.push({ resident, state });
    }
    return out;
  }
}
