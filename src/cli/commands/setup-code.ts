import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfigOrExit } from '../config-option.ts';
import { runOrExit } from '../run-or-exit.ts';

export function registerSetupCodeCommand(program: Command): void {
  program
    .command('setup-code')
    .description('Show the one-time code the setup page asks for (it exists from the first start until the administrator is created)')
    .action((_opts: unknown, command: Command) =>
      runOrExit(async () => {
        const dir = resolve((await loadConfigOrExit(command)).storage.path);
        const { readSetupCode } = await import('../../web/auth/setup-code.ts');
        const code = readSetupCode(dir);
        if (!code) throw new Error(`no setup code in ${dir}: the administrator exists already, or Volet has not been started yet`);
        process.stdout.write(`${code}\n`);
      }),
    );
}
