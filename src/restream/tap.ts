import { EventEmitter } from 'node:events';
import type { Logger } from '../log/logger.ts';
import type { LiveFeed } from './feed.ts';
import { Fmp4Splitter, type Fragment } from './fmp4.ts';

/**
 * The live view's side of a recorder's connection: follows its fragmented MP4 from the first byte
 * of every ffmpeg run, keeps the current init segment for viewers who join later, and hands out
 * fragments. No process of its own: the recorder's connection is the camera's only main-stream one.
 */
export class LiveTap extends EventEmitter<{ init: [Buffer, string | undefined]; fragment: [Fragment] }> {
  init?: Buffer;
  codec?: string;
  private splitter?: Fmp4Splitter;
  private readonly onRestart = () => {
    this.init = undefined;
    this.codec = undefined;
    this.splitter = new Fmp4Splitter(
      (init, codec) => {
        this.init = init;
        this.codec = codec;
        this.emit('init', init, codec);
      },
      (fragment) => this.emit('fragment', fragment),
    );
  };
  private readonly onData = (chunk: Buffer) => {
    try {
      this.splitter?.push(chunk);
    } catch (err) {
      // Wait for the next run rather than send a broken stream; recording is not affected.
      this.splitter = undefined;
      this.logger.error({ camera: this.camera, err: (err as Error).message }, 'live view: malformed MP4 from the recorder; waiting for its next run');
    }
  };

  constructor(
    private readonly camera: string,
    private readonly feed: LiveFeed,
    private readonly logger: Logger,
  ) {
    super();
    feed.on('restart', this.onRestart);
    feed.on('data', this.onData);
  }

  close(): void {
    this.feed.off('restart', this.onRestart);
    this.feed.off('data', this.onData);
    this.removeAllListeners();
  }
}
