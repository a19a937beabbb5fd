import type { Command } from 'commander';
import { ConfigError, loadConfigFile } from '../config/load.ts';
import type { VoletConfig } from '../config/schema.ts';

/** Loads the config named by the global --config option; prints the problems and exits non-zero when invalid. */
export function loadConfigOrExit(command: Command): VoletConfig {
  const path = command.optsWithGlobals<{ config: string }>().config;
  try {
    return loadConfigFile(path, process.env, { mustExist: command.getOptionValueSourceWithGlobals('config') === 'cli' });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
}
