import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { secretScrubber } from '../log/scrub-secrets.ts';
import { configSecretValues } from './mask.ts';
import { configSchema, type VoletConfig } from './schema.ts';

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid config ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads, substitutes ${ENV_VAR}s and validates a YAML config file. A missing file is an empty config. */
export function loadConfigFile(path: string, env: Env = process.env, { mustExist = false } = {}): VoletConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !mustExist) text = '';
    else if (code === 'ENOENT') throw new ConfigError(path, [`file not found`]);
    else throw new ConfigError(path, [`cannot read file: ${(err as Error).message}`]);
  }
  return parseConfig(text, path, env);
}

export function parseConfig(text: string, source = 'volet.yml', env: Env = process.env): VoletConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError(source, doc.errors.map((e) => `YAML: ${withoutSourceText(e.message)}`));
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (err) {
    throw new ConfigError(source, [`YAML: ${withoutSourceText((err as Error).message)}`]);
  }
  const problems: string[] = [];
  const substituted = substituteEnv(raw, [], env, problems);
  // The messages below name paths, not values; scrubbing is the guard should one ever quote a secret.
  const scrub = secretScrubber(configSecretValues(substituted));
  if (problems.length > 0) throw new ConfigError(source, problems.map(scrub));
  const result = configSchema.safeParse(substituted, { reportInput: true });
  if (!result.success) throw new ConfigError(source, result.error.issues.map(describeIssue).map(scrub));
  return result.data;
}

/**
 * The first line of a YAML error without the source text some messages quote (`Unexpected scalar
 * token in YAML stream: "hunter2"`, `Unresolved alias …: *name`): that text may be a password.
 */
function withoutSourceText(message: string): string {
  const [first] = message.split('\n');
  const at = / at line \d+, column \d+:?$/.exec(first);
  const text = at ? first.slice(0, at.index) : first;
  const position = at ? at[0].replace(/:$/, '') : '';
  return `${text.replace(/:\s.*$/, '')}${position}`;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function substituteEnv(value: unknown, path: PropertyKey[], env: Env, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_, name: string) => {
      const found = env[name];
      if (found === undefined) problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
      return found ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, [...path, i], env, problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, [...path, k], env, problems)]),
    );
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${formatPath([...issue.path, k])}: unknown key`).join('\n  ');
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${where}: is required`;
  if (issue.code === 'invalid_type') return `${where}: must be ${issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}`;
  if (issue.code === 'invalid_value') return `${where}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_key') return `${where}: invalid name — ${issue.issues.map((i) => i.message).join('; ')}`;
  return `${where}: ${issue.message}`;
}

function formatPath(path: PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
}
