import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadConfigOrExit } from '../config-option.ts';
import { maskConfig } from '../../config/mask.ts';
import { renderConfigDocs } from '../../config/docs.ts';

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('Inspect the configuration file');
  config
    .command('check')
    .description('Validate the configuration; print each problem with its field path, exit non-zero when invalid')
    .option('--print', 'also print the effective configuration with defaults (every secret field masked)')
    .action((opts: { print?: boolean }, command: Command) => {
      const cfg = loadConfigOrExit(command);
      const cameras = Object.keys(cfg.cameras);
      process.stdout.write(`Config OK: ${cameras.length} camera(s)${cameras.length ? ` (${cameras.join(', ')})` : ''}\n`);
      if (opts.print) process.stdout.write(stringify(maskConfig(cfg)));
    });
  config
    .command('docs')
    .description('Print the configuration reference (Markdown) generated from the schema')
    .action(() => {
      process.stdout.write(renderConfigDocs());
    });
}
