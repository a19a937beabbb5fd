import { pino, type Logger } from 'pino';

export type { Logger };

/** The one logger: JSON lines on stdout. Secrets are masked before they reach it (see maskUrl). */
export function createLogger(level = 'info', destination: NodeJS.WritableStream = process.stdout): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['password', '*.password', 'passphrase', '*.passphrase', 'token', '*.token'], censor: '***' },
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
