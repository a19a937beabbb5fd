import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import { configSecretValues, mapSecrets, schemaLeaves, type SchemaLeaf } from '../../src/config/mask.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import { secret, type SecretKind } from '../../src/config/secret.ts';
import { createLogger } from '../../src/log/logger.ts';
import { repoRoot } from '../support/volet-fixture.ts';

/** One row per secret field of the schema (union members and record entries folded together). */
function secretFields(schema: z.core.$ZodType = configSchema): { path: string[]; kind: SecretKind }[] {
  const byPath = new Map<string, { path: string[]; kind: SecretKind }>();
  for (const leaf of schemaLeaves(schema)) if (leaf.secret) byPath.set(leaf.path.join('.'), { path: leaf.path, kind: leaf.secret });
  return [...byPath.values()];
}

/** A config using every section that holds secrets; the sentinels below replace its values. */
const base = {
  cameras: {
    porch: { main: 'rtsp://admin:x@192.168.1.20:554/stream1', sub: 'rtsp://admin:x@192.168.1.20:554/stream2' },
  },
  backup: {
    targets: {
      disk: { type: 'folder', url: '/srv/backup' },
      nas: { type: 'ftp', url: 'ftp://volet@nas.lan/backup', password: 'x' },
      nastls: { type: 'ftps', url: 'ftps://volet@nas.lan/backup', password: 'x' },
      box: { type: 'sftp', url: 'sftp://volet@nas.lan/backup', password: 'x', passphrase: 'x', privateKeyPath: '/keys/id' },
      dav: { type: 'webdav', url: 'https://dav.lan/volet', username: 'volet', password: 'x' },
      cloud: {
        type: 'dropbox',
        appKey: 'dropboxappkey',
        refreshToken: 'x',
        appSecret: 'x',
        apiBaseUrl: 'https://api.dropboxapi.com',
        contentBaseUrl: 'https://content.dropboxapi.com',
      },
    },
  },
  notifications: { ntfy: 'https://ntfy.lan/volet', gotify: 'https://gotify.lan/message?token=x' },
  mqtt: { url: 'mqtt://broker.lan:1883', username: 'volet', password: 'x' },
  privacy: {
    residents: { alice: { token: 'x'.repeat(16) } },
    intrusion: { token: 'x'.repeat(16) },
    cameras: {
      porch: {
        hook: {
          http: { open: 'http://cam.lan/open', close: 'http://cam.lan/close' },
          onvif: { url: 'http://cam.lan:8000/onvif/device_service', user: 'admin', password: 'x', openPreset: 'a', closePreset: 'b' },
        },
      },
    },
  },
};

type Json = Record<string, unknown>;
let counter = 0;
const sentinel = () => `S3ntinel${String(++counter).padStart(3, '0')}qZ7vK2mP9w`;

/** Ways to hide sentinels in a URL, most revealing first: both userinfo password and ?token=, then each alone. */
function urlVariants(value: unknown): [string, string[]][] {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    return [];
  }
  const [password, token] = [sentinel(), sentinel()];
  const withPassword = new URL(url);
  withPassword.username ||= 'user';
  withPassword.password = password;
  const withToken = new URL(url);
  withToken.searchParams.set('token', token);
  const both = new URL(withPassword);
  both.searchParams.set('token', token);
  return [
    [both.href, [password, token]],
    [withToken.href, [token]],
    [withPassword.href, [password]],
  ].filter(([href, put]) => (put as string[]).every((s) => (href as string).includes(s))) as [string, string[]][];
}

/**
 * Puts a distinct sentinel in every field the schema marks secret, wherever `config` has a place
 * for it that the schema accepts. Fails when a marked field found no place: extend `base` then.
 */
function withSentinels(config: Json): { config: Json; sentinels: Map<string, string[]> } {
  let current = structuredClone(config);
  const sentinels = new Map<string, string[]>();
  for (const { path, kind } of secretFields()) {
    const name = path.join('.');
    const placed: string[] = [];
    for (const parentPath of expand(current, path.slice(0, -1))) {
      const key = path.at(-1)!;
      const existing = (get(current, parentPath) as Json)[key];
      const candidates: [string, string[]][] =
        kind === 'url' ? urlVariants(existing ?? 'https://service.example') : [[sentinel(), []]].map(([v]) => [v as string, [v as string]]);
      for (const [value, put] of candidates) {
        const attempt = structuredClone(current);
        (get(attempt, parentPath) as Json)[key] = value;
        if (configSchema.safeParse(attempt).success) {
          current = attempt;
          placed.push(...put);
          break;
        }
      }
    }
    assert.ok(placed.length > 0, `secret field ${name} has no valid place in the test config: add it to \`base\``);
    sentinels.set(name, placed);
  }
  return { config: current, sentinels };
}

function get(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, key) => (v as Json)[key], value);
}

