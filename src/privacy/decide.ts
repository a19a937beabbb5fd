import type { ShutterReason, ShutterState } from './types.ts';

/**
 * Who decides a camera's shutter, highest precedence first:
 *
 * 1. intrusion — an armed alarm that was triggered holds its cameras open, even while residents are
 *    home (unless `privacy.intrusion.overridePresence` is false: then only while nobody is home).
 * 2. manual — web viewer, API or `volet shutter open|close` (and the start-up state that
 *    `privacy.restore: closed|open` imposes). It holds until the camera's presence or schedule
 *    input next changes, or until auto-reopen ends a close on a camera that has no presence source.
 * 3. presence — while any resident is home, the cameras presence applies to are closed. Nobody home
 *    is no opinion: the schedule (or the default) decides.
 * 4. schedule — the state of an active window (closed wins when windows disagree).
 * 5. default — open.
 */
export type Layer = 'intrusion' | 'manual' | 'presence' | 'schedule' | 'default';

export interface Opinion {
  state: ShutterState;
  by: string;
}

export interface CameraInputs {
  intrusion?: Opinion;
  manual?: Opinion & { reason: 'manual' | 'startup' };
  presence?: Opinion;
  schedule?: Opinion;
}

export interface Decision {
  state: ShutterState;
  layer: Layer;
}

export function decide(inputs: CameraInputs): Decision {
  if (inputs.intrusion) return { state: inputs.intrusion.state, layer: 'intrusion' };
  if (inputs.manual) return { state: inputs.manual.state, layer: 'manual' };
  if (inputs.presence) return { state: inputs.presence.state, layer: 'presence' };
  if (inputs.schedule) return { state: inputs.schedule.state, layer: 'schedule' };
  return { state: 'open', layer: 'default' };
}

/** What presence and schedule said about a camera when a manual state was set. */
export interface OverrideContext {
  presence: ShutterState | 'none';
  schedule: ShutterState | 'none';
}

export function contextOf(inputs: Pick<CameraInputs, 'presence' | 'schedule'>): OverrideContext {
  return { presence: inputs.presence?.state ?? 'none', schedule: inputs.schedule?.state ?? 'none' };
}

export interface ManualOverride {
  state: ShutterState;
  reason: 'manual' | 'startup';
  by: string;
  /** ms since epoch when it was applied. */
  at: number;
  context: OverrideContext;
}

export type OverrideFate = 'holds' | 'superseded' | 'expired';

/**
 * Whether a manual state still applies at `now`: a change of the presence or schedule input since
 * it was set supersedes it; a close on a camera with auto-reopen (`autoReopenMs`, only given when
 * the camera has no presence source) expires after that long.
 */
export function overrideFate(override: ManualOverride, current: OverrideContext, now: number, autoReopenMs?: number): OverrideFate {
  if (override.context.presence !== current.presence || override.context.schedule !== current.schedule) return 'superseded';
  if (override.state === 'closed' && autoReopenMs !== undefined && autoReopenMs > 0 && now - override.at >= autoReopenMs) {
    return 'expired';
  }
  return 'holds';
}

/** The reason recorded when `layer` is what now decides a camera. */
export function reasonOf(layer: Exclude<Layer, 'default'>, manualReason: 'manual' | 'startup' = 'manual'): ShutterReason {
  return layer === 'manual' ? manualReason : layer;
}
