export type ShutterState = 'open' | 'closed';

/** What changed a shutter. `startup` is the state `privacy.restore: closed|open` imposes at start-up. */
export type ShutterReason = 'manual' | 'schedule' | 'presence' | 'auto-reopen' | 'intrusion' | 'startup';

/** Emitted by the controller for every change, after which the camera must (not) be watched. */
export interface ShutterChange {
  camera: string;
  state: ShutterState;
  reason: ShutterReason;
  /** Who or what: a username, a resident, a schedule's name, the alarm's source… */
  by: string;
  /** ms since epoch. */
  at: number;
}

export type ResidentState = 'home' | 'away';
export type PresenceSource = 'api' | 'lan' | 'mqtt' | 'face';

export interface ResidentPresence {
  state: ResidentState;
  source: PresenceSource;
  /** ms since epoch of the report that set this state. */
  at: number;
}

export interface IntrusionState {
  armed: boolean;
  /** An alarm was triggered while armed; cleared by disarming or `trigger: false`. */
  triggered: boolean;
  /** Who armed, disarmed or triggered it last. */
  by: string;
  at: number;
}
