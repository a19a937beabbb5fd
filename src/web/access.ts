/**
 * The narrow capabilities the web viewer needs from the rest of Volet. The lead wires them from
 * the vault, record and privacy modules; the viewer depends on nothing else of theirs.
 */
import type { CameraStatus } from '../events/bus.ts';
import type { HealthReport } from '../health/assess.ts';

export interface CameraInfo {
  name: string;
  status: CameraStatus;
  detect: { width: number; height: number };
}

export interface VaultState {
  initialised: boolean;
  unlocked: boolean;
}

/**
 * The encrypted store's lock. Errors are recognised by name: `WrongPassphraseError` on a wrong
 * passphrase, `VaultLockedError` from any recordings call made while locked.
 */
export interface VaultAccess {
  status(): VaultState;
  /** Throws (WrongPassphraseError) when the passphrase is wrong. */
  unlock(passphrase: string): Promise<void>;
  lock(): void;
  /** First setup only: creates the vault key under this passphrase. */
  init(passphrase: string): Promise<void>;
}

export type { ClipSource, EventFilter, ExportsAccess, PlaybackSource, RecordedEvent, RecordingsAccess, StorageUsage } from '../record/review.ts';

export type ShutterState = 'open' | 'closed';

export interface ShutterAccess {
  /** True when set() records 'shutter_changed' in the audit log itself; the viewer then does not (no duplicate rows). */
  readonly auditsChanges?: boolean;
  state(camera: string): ShutterState;
  /** `by` is the username, recorded by the privacy module. */
  set(camera: string, state: ShutterState, by: string): Promise<void>;
}

/**
 * Whether Volet records what it should. `/healthz` shows only `status`; `/api/health` shows each
 * user the cameras they may watch, and administrators the disk and index too.
 */
export interface HealthAccess {
  report(): Promise<HealthReport>;
}
