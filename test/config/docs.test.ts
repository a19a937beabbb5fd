import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderConfigDocs } from '../../src/config/docs.ts';

test('docs/CONFIG.md is exactly what the schema generates (regenerate with: volet config docs > docs/CONFIG.md)', () => {
  const committed = readFileSync(new URL('../../docs/CONFIG.md', import.meta.url), 'utf8');
  assert.equal(committed, renderConfigDocs());
});

test('the generated reference lists every section with defaults and marks required keys', () => {
  const docs = renderConfigDocs();
  for (const key of ['cameras.<name>.main', 'storage.retention.eventDays', 'detector.threads', 'web.port', 'privacy.restore', 'log.level']) {
    assert.match(docs, new RegExp(`\\| \`${key.replace(/[.<>]/g, (c) => `\\${c}`)}\` \\|`), key);
  }
  assert.match(docs, /\| `cameras\.<name>\.main` \| string \| \*\*required\*\* \|/);
});
