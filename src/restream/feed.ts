import type { EventEmitter } from 'node:events';

/**
 * A connection's stream as fragmented MP4 (the recorder's main stream, the detector's sub stream):
 * 'restart' when a new ffmpeg run begins (a new init segment follows), then its bytes as 'data'.
 */
export type LiveFeed = EventEmitter<{ restart: []; data: [Buffer] }>;
