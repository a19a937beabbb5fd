import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const WEB = join(import.meta.dirname, '../../web');

function scripts(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? scripts(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

test('the offline app shell lists every script of the viewer, so the installed app starts offline', () => {
  const worker = readFileSync(join(WEB, 'sw.js'), 'utf8');
  const shell = /const SHELL = \[([^\]]*)\]/.exec(worker)?.[1] ?? '';
  const listed = new Set([...shell.matchAll(/'([^']+)'/g)].map((m) => m[1]));
  const missing = scripts(join(WEB, 'js')).map((file) => `/${relative(WEB, file)}`).filter((path) => !listed.has(path));
  assert.deepEqual(missing, [], 'add them to SHELL in web/sw.js and bump CACHE');
});
