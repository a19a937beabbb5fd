import { z } from 'zod';
import { configSchema } from './schema.ts';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  required?: string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

/** docs/CONFIG.md, generated from the zod schema so it cannot drift: `volet config docs > docs/CONFIG.md`. */
export function renderConfigDocs(): string {
  const root = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: string[] = [];
  walk(root, '', rows, false);
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `volet config docs`; do not edit by hand. -->',
    '',
    'Volet reads one YAML file (`./volet.yml`, or `--config <file>`). Every key below is optional unless',
    'marked required. `${NAME}` anywhere in a value is replaced by the environment variable `NAME`.',
    'An annotated example is in `volet.example.yml`. `<name>` stands for a name you choose.',
    '',
    '| Key | Type | Default | Description |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

function walk(schema: JsonSchema, path: string, rows: string[], required: boolean): void {
  const node = schema.anyOf?.find((s) => s.type !== 'null') ?? schema.oneOf?.[0] ?? schema;
  const isObject = node.type === 'object';
  if (path && (!isObject || node.description)) {
    rows.push(`| \`${path}\` | ${typeOf(node)} | ${required ? '**required**' : defaultOf(schema.default ?? node.default)} | ${escape(schema.description ?? node.description ?? '')} |`);
  }
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    walk(child, path ? `${path}.${key}` : key, rows, (node.required ?? []).includes(key) && child.default === undefined);
  }
  if (typeof node.additionalProperties === 'object' && node.additionalProperties.type === 'object') {
    walk(node.additionalProperties, `${path}.<name>`, rows, false);
  }
  for (const variant of node.oneOf ?? node.anyOf ?? []) if (variant !== node && variant.properties) walk(variant, path, rows, false);
}

function typeOf(node: JsonSchema): string {
  if (node.prefixItems) return `[${node.prefixItems.map(typeOf).join(', ')}]`;
  if (node.enum) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (node.type === 'array') return `list of ${node.items ? typeOf(node.items) : 'values'}`;
  if (node.type === 'object' && typeof node.additionalProperties === 'object') return `map of ${typeOf(node.additionalProperties)}`;
  const range = node.minimum !== undefined && node.maximum !== undefined ? ` (${node.minimum}–${node.maximum})` : '';
  return `${Array.isArray(node.type) ? node.type.join(' \\| ') : (node.type ?? 'value')}${range}`;
}

function defaultOf(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'object' && value !== null && Object.keys(value).length === 0) return '';
  return `\`${escape(JSON.stringify(value))}\``;
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
