import type { z } from 'zod';
import { maskUrlsIn } from '../log/logger.ts';
import { MASK } from '../log/scrub-secrets.ts';
import { configSchema, type VoletConfig } from './schema.ts';
import { secretKindOf, type SecretKind } from './secret.ts';

/** The parts of a zod v4 definition the walks below follow. */
interface Def {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  out?: z.core.$ZodType;
  shape?: Record<string, z.core.$ZodType>;
  valueType?: z.core.$ZodType;
  element?: z.core.$ZodType;
  items?: z.core.$ZodType[];
  rest?: z.core.$ZodType | null;
  options?: z.core.$ZodType[];
  left?: z.core.$ZodType;
  right?: z.core.$ZodType;
  getter?: () => z.core.$ZodType;
}

const defOf = (schema: z.core.$ZodType) => schema._zod.def as unknown as Def;
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional', 'lazy']);
const innerOf = (def: Def) => (def.type === 'lazy' ? def.getter!() : def.innerType!);
/** A pipe's output side, unless it is a transform: then the value still has the input's shape. */
const pipeSideOf = (def: Def) => (defOf(def.out!).type === 'transform' ? def.in! : def.out!);
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

type Visit = (value: string, kind: SecretKind, path: PropertyKey[]) => string;

/**
 * Walks `value` as `schema` describes it and returns a copy in which every string the schema marks
 * secret is replaced by `visit`'s answer. Union members are all applied, so a field any member
 * marks secret is treated as secret. Works on unvalidated input too: mismatched shapes are skipped.
 */
export function mapSecrets(schema: z.core.$ZodType, value: unknown, visit: Visit, path: PropertyKey[] = []): unknown {
  const kind = secretKindOf(schema);
  if (kind && typeof value === 'string') return visit(value, kind, path);
  const def = defOf(schema);
  if (WRAPPERS.has(def.type)) return mapSecrets(innerOf(def), value, visit, path);
  switch (def.type) {
    case 'pipe':
      return mapSecrets(pipeSideOf(def), value, visit, path);
    case 'union':
      return def.options!.reduce((current, option) => mapSecrets(option, current, visit, path), value);
    case 'intersection':
      return mapSecrets(def.right!, mapSecrets(def.left!, value, visit, path), visit, path);
    case 'object': {
      if (!isPlainObject(value)) return value;
      const copy = { ...value };
      for (const [key, child] of Object.entries(def.shape!)) {
        if (key in copy) copy[key] = mapSecrets(child, copy[key], visit, [...path, key]);
      }
      return copy;
    }
    case 'record':
      if (!isPlainObject(value)) return value;
      return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, mapSecrets(def.valueType!, v, visit, [...path, key])]));
    case 'array':
      return Array.isArray(value) ? value.map((v, i) => mapSecrets(def.element!, v, visit, [...path, i])) : value;
    case 'tuple':
      if (!Array.isArray(value)) return value;
      return value.map((v, i) => {
        const item = def.items![i] ?? def.rest;
        return item ? mapSecrets(item, v, visit, [...path, i]) : v;
      });
    default:
      return value;
  }
}

export interface SchemaLeaf {
  /** Keys from the root; `*` stands for any record key or list index. */
  path: string[];
  leaf: z.core.$ZodType;
  secret?: SecretKind;
}

/** Every leaf (string, number, enum…) of `schema` with the secret mark found on the way to it, if any. */
export function schemaLeaves(schema: z.core.$ZodType, path: string[] = [], secret?: SecretKind): SchemaLeaf[] {
  const mark = secretKindOf(schema) ?? secret;
  const def = defOf(schema);
  if (WRAPPERS.has(def.type)) return schemaLeaves(innerOf(def), path, mark);
  switch (def.type) {
    case 'pipe':
      return schemaLeaves(pipeSideOf(def), path, mark);
    case 'union':
      return def.options!.flatMap((option) => schemaLeaves(option, path, mark));
    case 'intersection':
      return [...schemaLeaves(def.left!, path, mark), ...schemaLeaves(def.right!, path, mark)];
    case 'object':
      return Object.entries(def.shape!).flatMap(([key, child]) => schemaLeaves(child, [...path, key]));
    case 'record':
      return schemaLeaves(def.valueType!, [...path, '*']);
    case 'array':
      return schemaLeaves(def.element!, [...path, '*']);
    case 'tuple':
      return [...def.items!, ...(def.rest ? [def.rest] : [])].flatMap((item) => schemaLeaves(item, [...path, '*']));
    default:
      return [{ path, leaf: schema, secret: mark }];
  }
}

/** Query parameters whose values are credentials (Gotify ?token=, ntfy ?auth=, cameras' ?password=…). */
const CREDENTIAL_PARAM = /pass|pwd|token|secret|key|auth|sig|cred|session/i;

/** Web URLs may carry a token as a lone user name (https://TOKEN@host); elsewhere a lone user name is just a login. */
const TOKEN_AS_USER = new Set(['http:', 'https:', 'ws:', 'wss:']);
const userinfoSecret = (url: URL) => url.password || (TOKEN_AS_USER.has(url.protocol) ? url.username : '');

/** The credentials a URL carries: its password (or an http(s) lone user name) and credential-like query values. */
export function urlCredentials(text: string): string[] {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const password = /^[a-z][a-z0-9+.-]*:\/\/[^\s:@/]+:([^\s@/]+)@/i.exec(text)?.[1];
    return password ? [password, safeDecode(password)] : [];
  }
  const found: string[] = [];
  const userinfo = userinfoSecret(url);
  if (userinfo) found.push(userinfo, safeDecode(userinfo));
  for (const [name, value] of url.searchParams) if (CREDENTIAL_PARAM.test(name) && value) found.push(value);
  return found;
}

/** rtsp://admin:pw@cam/s?token=t → rtsp://admin:***@cam/s?token=***; a URL without credentials is returned as is. */
export function maskUrlCredentials(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return maskUrlsIn(text);
  }
  if (urlCredentials(text).length === 0) return text;
  if (url.password) url.password = MASK;
  else if (userinfoSecret(url)) url.username = MASK;
  const params = new URLSearchParams();
  for (const [name, value] of url.searchParams) params.append(name, CREDENTIAL_PARAM.test(name) && value ? MASK : value);
  if (url.search) url.search = params.toString();
  return url.toString();
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The configuration as `config check --print` shows it: every field the schema marks secret masked. */
export function maskConfig(config: VoletConfig): VoletConfig {
  return mapSecrets(configSchema, config, (value, kind) => (kind === 'url' ? maskUrlCredentials(value) : MASK)) as VoletConfig;
}

/** Every secret string in a configuration (validated or not), for the log and error scrubbers. */
export function configSecretValues(config: unknown): string[] {
  const found: string[] = [];
  mapSecrets(configSchema, config, (value, kind) => {
    if (kind === 'url') found.push(...urlCredentials(value));
    else if (value) found.push(value);
    return value;
  });
  return found;
}
