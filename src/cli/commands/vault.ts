import type { Command } from 'commander';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { loadConfigOrExit } from '../config-option.ts';
import { readPassphrase } from '../passphrase.ts';
import { runOrExit } from '../run-or-exit.ts';

export function registerVaultCommand(program: Command): void {
  const vault = program.command('vault').description('The encryption keys that protect every stored file');
  vault
    .command('init')
    .description('Create the vault key pair; the secret key is stored only encrypted under your passphrase')
    .option('--passphrase-file <file>', 'read the passphrase from the first line of this file')
    .action((opts: { passphraseFile?: string }, command: Command) =>
      runOrExit(async () => {
        const dir = await storageDir(command);
        const passphrase = await readPassphrase({ file: opts.passphraseFile, prompt: 'New vault passphrase: ', confirm: !opts.passphraseFile });
        const { Vault } = await import('../../vault/vault.ts');
        const created = await Vault.init(dir, passphrase);
        process.stdout.write(`Vault created in ${dir} (key ${created.keyId}). Keep the passphrase safe: without it no recording can be read.\n`);
      }),
    );
  vault
    .command('status')
    .description('Show whether the vault exists and its key parameters')
    .action((_opts: unknown, command: Command) =>
      runOrExit(async () => {
        const dir = await storageDir(command);
        const { keyFilePath } = await import('../../vault/keyfile.ts');
        if (!existsSync(keyFilePath(dir))) {
          process.stdout.write(`No vault in ${dir}: run "volet vault init".\n`);
          return;
        }
        const { Vault } = await import('../../vault/vault.ts');
        process.stdout.write(`${JSON.stringify((await Vault.open(dir)).status(), null, 2)}\n`);
      }),
    );
  vault
    .command('unlock')
    .description('Check the passphrase against the vault (the running Volet is unlocked from the web viewer)')
    .option('--passphrase-file <file>', 'read the passphrase from the first line of this file')
    .action((opts: { passphraseFile?: string }, command: Command) =>
      runOrExit(async () => {
        const { Vault } = await import('../../vault/vault.ts');
        const opened = await Vault.open(await storageDir(command));
        await opened.unlock(await readPassphrase({ file: opts.passphraseFile, prompt: 'Vault passphrase: ' }));
        opened.lock();
        process.stdout.write('Passphrase accepted: the vault key unlocks.\n');
      }),
    );
  vault
    .command('lock')
    .description('Locking happens in the running Volet (web viewer, or idle auto-lock); this command only explains that')
    .action(() => {
      process.stdout.write('The CLI keeps no key in memory between commands, so there is nothing to lock here. Lock the running Volet from the web viewer; it also locks itself when idle.\n');
    });
  vault
    .command('passwd')
    .description('Change the passphrase (re-wraps the secret key; recordings are not re-encrypted)')
    .option('--passphrase-file <file>', 'current passphrase, first line of this file')
    .option('--new-passphrase-file <file>', 'new passphrase, first line of this file')
    .action((opts: { passphraseFile?: string; newPassphraseFile?: string }, command: Command) =>
      runOrExit(async () => {
        const { Vault } = await import('../../vault/vault.ts');
        const opened = await Vault.open(await storageDir(command));
        const current = await readPassphrase({ file: opts.passphraseFile, prompt: 'Current passphrase: ' });
        const next = await readPassphrase({ file: opts.newPassphraseFile, prompt: 'New passphrase: ', confirm: !opts.newPassphraseFile });
        await opened.changePassphrase(current, next);
        process.stdout.write('Passphrase changed.\n');
      }),
    );
}

export async function storageDir(command: Command): Promise<string> {
  return resolve((await loadConfigOrExit(command)).storage.path);
}
