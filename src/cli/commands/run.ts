import type { Command } from 'commander';
import type { RunningVolet } from '../../app/start.ts';
import { loadConfigOrExit } from '../config-option.ts';

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('Start Volet with the configured cameras (a built-in demo camera when none is configured)')
    .action(async (_opts: unknown, command: Command) => {
      let config = await loadConfigOrExit(command);
      // Imported here, not at the top: `volet --help` and the other commands do not load the whole app.
      const { configSecretValues } = await import('../../config/mask.ts');
      const { createLogger } = await import('../../log/logger.ts');
      const { installCrashPolicy } = await import('../../app/crash-policy.ts');
      const { initDemoVault, withDemoCamera } = await import('../../app/demo.ts');
      const { startVolet } = await import('../../app/start.ts');
      const logger = createLogger(config.log.level, process.stdout, { secrets: configSecretValues(config) });
      let volet: RunningVolet;
      try {
        if (Object.keys(config.cameras).length === 0) {
          logger.warn('no camera configured: running the built-in demo camera (add cameras to volet.yml, see volet.example.yml)');
          config = await withDemoCamera(config);
          const passphrase = await initDemoVault(config.storage.path);
          if (passphrase) {
            process.stdout.write(
              `\n  Demo vault created. Its passphrase, shown only this once:\n\n      ${passphrase}\n\n` +
                '  You need it to watch recordings in the viewer. A real setup chooses its own passphrase.\n\n',
            );
          }
        }
        volet = await startVolet(config, logger);
      } catch (err) {
        logger.fatal({ err: (err as Error).message }, 'Volet could not start');
        process.exitCode = 1;
        return;
      }
      installCrashPolicy({ logger, stop: () => volet.stop() });
      logger.info({ cameras: [...volet.pipelines.keys()], viewer: volet.web?.url }, 'volet started');
      if (volet.web) process.stdout.write(`\n  Viewer: ${volet.web.url}\n\n`);
      let stopping = false;
      const shutdown = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping');
        await volet.stop();
        logger.info('stopped');
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
    });
}
