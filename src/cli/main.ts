import { Command } from 'commander';
import { registerBackupCommands } from './commands/backup.ts';
import { registerConfigCommand } from './commands/config.ts';
import { registerDetectCommand } from './commands/detect.ts';
import { registerHealthCommand } from './commands/health.ts';
import { registerModelsCommand } from './commands/models.ts';
import { registerRecordingCommands } from './commands/recordings.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerSetupCodeCommand } from './commands/setup-code.ts';
import { registerShutterCommand } from './commands/shutter.ts';
import { registerVaultCommand } from './commands/vault.ts';

const program = new Command('volet')
  .description('Privacy-first network video recorder: on-device detection, encrypted recording, no cloud.')
  .option('-c, --config <file>', 'configuration file', './volet.yml')
  .showHelpAfterError()
  .configureHelp({ showGlobalOptions: true });

registerRunCommand(program);
registerConfigCommand(program);
registerDetectCommand(program);
registerModelsCommand(program);
registerVaultCommand(program);
registerRecordingCommands(program);
registerShutterCommand(program);
registerBackupCommands(program);
registerHealthCommand(program);
registerSetupCodeCommand(program);

await program.parseAsync(process.argv);
