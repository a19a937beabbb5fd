import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Absolute path of the service worker the viewer serves at `/sw.js` (Content-Type: text/javascript). */
export const SERVICE_WORKER_PATH = fileURLToPath(new URL('./sw.js', import.meta.url));

export function serviceWorkerSource(): Promise<string> {
  return readFile(SERVICE_WORKER_PATH, 'utf8');
}
