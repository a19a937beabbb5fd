import type { Command } from 'commander';
import type { VoletConfig } from '../config/schema.ts';

/**
 * Loads the config named by the global --config option; prints the problems and exits non-zero when invalid.
 * The schema is imported here, not at the top: `volet --help` does not load it.
 */
export async function loadConfigOrExit(command: Command): Promise<VoletConfig> {
  const { ConfigError, loadConfigFile } = await import('../config/load.ts');
  const path = command.optsWithGlobals<{ config: string }>().config;
  try {
    return loadConfigFile(path, process.env, { mustExist: command.getOptionValueSourceWithGlobals('config') === 'cli' });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
}
