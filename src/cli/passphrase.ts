import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/** A passphrase from --passphrase-file (first line) or typed at the terminal without echo. */
export async function readPassphrase(opts: { file?: string; prompt: string; confirm?: boolean }): Promise<string> {
  if (opts.file) {
    const text = await readFile(opts.file, 'utf8').catch((err: Error) => {
      throw new Error(`cannot read passphrase file ${opts.file}: ${err.message}`);
    });
    return checkPassphrase(text.split(/\r?\n/)[0]);
  }
  const first = await ask(opts.prompt);
  if (opts.confirm && (await ask('Repeat it: ')) !== first) throw new Error('the two passphrases differ');
  return checkPassphrase(first);
}

function checkPassphrase(passphrase: string): string {
  if (passphrase.length < 8) throw new Error('the passphrase must have at least 8 characters');
  return passphrase;
}

async function ask(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
  const output = process.stderr as NodeJS.WriteStream & { _volet_muted?: boolean };
  const write = rl as unknown as { _writeToOutput?: (s: string) => void };
  process.stderr.write(prompt);
  if (process.stdin.isTTY) write._writeToOutput = () => {};
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    if (process.stdin.isTTY) output.write('\n');
  }
}
