import type { Logger } from '../log/logger.ts';
import { FaceEngineError, type FaceEngine } from './engine.ts';

/** Waits before each attempt to start a new worker; the last one repeats. */
export const RESTART_DELAYS_MS = [1000, 5000, 30_000, 60_000];

/**
 * A face engine that outlives its worker: when the worker stops under it (a crash, out of memory),
 * the request that found it gone is refused with 'worker-stopped', and a new worker is started
 * after a pause that grows while starts fail. Requests meanwhile are refused the same way, so
 * callers treat the engine as busy and the cameras go on.
 */
export async function supervisedFaceEngine(
  create: () => Promise<FaceEngine>,
  logger: Logger,
  delaysMs: readonly number[] = RESTART_DELAYS_MS,
): Promise<FaceEngine> {
  let current: FaceEngine | undefined = await create();
  let restarting: Promise<void> | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });

  async function replace(): Promise<void> {
    for (let attempt = 0; !closed; attempt++) {
      await pause(delaysMs[Math.min(attempt, delaysMs.length - 1)]);
      if (closed) return;
      try {
        const engine = await create();
        if (closed) {
          await engine.close();
          return;
        }
        current = engine;
        logger.info({ attempts: attempt + 1 }, 'faces: engine restarted');
        return;
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'faces: the engine could not be restarted; trying again');
      }
    }
  }

  function stoppedUnder(engine: FaceEngine, err: Error): void {
    if (closed || engine !== current) return;
    current = undefined;
    logger.warn({ err: err.message }, 'faces: engine stopped; starting a new one');
    void engine.close();
    restarting = replace().finally(() => (restarting = undefined));
  }

  return {
    async detect(image) {
      if (closed) throw new FaceEngineError('closed', 'Face engine is closed');
      const engine = current;
      if (!engine) throw new FaceEngineError('worker-stopped', 'Face engine is restarting');
      try {
        return await engine.detect(image);
      } catch (err) {
        const code = (err as FaceEngineError).code;
        if (code !== 'worker-stopped' && code !== 'closed') throw err;
        stoppedUnder(engine, err as Error);
        throw new FaceEngineError('worker-stopped', `Face engine stopped: ${(err as Error).message}`);
      }
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      wake?.();
      await restarting;
      await current?.close();
      current = undefined;
    },
  };
}
