import { pino, type Logger } from 'pino';
import { secretScrubber } from './scrub-secrets.ts';

export type { Logger };

export interface LoggerOptions {
  /** Values blanked out of every line wherever they appear (the loaded config's secrets: see configSecretValues). */
  secrets?: Iterable<string>;
}

/** The one logger: JSON lines on stdout, with secrets scrubbed from each line before it is written. */
export function createLogger(
  level = 'info',
  destination: NodeJS.WritableStream = process.stdout,
  { secrets = [] }: LoggerOptions = {},
): Logger {
  const scrub = secretScrubber(secrets);
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['password', '*.password', 'passphrase', '*.passphrase', 'token', '*.token'], censor: '***' },
      hooks: { streamWrite: scrub },
    },
    destination as pino.DestinationStream,
  );
}

/** rtsp://user:secret@host/path → rtsp://user:***@host/path. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return maskUrlsIn(url);
  }
}

/** Removes every credential-bearing URL from free text such as ffmpeg's stderr. */
export function maskUrlsIn(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s:@/]+):([^\s@/]*)@/gi, '$1$2:***@');
}