/** Concrete paths for a schema path: `*` becomes every existing record key or list index. */
function expand(value: unknown, path: string[], prefix: string[] = []): string[][] {
  if (path.length === 0) return [prefix];
  if (value === null || typeof value !== 'object') return [];
  const [head, ...rest] = path;
  const keys = head === '*' ? Object.keys(value) : head in value ? [head] : [];
  return keys.flatMap((key) => expand((value as Json)[key], rest, [...prefix, key]));
}

function volet(args: string[]): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

function leaks(text: string, sentinels: Map<string, string[]>): string[] {
  return [...sentinels].filter(([, values]) => values.some((s) => text.includes(s))).map(([name]) => name);
}

test('the schema marks the known secret fields, and the list comes from the schema', () => {
  const names = secretFields().map((f) => `${f.path.join('.')} (${f.kind})`);
  assert.ok(names.length > 0);
  for (const known of [
    'cameras.*.main (url)',
    'cameras.*.sub (url)',
    'backup.targets.*.url (url)',
    'backup.targets.*.password (value)',
    'backup.targets.*.passphrase (value)',
    'backup.targets.*.refreshToken (value)',
    'backup.targets.*.appSecret (value)',
    'notifications.ntfy (url)',
    'notifications.gotify (url)',
    'privacy.residents.*.token (value)',
    'privacy.intrusion.token (value)',
    'privacy.cameras.*.hook.http.open (url)',
    'privacy.cameras.*.hook.onvif.url (url)',
    'privacy.cameras.*.hook.onvif.password (value)',
  ]) {
    assert.ok(names.includes(known), `${known} is marked secret (marked: ${names.join(', ')})`);
  }
});

