import type { EventBus, EventSnapshot, ObjectEvent } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { StorageIndex } from '../storage/storage-index.ts';
import type { VaultStore } from '../storage/vault-store.ts';

/** What an event's sealed metadata file holds; none of it is in the plaintext index. */
export interface EventMetadata {
  id: string;
  camera: string;
  label: string;
  score: number;
  start: number;
  end: number;
  zones: string[];
  box: ObjectEvent['box'];
  /** Face recognition's result (a resident id, unknown face, or not checked). */
  face?: ObjectEvent['face'];
  /** JPEG crop around the object, base64. */
  crop?: string;
}

/**
 * Puts events into storage: an index row (id, camera, time span) when they start and end, and
 * at the end the sealed full-frame snapshot plus the sealed metadata with the crop.
 */
export class EventRecorder {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly detach: () => void;

  constructor(
    private readonly opts: { bus: EventBus; index: StorageIndex; store: VaultStore; logger: Logger; cameras: Set<string> },
  ) {
    const onStart = (event: ObjectEvent) => {
      if (!opts.cameras.has(event.camera)) return;
      opts.index.upsertEvent({ id: event.id, camera: event.camera, startMs: event.start, endMs: null });
    };
    const onEnd = (event: ObjectEvent & { end: number }, snapshot: EventSnapshot | undefined) => {
      if (!opts.cameras.has(event.camera)) return;
      const done = this.finish(event, snapshot);
      this.pending.add(done);
      void done.finally(() => this.pending.delete(done));
    };
    opts.bus.on('event:start', onStart);
    opts.bus.on('event:end', onEnd);
    this.detach = () => {
      opts.bus.off('event:start', onStart);
      opts.bus.off('event:end', onEnd);
    };
  }

  async stop(): Promise<void> {
    this.detach();
    await Promise.all(this.pending);
  }

  private async finish(event: ObjectEvent & { end: number }, snapshot: EventSnapshot | undefined): Promise<void> {
    const { index, store, logger } = this.opts;
    try {
      index.upsertEvent({ id: event.id, camera: event.camera, startMs: event.start, endMs: event.end });
      const file = { camera: event.camera, startMs: event.start, endMs: event.end, eventId: event.id };
      const metadata: EventMetadata = {
        id: event.id,
        camera: event.camera,
        label: event.label,
        score: event.score,
        start: event.start,
        end: event.end,
        zones: event.zones,
        box: event.box,
        face: event.face,
        crop: snapshot?.crop.toString('base64'),
      };
      await store.storeBuffer(Buffer.from(JSON.stringify(metadata)), { ...file, kind: 'metadata' });
      if (snapshot) await store.storeBuffer(snapshot.frame, { ...file, kind: 'snapshot' });
    } catch (err) {
      logger.error({ camera: event.camera, id: event.id, err: (err as Error).message }, 'could not store event');
    }
  }
}
