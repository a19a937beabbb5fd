import type { Command } from 'commander';
import { loadConfigOrExit } from '../config-option.ts';

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('Inspect the configuration file');
  config
    .command('check')
    .description('Validate the configuration; print each problem with its field path, exit non-zero when invalid')
    .option('--print', 'also print the effective configuration with defaults (every secret field masked)')
    .action(async (opts: { print?: boolean }, command: Command) => {
      const cfg = await loadConfigOrExit(command);
      const cameras = Object.keys(cfg.cameras);
      process.stdout.write(`Config OK: ${cameras.length} camera(s)${cameras.length ? ` (${cameras.join(', ')})` : ''}\n`);
      if (!opts.print) return;
      const { stringify } = await import('yaml');
      const { maskConfig } = await import('../../config/mask.ts');
      process.stdout.write(stringify(maskConfig(cfg)));
    });
  config
    .command('docs')
    .description('Print the configuration reference (Markdown) generated from the schema')
    .action(async () => {
      const { renderConfigDocs } = await import('../../config/docs.ts');
      process.stdout.write(renderConfigDocs());
    });
}
