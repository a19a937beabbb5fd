import type { Command } from 'commander';
import { startVolet } from '../../app/start.ts';
import { createLogger } from '../../log/logger.ts';
import { loadConfigOrExit } from '../config-option.ts';

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('Start Volet with the configured cameras (a built-in demo camera when none is configured)')
    .action(async (_opts: unknown, command: Command) => {
      const config = loadConfigOrExit(command);
      const logger = createLogger(config.log.level);
      if (Object.keys(config.cameras).length === 0) {
        logger.warn('no camera configured: add one to volet.yml (see volet.example.yml)');
      }
      let volet;
      try {
        volet = await startVolet(config, logger);
      } catch (err) {
        logger.fatal({ err: (err as Error).message }, 'Volet could not start');
        process.exitCode = 1;
        return;
      }
      logger.info({ cameras: [...volet.pipelines.keys()] }, 'volet started');
      const shutdown = async (signal: string) => {
        logger.info({ signal }, 'stopping');
        await volet.stop();
        logger.info('stopped');
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
    });
}
