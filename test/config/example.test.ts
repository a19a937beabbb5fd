import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.ts';

type JsonSchema = { properties?: Record<string, JsonSchema>; additionalProperties?: JsonSchema | boolean; items?: JsonSchema; oneOf?: JsonSchema[]; anyOf?: JsonSchema[] };

function keysOf(schema: JsonSchema, out = new Set<string>()): Set<string> {
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    out.add(key);
    keysOf(child, out);
  }
  if (typeof schema.additionalProperties === 'object') keysOf(schema.additionalProperties, out);
  if (schema.items) keysOf(schema.items, out);
  for (const variant of [...(schema.oneOf ?? []), ...(schema.anyOf ?? [])]) keysOf(variant, out);
  return out;
}

test('volet.example.yml documents every key of the schema', () => {
  const example = readFileSync(new URL('../../volet.example.yml', import.meta.url), 'utf8');
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const keys = keysOf(schema);
  assert.ok(keys.size > 30, `walked only ${keys.size} keys`);
  const undocumented = [...keys].filter((key) => !new RegExp(`\\b${key}:`).test(example));
  assert.deepEqual(undocumented, []);
});
