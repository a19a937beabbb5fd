import { z } from 'zod';
import { defaultLabelFilter } from '../objects/label-filters.ts';
import { configSchema, DEFAULT_LABELS } from './schema.ts';
import { secretKindOf, type SecretKind } from './secret.ts';

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
  'x-secret'?: SecretKind;
}

/** docs/CONFIG.md, generated from the zod schema so it cannot drift: `volet config docs > docs/CONFIG.md`. */
export function renderConfigDocs(): string {
  const root = z.toJSONSchema(configSchema, {
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      const kind = secretKindOf(zodSchema);
      if (kind) jsonSchema['x-secret'] = kind;
    },
  }) as JsonSchema;
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
    'Values marked *secret* are masked in logs, in error messages and by `volet config check --print`.',
    '',
    '| Key | Type | Default | Description |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    ...labelDefaultsTable(),
    '',
  ].join('\n');
}

/** The per-label defaults of `detector.labels.<name>` / `cameras.<name>.objects.<name>` filters. */
function labelDefaultsTable(): string[] {
  const fields = ['minScore', 'threshold', 'minArea', 'maxArea', 'minRatio', 'maxRatio'] as const;
  const row = (label: string) => {
    const filter = defaultLabelFilter(label);
    return `| ${label} | ${fields.map((f) => (Number.isFinite(filter[f]) ? String(filter[f]) : 'no limit')).join(' | ')} |`;
  };
  return [
    '## Label filter defaults',
    '',
    'A label given as a number sets its `minScore`; every field left out takes the default of its label.',
    'How the filters decide, and how the defaults were measured: docs/DETECTION.md.',
    '',
    `| Label | ${fields.join(' | ')} |`,
    `| --- |${' --- |'.repeat(fields.length)}`,
    ...Object.keys(DEFAULT_LABELS).map(row),
    row('any other label'),
  ];
}

function walk(schema: JsonSchema, path: string, rows: string[], required: boolean): void {
  const node = schema.anyOf?.find((s) => s.type !== 'null') ?? schema;
  const isObject = node.type === 'object' || node.oneOf !== undefined;
  if (path && (!isObject || node.description)) {
    const description = [schema.description ?? node.description ?? '', SECRET_NOTE[schema['x-secret'] ?? node['x-secret'] ?? 'none']].filter(Boolean).join(' ');
    rows.push(`| \`${path}\` | ${typeOf(node)} | ${required ? '**required**' : defaultOf(schema.default ?? node.default)} | ${escape(description)} |`);
  }
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    walk(child, path ? `${path}.${key}` : key, rows, (node.required ?? []).includes(key) && child.default === undefined);
  }
  const values = typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
  // A map whose values are a scalar or an object (a label's score or its filter): list the object's keys.
  const entries = values?.anyOf?.find((v) => v.type === 'object') ?? values;
  if (entries && (entries.type === 'object' || entries.oneOf)) walk(entries, `${path}.<name>`, rows, false);
  const variants = node.oneOf ?? [];
  const shared = (variants[0] ? Object.keys(variants[0].properties ?? {}) : []).filter(
    (key) => key !== 'type' && variants.every((v) => JSON.stringify(v.properties?.[key]) === JSON.stringify(variants[0].properties?.[key])),
  );
  if (variants.length > 0) {
    rows.push(`| \`${path}.type\` | ${variants.map((v) => `\`${String(typeLabel(v))}\``).join(' \\| ')} | **required** | Kind of target; the keys marked "(type …)" apply to that kind only. |`);
    for (const key of shared) walk(variants[0].properties![key], `${path}.${key}`, rows, (variants[0].required ?? []).includes(key) && variants[0].properties![key].default === undefined);
  }
  for (const variant of variants) walkVariant(variant, path, rows, new Set(shared));
}

const SECRET_NOTE: Record<SecretKind | 'none', string> = {
  value: '*Secret.*',
  url: '*Credentials in it (user:password, ?token=…) are secret.*',
  none: '',
};

function typeLabel(variant: JsonSchema): unknown {
  const type = variant.properties?.type as (JsonSchema & { const?: string }) | undefined;
  return type?.const ?? type?.enum?.[0];
}

/** One member of a union keyed by `type`: its keys are listed as applying to that type. */
function walkVariant(variant: JsonSchema, path: string, rows: string[], shared: Set<string>): void {
  const label = typeLabel(variant);
  for (const [key, child] of Object.entries(variant.properties ?? {})) {
    if (key === 'type' || shared.has(key)) continue;
    const before = rows.length;
    walk(child, `${path}.${key}`, rows, (variant.required ?? []).includes(key) && child.default === undefined);
    for (let i = before; i < rows.length; i++) rows[i] = rows[i].replace(/ \|$/, ` (type \`${String(label)}\`) |`);
  }
}

function typeOf(node: JsonSchema): string {
  if (node.anyOf) return node.anyOf.map(typeOf).join(' or ');
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
