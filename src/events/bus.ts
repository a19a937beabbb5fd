import { EventEmitter } from 'node:events';
import type { Box } from '../geometry/box.ts';

export type CameraState = 'connecting' | 'streaming' | 'backoff' | 'stopped';

export interface CameraStatus {
  camera: string;
  state: CameraState;
  lastError?: string;
  /** Measured over the last few seconds of frames. */
  fps: number;
  framesRead: number;
  framesDropped: number;
  since: number;
}

export interface ObjectEvent {
  id: string;
  camera: string;
  label: string;
  score: number;
  start: number;
  end?: number;
  zones: string[];
  box: Box;
  /** Face recognition on a person (src/faces): set once the event ends. */
  face?: FaceResult;
}

/**
 * What face recognition made of an event: an enrolled resident's id, or a face seen that matched
 * nobody, or faces not looked at because the vault (which holds the embeddings) was locked.
 * Absent: no face was seen, or recognition is off.
 */
export interface FaceResult {
  resident?: string;
  unknown?: boolean;
  unchecked?: 'vault locked';
}

/** An enrolled resident recognised after being away (see faces.arriveAfterMinutes). */
export interface ResidentArrival {
  resident: string;
  name: string;
  camera: string;
  eventId: string;
  at: number;
}

export interface EventSnapshot {
  /** JPEG of the whole detect frame at the best score. */
  frame: Buffer;
  /** JPEG crop around the object. */
  crop: Buffer;
}

export interface MotionNotice {
  camera: string;
  at: number;
  boxes: Box[];
}

export interface BusEvents {
  'event:start': [ObjectEvent];
  'event:update': [ObjectEvent];
  'event:end': [ObjectEvent & { end: number }, EventSnapshot | undefined];
  'resident:arrived': [ResidentArrival];
  motion: [MotionNotice];
  'camera:status': [CameraStatus];
}

/** The one in-process bus every consumer (record, notify, web) subscribes to. */
export class EventBus extends EventEmitter<BusEvents> {
  constructor() {
    super();
    // Every camera's recorder, the event recorder, notifier, backup and each viewer socket listen.
    this.setMaxListeners(0);
  }
}
