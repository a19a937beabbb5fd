import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { BackupService } from '../../app/backup.ts';
import { loadConfigOrExit } from '../config-option.ts';
import { readPassphrase } from '../passphrase.ts';
import { progressBar } from '../progress.ts';
import { runOrExit } from '../run-or-exit.ts';
import type { VoletConfig } from '../../config/schema.ts';

export function registerBackupCommands(program: Command): void {
  const backup = program.command('backup').description("Copies of the vault files on the user's own servers (ciphertext only)");
  backup
    .command('status')
    .description('Per target: health, last success, last error, backlog')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }, command: Command) =>
      runOrExit(async () => {
        const service = await backupService(await loadConfigOrExit(command));
        try {
          const status = service.status();
          if (opts.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
          for (const t of opts.json ? [] : status) {
            const last = t.lastSuccessMs ? new Date(t.lastSuccessMs).toISOString() : 'never';
            process.stdout.write(
              `${t.target}: ${t.healthy ? 'healthy' : 'failing'}, last success ${last}, backlog ${t.backlogCount} file(s) / ${(t.backlogBytes / 1e6).toFixed(1)} MB` +
                `${t.failedCount ? `, ${t.failedCount} failed` : ''}${t.lastError ? `\n  last error: ${t.lastError}` : ''}\n`,
            );
          }
        } finally {
          await service.stop();
        }
      }),
    );
  backup
    .command('run')
    .description('Upload everything queued now (also exports the index) and wait until done')
    .action((_opts: unknown, command: Command) =>
      runOrExit(async () => {
        const service = await backupService(await loadConfigOrExit(command));
        service.runner.start();
        try {
          await service.shipKeyAndIndex();
          await service.runner.whenIdle();
          for (const t of service.status()) process.stdout.write(`${t.target}: backlog ${t.backlogCount}${t.lastError ? ` (last error: ${t.lastError})` : ''}\n`);
        } finally {
          await service.stop();
        }
      }),
    );

  backup
    .command('dropbox-link')
    .description('Link a Dropbox app to Volet (PKCE, no app secret) and print the refresh token for volet.yml')
    .requiredOption('--app-key <key>', "your Dropbox app's key")
    .option('--api-base-url <url>', 'Dropbox API base URL (tests)')
    .option('--authorize-url <url>', 'Dropbox authorisation page (tests)')
    .action((opts: { appKey: string; apiBaseUrl?: string; authorizeUrl?: string }) =>
      runOrExit(async () => {
        const { createPkcePair, dropboxAuthorizeUrl, exchangeDropboxCode } = await import('../../backup/dropbox-auth.ts');
        const { codeVerifier, codeChallenge } = createPkcePair();
        const url = dropboxAuthorizeUrl(opts.appKey, codeChallenge, undefined, { authorizeUrl: opts.authorizeUrl });
        process.stderr.write(`1. Open this address, sign in to Dropbox and allow access:\n\n   ${url}\n\n2. Paste the code Dropbox shows: `);
        const code = (await readLine()).trim();
        const tokens = await exchangeDropboxCode({ appKey: opts.appKey, code, codeVerifier, apiBaseUrl: opts.apiBaseUrl });
        if (!tokens.refreshToken) throw new Error('Dropbox returned no refresh token (the app must allow offline access)');
        process.stdout.write(`Linked. Put this in the environment and reference it from volet.yml as refreshToken: \${DROPBOX_REFRESH_TOKEN}\n\nDROPBOX_REFRESH_TOKEN=${tokens.refreshToken}\n`);
      }),
    );

  program
    .command('restore')
    .description('Download a backup, authenticate every file with the passphrase and rebuild the index')
    .requiredOption('--from <target>', 'name of a backup target in the config')
    .requiredOption('--to <dir>', 'storage directory to create')
    .option('--passphrase-file <file>', 'read the passphrase from the first line of this file')
    .action((opts: { from: string; to: string; passphraseFile?: string }, command: Command) =>
      runOrExit(async () => {
        const config = await loadConfigOrExit(command);
        const targetConfig = config.backup.targets[opts.from];
        if (!targetConfig) throw new Error(`no backup target "${opts.from}" in the config (known: ${Object.keys(config.backup.targets).join(', ') || 'none'})`);
        const { createTarget } = await import('../../backup/create-target.ts');
        const { restoreFromTarget } = await import('../../app/restore.ts');
        const target = createTarget(opts.from, targetConfig);
        try {
          const passphrase = await readPassphrase({ file: opts.passphraseFile, prompt: 'Vault passphrase: ' });
          const report = await restoreFromTarget(target, resolve(opts.to), passphrase, progressBar('Restoring'));
          process.stdout.write(`Restored ${report.authenticated} of ${report.downloaded} file(s) and ${report.events} event(s) into ${opts.to}.\n`);
          for (const q of report.quarantined) process.stdout.write(`QUARANTINED ${q.name}: ${q.reason}\n`);
          if (report.quarantined.length > 0) process.exitCode = 1;
        } finally {
          await target.close();
        }
      }),
    );
}

/** Imports what it needs when a command runs, not for `volet --help`. */
async function backupService(config: VoletConfig): Promise<BackupService> {
  if (Object.keys(config.backup.targets).length === 0) throw new Error('no backup target configured (backup.targets in volet.yml)');
  const { BackupService } = await import('../../app/backup.ts');
  const { BackupQueue } = await import('../../backup/queue.ts');
  const { configSecretValues } = await import('../../config/mask.ts');
  const { createLogger } = await import('../../log/logger.ts');
  const { openDatabase } = await import('../../storage/database.ts');
  const { StorageIndex } = await import('../../storage/storage-index.ts');
  const { Vault } = await import('../../vault/vault.ts');
  const dir = resolve(config.storage.path);
  const db = openDatabase(join(dir, 'volet.db'));
  const logger = createLogger(config.log.level === 'info' ? 'warn' : config.log.level, process.stderr, { secrets: configSecretValues(config) });
  const vault = await Vault.open(dir).catch(() => undefined);
  return new BackupService({
    targets: config.backup.targets,
    storageDir: dir,
    index: new StorageIndex(db),
    vault: () => vault,
    padding: () => ({ before: 0, after: 0 }),
    queue: new BackupQueue(db),
    logger,
  });
}

function readLine(): Promise<string> {
  const rl = createInterface({ input: process.stdin });
  return new Promise((resolve) => rl.once('line', (line) => {
    rl.close();
    resolve(line);
  }));
}
