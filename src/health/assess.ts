import type { CameraState } from '../events/bus.ts';
import type { RecorderActivity } from '../record/recorder.ts';
import type { RecordMode } from '../record/segment-policy.ts';

export type HealthStatus = 'up' | 'degraded';

export interface CameraObservation {
  name: string;
  shutter: 'open' | 'closed';
  recordMode: RecordMode;
  /** The detection stream: its state, and since when it has been trying to stream without frames. */
  streaming: { state: CameraState; downSince?: number };
  /** Undefined when no recorder exists for the camera (nothing records before the vault is initialised). */
  recording?: RecorderActivity;
}

export type DiskObservation = { freeBytes: number; totalBytes: number; floorBytes: number } | { error: string };
export type IndexObservation = { writable: true } | { writable: false; error: string };

export interface HealthInput {
  now: number;
  segmentSeconds: number;
  cameras: readonly CameraObservation[];
  disk: DiskObservation;
  index: IndexObservation;
  vault: { initialised: boolean; unlocked: boolean };
  /** Worst event-loop lag seen recently: shown to administrators, never a problem by itself. */
  eventLoop: EventLoopObservation;
}

export interface EventLoopObservation {
  worstLagMs: number;
  windowSeconds: number;
}

export type ProblemCode = 'not_recording' | 'not_streaming' | 'disk_below_floor' | 'disk_unreadable' | 'index_not_writable';

export interface HealthProblem {
  code: ProblemCode;
  /** Set for problems of one camera; box-level problems have none. */
  camera?: string;
  message: string;
}

export interface CameraHealth {
  name: string;
  shutter: 'open' | 'closed';
  recordMode: RecordMode;
  streaming: CameraState;
  /** Whether recording is expected now (shutter open, mode not off) and keeping up. */
  recording: 'ok' | 'failing' | 'not_expected';
  /** Seconds since ffmpeg last finished a segment; null before the first one. */
  recordingAgeSeconds: number | null;
  /** Seconds since a segment was last sealed into the vault; null before the first one. */
  sealedAgeSeconds: number | null;
}

export interface HealthReport {
  status: HealthStatus;
  checkedAt: number;
  problems: HealthProblem[];
  cameras: CameraHealth[];
  disk: { freeBytes: number; totalBytes: number; floorBytes: number; belowFloor: boolean } | { error: string };
  index: IndexObservation;
  vault: { initialised: boolean; unlocked: boolean };
  eventLoop: EventLoopObservation;
  /** The MQTT connection, when configured: its state is shown, never a problem of the box (recording goes on). */
  mqtt?: MqttObservation;
}

export interface MqttObservation {
  state: 'connecting' | 'connected' | 'reconnecting' | 'unauthorized' | 'stopped';
  broker: string;
  lastError?: string;
  since: number;
}

const ageSeconds = (now: number, at: number) => (at > 0 ? Math.round((now - at) / 100) / 10 : null);

/**
 * Up or degraded, and why. Pure: observations in, report out. A camera whose shutter is open is
 * degraded when it has recorded nothing for 2 × the segment length (the longer of the configured
 * length and its last real segment, since a segment ends only at a keyframe), or its detection
 * stream has been down that long; the box is degraded when the disk is below the retention floor
 * or the index cannot be written.
 */
export function assessHealth(input: HealthInput): HealthReport {
  const { now } = input;
  const problems: HealthProblem[] = [];
  const cameras = input.cameras.map((camera): CameraHealth => {
    const recording = camera.recording;
    const limitMs = 2 * Math.max(input.segmentSeconds * 1000, recording?.lastSegmentMs ?? 0);
    const expected = camera.shutter === 'open' && camera.recordMode !== 'off';
    let recordingState: CameraHealth['recording'] = 'not_expected';
    if (expected) {
      const since = recording ? Math.max(recording.startedAt, recording.lastSegmentAt) : 0;
      const silentMs = now - since;
      if (!recording || recording.startedAt === 0) {
        recordingState = 'failing';
        problems.push({
          code: 'not_recording',
          camera: camera.name,
          message: input.vault.initialised
            ? `${camera.name}: the shutter is open but the recorder is not running`
            : `${camera.name}: nothing is recorded until the vault is initialised (finish the setup)`,
        });
      } else if (silentMs > limitMs) {
        recordingState = 'failing';
        problems.push({
          code: 'not_recording',
          camera: camera.name,
          message: `${camera.name}: no segment recorded for ${Math.round(silentMs / 1000)} s (limit ${limitMs / 1000} s)`,
        });
      } else {
        recordingState = 'ok';
      }
    }
    const { state, downSince } = camera.streaming;
    if (camera.shutter === 'open' && state !== 'streaming' && downSince !== undefined && now - downSince > 2 * input.segmentSeconds * 1000) {
      problems.push({
        code: 'not_streaming',
        camera: camera.name,
        message: `${camera.name}: the detection stream has been down (${state}) for ${Math.round((now - downSince) / 1000)} s`,
      });
    }
    return {
      name: camera.name,
      shutter: camera.shutter,
      recordMode: camera.recordMode,
      streaming: state,
      recording: recordingState,
      recordingAgeSeconds: ageSeconds(now, recording?.lastSegmentAt ?? 0),
      sealedAgeSeconds: ageSeconds(now, recording?.lastSealedAt ?? 0),
    };
  });

  let disk: HealthReport['disk'];
  if ('error' in input.disk) {
    disk = { error: input.disk.error };
    problems.push({ code: 'disk_unreadable', message: `the storage directory cannot be checked: ${input.disk.error}` });
  } else {
    const belowFloor = input.disk.freeBytes < input.disk.floorBytes;
    disk = { ...input.disk, belowFloor };
    if (belowFloor) {
      problems.push({
        code: 'disk_below_floor',
        message: `${gb(input.disk.freeBytes)} GB free, below the retention floor of ${gb(input.disk.floorBytes)} GB (storage.retention)`,
      });
    }
  }
  if (!input.index.writable) problems.push({ code: 'index_not_writable', message: `the index cannot be written: ${input.index.error}` });

  return {
    status: problems.length === 0 ? 'up' : 'degraded',
    checkedAt: now,
    problems,
    cameras,
    disk,
    index: input.index,
    vault: input.vault,
    eventLoop: input.eventLoop,
  };
}

const gb = (bytes: number) => Math.round(bytes / 1e8) / 10;
