import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = join(import.meta.dirname, '../src');
/** The composition root (app), the command line and the web layer itself may use the web layer. */
const MAY_USE_WEB = new Set(['app', 'cli', 'web']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('domain folders never import from web/: the web layer adapts the domain, not the reverse', () => {
  const offenders: string[] = [];
  for (const file of sources(SRC)) {
    const folder = relative(SRC, file).split('/')[0];
    if (MAY_USE_WEB.has(folder)) continue;
    for (const [, target] of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
      const resolved = relative(SRC, join(file, '..', target));
      if (resolved.startsWith('web/')) offenders.push(`${relative(SRC, file)} → ${resolved}`);
    }
  }
  assert.deepEqual(offenders, []);
});
