import type { Command } from 'commander';
import { join } from 'node:path';
import type { StorageIndex } from '../../storage/storage-index.ts';
import { loadConfigOrExit } from '../config-option.ts';
import { readPassphrase } from '../passphrase.ts';
import { progressBar } from '../progress.ts';
import { runOrExit } from '../run-or-exit.ts';
import { resolve } from 'node:path';

interface ExportOptions {
  event?: string;
  camera?: string;
  from?: string;
  to?: string;
  out: string;
  passphraseFile?: string;
}

export function registerRecordingCommands(program: Command): void {
  program
    .command('export')
    .description('Decrypt an event or a time span of a camera into a playable MP4 (asks for the vault passphrase)')
    .option('--event <id>', 'the event to export')
    .option('--camera <name>', 'camera, with --from and --to')
    .option('--from <time>', 'start, e.g. 2026-11-22T14:00:00')
    .option('--to <time>', 'end')
    .requiredOption('--out <file>', 'MP4 file to write')
    .option('--passphrase-file <file>', 'read the passphrase from the first line of this file')
    .action((opts: ExportOptions, command: Command) =>
      runOrExit(async () => {
        const config = await loadConfigOrExit(command);
        const dir = resolve(config.storage.path);
        const { openIndex, Vault } = await storageModules();
        const index = openIndex(dir);
        const span = exportSpan(opts, index, config.cameras);
        const { exportClip } = await import('../../record/export.ts');
        const vault = await Vault.open(dir);
        await vault.unlock(await readPassphrase({ file: opts.passphraseFile, prompt: 'Vault passphrase: ' }));
        try {
          const result = await exportClip(dir, index, vault, { ...span, out: opts.out, onProgress: progressBar('Exporting') });
          process.stdout.write(`Wrote ${opts.out} from ${result.segments} segment(s).\n`);
        } finally {
          vault.lock();
        }
      }),
    );

  program
    .command('verify')
    .description('Authenticate every vault file and check the index against the disk (asks for the vault passphrase)')
    .option('--passphrase-file <file>', 'read the passphrase from the first line of this file')
    .action((opts: { passphraseFile?: string }, command: Command) =>
      runOrExit(async () => {
        const dir = resolve((await loadConfigOrExit(command)).storage.path);
        const { openIndex, Vault } = await storageModules();
        const index = openIndex(dir);
        const { verifyStorage } = await import('../../storage/verify.ts');
        const vault = await Vault.open(dir);
        await vault.unlock(await readPassphrase({ file: opts.passphraseFile, prompt: 'Vault passphrase: ' }));
        try {
          const report = await verifyStorage(dir, index, vault, progressBar('Verifying'));
          process.stdout.write(`${report.authenticated} file(s) authenticated (${(report.bytes / 1e6).toFixed(1)} MB of footage).\n`);
          for (const f of report.failed) process.stdout.write(`FAILED ${f.name}: ${f.message}\n`);
          for (const name of report.missing) process.stdout.write(`MISSING ${name} (indexed, not on disk)\n`);
          for (const name of report.unindexed) process.stdout.write(`UNINDEXED ${name} (on disk, not in the index; restart Volet to re-index)\n`);
          if (report.failed.length + report.missing.length + report.unindexed.length > 0) process.exitCode = 1;
          else process.stdout.write('All good.\n');
        } finally {
          vault.lock();
        }
      }),
    );
}

/** Imported when a command runs, not for `volet --help`. */
async function storageModules() {
  const { openDatabase } = await import('../../storage/database.ts');
  const { StorageIndex } = await import('../../storage/storage-index.ts');
  const { Vault } = await import('../../vault/vault.ts');
  return { openIndex: (dir: string) => new StorageIndex(openDatabase(join(dir, 'volet.db'))), Vault };
}

function exportSpan(opts: ExportOptions, index: StorageIndex, cameras: Record<string, { record: { preRollSeconds: number; postRollSeconds: number } }>) {
  if (opts.event) {
    const event = index.event(opts.event);
    if (!event) throw new Error(`no event with id ${opts.event}`);
    const roll = cameras[event.camera]?.record ?? { preRollSeconds: 5, postRollSeconds: 10 };
    return { camera: event.camera, fromMs: event.startMs - roll.preRollSeconds * 1000, toMs: (event.endMs ?? Date.now()) + roll.postRollSeconds * 1000 };
  }
  if (!opts.camera || !opts.from || !opts.to) throw new Error('give --event <id>, or --camera with --from and --to');
  const fromMs = Date.parse(opts.from);
  const toMs = Date.parse(opts.to);
  if (Number.isNaN(fromMs) || Number.isNaN(toMs)) throw new Error('--from and --to must be dates such as 2026-11-22T14:00:00');
  if (toMs <= fromMs) throw new Error('--to must be after --from');
  return { camera: opts.camera, fromMs, toMs };
}
