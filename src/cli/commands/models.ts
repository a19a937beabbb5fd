import type { Command } from 'commander';

/** `volet models list|fetch`: the model files of models/manifest.json in the models folder. */

export function registerModelsCommand(program: Command): Command {
  const models = program
    .command('models')
    .description(`Model files for object detection (folder: VOLET_MODELS_DIR or the repository's models/)`);

  models
    .command('list')
    .description('Show each model of the manifest and whether its file is present with the right sha256')
    .action(async (_flags: unknown, command: Command) => {
      const { writeOut } = command.configureOutput();
      const { defaultModelsDir, modelManifest, modelStatus } = await import('../../detect/models.ts');
      const dir = defaultModelsDir();
      writeOut!(`models folder: ${dir}\n`);
      for (const entry of modelManifest()) {
        const status = await modelStatus(entry, dir);
        const shown = status === 'ok' ? 'present, hash ok' : status;
        const source = entry.url ? '' : ' (no download: provide the file by hand)';
        writeOut!(`${entry.name}  ${entry.file}  ${shown}${source}  license ${entry.license}\n`);
      }
    });

  models
    .command('fetch')
    .description('Download a model (or every downloadable one) into the models folder and verify its sha256')
    .argument('[name]', 'model name from the manifest; all downloadable models when omitted')
    .action(async (name: string | undefined, _flags: unknown, command: Command) => {
      const { writeOut, writeErr } = command.configureOutput();
      const { defaultModelsDir, fetchModel, modelEntry, modelManifest } = await import('../../detect/models.ts');
      const dir = defaultModelsDir();
      const fail = (message: string) => {
        writeErr!(`volet models fetch: ${message}\n`);
        process.exitCode = 1;
      };
      let entries = modelManifest().filter((m) => m.url);
      if (name) {
        const entry = modelEntry(name);
        if (!entry) return fail(`unknown model "${name}" — known: ${modelManifest().map((m) => m.name).join(', ')}`);
        entries = [entry];
      }
      for (const entry of entries) {
        try {
          const { path, status } = await fetchModel(entry, dir);
          writeOut!(`${entry.name}: ${status === 'present' ? 'already present, hash ok' : 'fetched, hash ok'} (${path})\n`);
        } catch (err) {
          fail((err as Error).message);
        }
      }
    });

  return models;
}
