import type { Logger } from '../log/logger.ts';
import { maskUrlsIn } from '../log/logger.ts';

/** EX_SOFTWARE: an internal error. systemd (Restart=on-failure) and Docker (restart: unless-stopped) start Volet again. */
export const CRASH_EXIT_CODE = 70;

export interface CrashPolicyOptions {
  logger: Logger;
  /** Stops cameras, recorders and every child process. */
  stop: () => Promise<void>;
  /** How long stopping may take before Volet exits anyway. */
  graceMs?: number;
  exit?: (code: number) => void;
}

/**
 * Crash-only: an exception or rejection nothing handled means Volet's state can no longer be
 * trusted, so it logs one fatal line (error name, message and stack with credentials masked),
 * stops its children (at most `graceMs`), and exits with CRASH_EXIT_CODE for the supervisor to
 * restart it. A second failure while stopping changes nothing. Returns a function that uninstalls it.
 */
export function installCrashPolicy(opts: CrashPolicyOptions): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let crashing = false;
  const onCrash = (err: unknown, origin: string) => {
    if (crashing) return;
    crashing = true;
    opts.logger.fatal({ origin, error: describe(err) }, 'unexpected error: Volet stops and exits for its supervisor to restart it');
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, opts.graceMs ?? 5000).unref());
    const stopped = Promise.resolve()
      .then(opts.stop)
      .catch((stopErr: unknown) => opts.logger.error({ error: describe(stopErr) }, 'stopping after the unexpected error failed'));
    void Promise.race([stopped, deadline]).then(() => exit(CRASH_EXIT_CODE));
  };
  process.on('uncaughtException', onCrash);
  return () => process.off('uncaughtException', onCrash);
}

function describe(err: unknown): { name: string; message: string; stack?: string } {
  if (!(err instanceof Error)) return { name: typeof err, message: maskUrlsIn(String(err)).slice(0, 500) };
  return {
    name: err.name,
    message: maskUrlsIn(err.message).slice(0, 500),
    stack: err.stack ? maskUrlsIn(err.stack.split('\n').slice(1, 11).join('\n')) : undefined,
  };
}
