import type { Logger } from '../log/logger.ts';

/** One part of the running system, created from its dependencies: started once, stopped once. */
export interface Module {
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

/**
 * What has started so far, to be stopped in reverse. A failure to stop one module is logged and
 * the others are still stopped: nothing may be left running because its neighbour failed.
 */
export class Lifecycle {
  private readonly started: Module[] = [];

  constructor(private readonly logger: Logger) {}

  /** Starts `module`; when it fails, it counts as not started (it cleans up after itself). */
  async start(module: Module): Promise<void> {
    await module.start();
    this.started.push(module);
  }

  /** Opens a resource (its creation is its start) and registers its close. */
  async open<T>(name: string, open: () => Promise<T>, close: (resource: T) => Promise<void> | void): Promise<T> {
    const resource = await open();
    this.started.push({ name, start() {}, stop: () => close(resource) });
    return resource;
  }

  /** Stops everything started, last first. Safe to call twice. */
  async stop(): Promise<void> {
    for (let module = this.started.pop(); module; module = this.started.pop()) {
      try {
        await module.stop();
      } catch (err) {
        this.logger.error({ module: module.name, err: (err as Error).message }, 'stopping a module failed; stopping the others');
      }
    }
  }
}

/**
 * Starts `modules` in order. When one fails, those already started are stopped in reverse and
 * the original error is rethrown.
 */
export async function startInOrder(modules: readonly Module[], logger: Logger): Promise<Lifecycle> {
  const lifecycle = new Lifecycle(logger);
  try {
    for (const module of modules) await lifecycle.start(module);
  } catch (err) {
    await lifecycle.stop();
    throw err;
  }
  return lifecycle;
}
