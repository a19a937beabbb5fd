import type { Command } from 'commander';
import { loadConfigOrExit } from '../config-option.ts';
import { maskUrl } from '../../log/logger.ts';

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('Start Volet with the configured cameras (a built-in demo camera when none is configured)')
    .action((_opts: unknown, command: Command) => {
      const cfg = loadConfigOrExit(command);
      const cameras = Object.entries(cfg.cameras);
      if (cameras.length === 0) process.stdout.write('No camera configured: would start the built-in demo camera.\n');
      for (const [name, cam] of cameras) {
        const source = maskUrl(cam.sub ?? cam.main);
        process.stdout.write(`camera ${name}: would decode ${source} at ${cam.detect.width}x${cam.detect.height} ${cam.detect.fps} fps\n`);
      }
    });
}
