import type { Command } from 'commander';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { VoletConfig } from '../../config/schema.ts';
import { loadConfigOrExit } from '../config-option.ts';

/** Where this box's own viewer answers: the configured scheme and port, a wildcard address read as loopback. */
export function healthzUrl(web: VoletConfig['web']): string {
  const host = web.host === '0.0.0.0' ? '127.0.0.1' : web.host === '::' ? '::1' : web.host;
  return `${web.https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${web.port}/healthz`;
}

/** The status code of GET /healthz, or the reason there was none. */
function probe(url: string, timeoutMs: number): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    // Only a status code is read and nothing is sent: the box's own self-signed certificate is fine.
    const request = url.startsWith('https:') ? httpsRequest(url, { rejectUnauthorized: false }) : httpRequest(url);
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    request.on('error', (err) => resolve({ error: err.message }));
    request.end();
  });
}

export function registerHealthCommand(program: Command): void {
  program
    .command('health')
    .description('Ask the running Volet (web.host, web.port, web.https from the config) whether it is up: exit 0 when up, 1 when degraded or unreachable')
    .option('--timeout <ms>', 'give up after this long', '4000')
    .action(async (opts: { timeout: string }, command: Command) => {
      const config = await loadConfigOrExit(command);
      const url = healthzUrl(config.web);
      const result = await probe(url, Number(opts.timeout) || 4000);
      if ('error' in result) {
        process.stderr.write(`unreachable: ${url}: ${result.error}\n`);
        process.exitCode = 1;
      } else if (result.status === 200) {
        process.stdout.write('up\n');
      } else {
        process.stdout.write(result.status === 503 ? 'degraded: see GET /api/health in the viewer\n' : `unexpected HTTP ${result.status} from ${url}\n`);
        process.exitCode = 1;
      }
    });
}