test('volet config check --print shows no secret of any marked field, and keeps the rest readable', () => {
  const { config, sentinels } = withSentinels(base);
  const dir = mkdtempSync(join(tmpdir(), 'volet-secrets-'));
  try {
    const file = join(dir, 'volet.yml');
    writeFileSync(file, stringify(config));
    const { stdout, stderr, status } = volet(['-c', file, 'config', 'check', '--print']);
    assert.equal(status, 0, stderr);
    assert.deepEqual(leaks(stdout + stderr, sentinels), [], 'fields whose secret was printed');
    assert.match(stdout, /main: rtsp:\/\/admin:\*\*\*@192\.168\.1\.20:554\/stream1/, 'a masked URL keeps its host and user');
    assert.match(stdout, /gotify: https:\/\/gotify\.lan\/message\?token=\*\*\*/);
    assert.match(stdout, /appKey: dropboxappkey/, 'fields not marked secret are printed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a log line carrying every secret, in text, nested objects and errors, shows none of them', () => {
  const { config: raw, sentinels } = withSentinels(base);
  const config = parseConfig(stringify(raw), 'test.yml', {});
  const all = [...sentinels.values()].flat();
  const collected = configSecretValues(config);
  assert.deepEqual(all.filter((s) => !collected.some((c) => c.includes(s))), [], 'every sentinel is found in the loaded config');

  let out = '';
  const sink = new Writable({ write: (chunk, _enc, done) => ((out += String(chunk)), done()) });
  const logger = createLogger('info', sink, { secrets: collected });
  logger.info({ config, urls: all.map((s) => `https://u:${encodeURIComponent(s)}@host/?q="${s}"`), err: new Error(`failed with ${all.join(' ')}`) }, `connecting with ${all.join(', ')}`);
  logger.child({ camera: 'porch' }).warn(`child logger too: ${all.join(' ')}`);
  assert.deepEqual(leaks(out, sentinels), [], 'fields whose secret reached the log');
  assert.match(out, /connecting with \*\*\*/);
  assert.match(out, /"camera":"porch"/, 'ordinary values are kept');
});

test("volet run's logger scrubs the loaded config's secrets from its lines", () => {
  const dir = mkdtempSync(join(tmpdir(), 'volet-secrets-'));
  const token = sentinel();
  try {
    // The token also names the model file, so the start-up error quotes it.
    const file = join(dir, 'volet.yml');
    writeFileSync(
      file,
      stringify({
        cameras: { porch: { main: 'rtsp://127.0.0.1:9/none' } },
        storage: { path: join(dir, 'storage') },
        detector: { model: join(dir, `${token}.onnx`) },
        web: { host: '127.0.0.1', port: 0 },
        privacy: { intrusion: { token } },
      }),
    );
    const { stdout, stderr } = volet(['-c', file, 'run']);
    assert.match(stdout, /Volet could not start/, stdout + stderr);
    assert.match(stdout, /\*\*\*\.onnx not found/);
    assert.doesNotMatch(stdout + stderr, new RegExp(token));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config errors never quote a secret, whatever is wrong and where', () => {
  const { config, sentinels } = withSentinels(base);
  const messageOf = (text: string): string => {
    try {
      parseConfig(text, 'test.yml', {});
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.message;
    }
    assert.fail('the config should have been refused');
  };
  // Problems next to the secrets: an unknown key and a wrong type in each object that holds one.
  const broken = { ...structuredClone(config), web: { port: 'eighty' } };
  for (const { path } of secretFields()) for (const parent of expand(broken, path.slice(0, -1))) (get(broken, parent) as Json).typo = true;
  const nextTo = messageOf(stringify(broken));
  assert.match(nextTo, /typo: unknown key/);
  assert.deepEqual(leaks(nextTo, sentinels), []);

  // The secret fields themselves invalid: a list instead of a string, a URL with a space in it.
  const invalid = structuredClone(config);
  for (const { path, kind } of secretFields()) {
    for (const parent of expand(invalid, path.slice(0, -1))) {
      const holder = get(invalid, parent) as Json;
      const value = holder[path.at(-1)!];
      if (typeof value === 'string') holder[path.at(-1)!] = kind === 'url' ? `${value} not a url` : [value];
    }
  }
  const invalidMessage = messageOf(stringify(invalid));
  assert.match(invalidMessage, /privacy\.intrusion\.token: must be a string/);
  assert.deepEqual(leaks(invalidMessage, sentinels), []);

  // YAML syntax errors: the parser itself quotes source text in some messages.
  const token = sentinel();
  const yamlLeak = `- cameras\nprivacy: ${token}\n`;
  assert.match(parseDocument(yamlLeak).errors.map((e) => e.message).join('\n'), new RegExp(token), 'the YAML parser quotes the token');
  const yamlMessage = messageOf(yamlLeak);
  assert.doesNotMatch(yamlMessage, new RegExp(token));
  assert.match(yamlMessage, /YAML: .* at line 2, column \d+/, 'the position is still given');
  const alias = messageOf(`privacy:\n  intrusion:\n    token: *${token}\n`);
  assert.doesNotMatch(alias, new RegExp(token));
});

test('volet config check refuses a bad config without printing its secrets', () => {
  const { config, sentinels } = withSentinels(base);
  const dir = mkdtempSync(join(tmpdir(), 'volet-secrets-'));
  try {
    const file = join(dir, 'volet.yml');
    writeFileSync(file, `${stringify(config)}web: { port: eighty }\n`);
    const { stdout, stderr, status } = volet(['-c', file, 'config', 'check', '--print']);
    assert.equal(status, 2);
    assert.match(stderr, /web\.port: must be a number/);
    assert.deepEqual(leaks(stdout + stderr, sentinels), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Key names that hold a credential unless listed below. */
const SECRET_NAME = /password|passphrase|token|secret|key$/i;
/** Keys whose names look secret but whose values are not. */
const NOT_SECRET: Record<string, string> = {
  'web.key': 'a path to the PEM key file, not the key',
  'backup.targets.*.appKey': "Dropbox's app key is a public OAuth client id (it appears in the authorize URL)",
};

function isUrlLike(leaf: SchemaLeaf): boolean {
  const key = leaf.path.at(-1) ?? '';
  const def = leaf.leaf._zod.def as { format?: string; checks?: { _zod: { def: { format?: string; pattern?: RegExp } } }[] };
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  return /url$/i.test(key) || def.format === 'url' || checks.some((c) => c.format === 'url' || (c.pattern && c.pattern.source.includes(':\\/\\/')));
}

/** Fields that should be marked secret (by name, or because they are URLs) but are not. */
function unmarkedSecrets(schema: z.core.$ZodType, exceptions: Record<string, string>): string[] {
  const problems = new Set<string>();
  for (const leaf of schemaLeaves(schema)) {
    const name = leaf.path.join('.');
    if ((leaf.leaf._zod.def as { type: string }).type !== 'string' || name in exceptions) continue;
    if (SECRET_NAME.test(leaf.path.at(-1) ?? '') && !leaf.secret) problems.add(`${name}: named like a secret, not marked`);
    if (isUrlLike(leaf) && leaf.secret !== 'url') problems.add(`${name}: a URL (may carry user:password or ?token=), not marked secretUrl`);
  }
  return [...problems];
}

test('every string field named like a credential, and every URL field, is marked secret', () => {
  assert.deepEqual(unmarkedSecrets(configSchema, NOT_SECRET), []);
});

test('the naming check catches a credential field someone forgot to mark', () => {
  const schema = z.object({
    camera: z.object({ apiToken: z.string(), password: secret(z.string()), url: z.string().url(), stream: z.string().regex(/^rtsp:\/\/.+/) }),
  });
  assert.deepEqual(unmarkedSecrets(schema, {}), [
    'camera.apiToken: named like a secret, not marked',
    'camera.url: a URL (may carry user:password or ?token=), not marked secretUrl',
    'camera.stream: a URL (may carry user:password or ?token=), not marked secretUrl',
  ]);
  const value = { camera: { apiToken: 't', password: 'p', url: 'u', stream: 's' } };
  assert.deepEqual(mapSecrets(schema, value, () => '***'), { camera: { apiToken: 't', password: '***', url: 'u', stream: 's' } }, 'only marked fields are masked');
});
