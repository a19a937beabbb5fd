/**
 * A stand-in for Dropbox API v2 on 127.0.0.1, strict about what the real one checks: an API host
 * (OAuth token endpoint and RPC endpoints, JSON bodies) and a content host (uploads with
 * Dropbox-API-Arg and application/octet-stream bodies, downloads answering in Dropbox-API-Result).
 * Access tokens expire; unknown argument fields, "/" for the root, non-ASCII header bytes and
 * wrong upload-session offsets are refused as Dropbox refuses them. Files live in a temp folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';

export interface DropboxTestServerOptions {
  root: string;
  appKey: string;
  refreshToken: string;
  /** Lifetime of issued access tokens. */
  tokenLifetimeSeconds?: number;
  /** Entries per list_folder page, small to exercise list_folder/continue. */
  pageSize?: number;
}

export interface DropboxTestServer {
  readonly apiBaseUrl: string;
  readonly contentBaseUrl: string;
  /** Every endpoint called, in order ("2/files/upload", "oauth2/token" …). */
  readonly calls: string[];
  /** Upload bytes received so far (all content endpoints). */
  readonly receivedBytes: number;
  /** Makes every access token issued so far expired. */
  expireAccessTokens(): void;
  /** Registers an authorisation code as if the user approved the app (PKCE S256 challenge). */
  issueAuthorizationCode(codeChallenge: string, redirectUri?: string): string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

const BLOCK = 4 * 1024 * 1024;

/** Dropbox content_hash, computed here independently of src/backup. */
async function contentHashOf(path: string): Promise<string> {
  const blockHashes: Buffer[] = [];
  let block = createHash('sha256');
  let fill = 0;
  for await (const chunk of createReadStream(path)) {
    let data = chunk as Buffer;
    while (data.length > 0) {
      const take = Math.min(BLOCK - fill, data.length);
      block.update(data.subarray(0, take));
      fill += take;
      data = data.subarray(take);
      if (fill === BLOCK) {
        blockHashes.push(block.digest());
        block = createHash('sha256');
        fill = 0;
      }
    }
  }
  if (fill > 0) blockHashes.push(block.digest());
  return createHash('sha256').update(Buffer.concat(blockHashes)).digest('hex');
}

class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

const badInput = (endpoint: string, message: string) =>
  new ApiFailure(400, `Error in call to API function "${endpoint}": ${message}`);
const conflict = (summary: string, error: unknown) => new ApiFailure(409, { error_summary: summary, error });
const pathNotFound = () => conflict('path/not_found/.', { '.tag': 'path', path: { '.tag': 'not_found' } });

function checkFields(endpoint: string, arg: unknown, allowed: string[], required: string[] = []): Record<string, unknown> {
  if (typeof arg !== 'object' || arg === null || Array.isArray(arg)) throw badInput(endpoint, 'request body: expected an object');
  const record = arg as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!allowed.includes(key)) throw badInput(endpoint, `unknown field '${key}'`);
  for (const key of required) if (!(key in record)) throw badInput(endpoint, `missing required field '${key}'`);
  return record;
}

function checkPath(endpoint: string, value: unknown, { rootAllowed }: { rootAllowed: boolean }): string {
  if (typeof value !== 'string') throw badInput(endpoint, "'path' must be a string");
  if (value === '/') throw badInput(endpoint, "'path': Specify the root folder as an empty string rather than as \"/\".");
  if (value === '' && !rootAllowed) throw badInput(endpoint, "'path': The root folder is unsupported.");
  if (value !== '' && (!value.startsWith('/') || value.endsWith('/'))) throw badInput(endpoint, `'path': '${value}' did not match pattern`);
  if (value.split('/').some((segment) => segment === '.' || segment === '..')) throw badInput(endpoint, `'path': '${value}' is malformed`);
  return value;
}

function checkCommitMode(endpoint: string, mode: unknown): void {
  const tag = typeof mode === 'string' ? mode : (mode as { '.tag'?: unknown } | undefined)?.['.tag'];
  if (mode !== undefined && tag !== 'add' && tag !== 'overwrite' && tag !== 'update') throw badInput(endpoint, "'mode': unknown tag");
}

const COMMIT_FIELDS = ['path', 'mode', 'autorename', 'client_modified', 'mute', 'property_groups', 'strict_conflict', 'content_hash'];

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startDropboxServer(options: DropboxTestServerOptions): Promise<DropboxTestServer> {
  const sessionsDir = await mkdtemp(join(tmpdir(), 'volet-dropbox-sessions-'));
  const tokens = new Map<string, number>();
  const codes = new Map<string, { challenge: string; redirectUri?: string }>();
  const sessions = new Map<string, { file: string; offset: number; closed: boolean }>();
  const cursors = new Map<string, unknown[]>();
  const calls: string[] = [];
  let receivedBytes = 0;
  let apiServer: Server;
  let contentServer: Server;
  let apiPort = 0;
  let contentPort = 0;
  const pageSize = options.pageSize ?? 3;
  const diskPathOf = (path: string) => join(options.root, ...path.split('/').filter(Boolean));

  const metadataOf = async (path: string) => {
    const info = await stat(diskPathOf(path));
    const name = path.split('/').pop() ?? '';
    if (info.isDirectory()) {
      return { '.tag': 'folder', name, path_lower: path.toLowerCase(), path_display: path, id: `id:${createHash('md5').update(path).digest('hex').slice(0, 16)}` };
    }
    const modified = new Date(Math.floor(info.mtimeMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    return {
      '.tag': 'file',
      name,
      path_lower: path.toLowerCase(),
      path_display: path,
      id: `id:${createHash('md5').update(path).digest('hex').slice(0, 16)}`,
      client_modified: modified,
      server_modified: modified,
      rev: createHash('md5').update(`${path}${info.mtimeMs}`).digest('hex').slice(0, 15),
      size: info.size,
      is_downloadable: true,
      content_hash: await contentHashOf(diskPathOf(path)),
    };
  };

  const exists = async (path: string) => stat(diskPathOf(path)).then(() => true, () => false);

  const authorize = (request: IncomingMessage) => {
    const header = request.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(header)?.[1];
    const expiresAt = token ? tokens.get(token) : undefined;
    if (expiresAt === undefined) throw new ApiFailure(401, { error_summary: 'invalid_access_token/..', error: { '.tag': 'invalid_access_token' } });
    if (Date.now() >= expiresAt) throw new ApiFailure(401, { error_summary: 'expired_access_token/..', error: { '.tag': 'expired_access_token' } });
  };

  const apiArgOf = (endpoint: string, request: IncomingMessage): unknown => {
    const raw = request.headers['dropbox-api-arg'];
    if (typeof raw !== 'string') throw badInput(endpoint, 'Must provide HTTP header "Dropbox-API-Arg" or URL parameter "arg".');
    // Node hands header bytes over as latin1: anything outside printable ASCII arrived unescaped.
    if (/[^\x20-\x7e]/.test(raw)) throw badInput(endpoint, 'HTTP header "Dropbox-API-Arg": could not decode input as JSON');
    try {
      return JSON.parse(raw);
    } catch {
      throw badInput(endpoint, 'HTTP header "Dropbox-API-Arg": could not decode input as JSON');
    }
  };

  const issueToken = () => {
    const token = `sl.${randomBytes(24).toString('hex')}`;
    tokens.set(token, Date.now() + (options.tokenLifetimeSeconds ?? 14_400) * 1000);
    return token;
  };

  const handleToken = async (request: IncomingMessage) => {
    if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      throw new ApiFailure(400, { error: 'invalid_request', error_description: 'Content-Type must be application/x-www-form-urlencoded' });
    }
    const form = new URLSearchParams((await readBody(request)).toString('utf8'));
    if (form.get('client_id') !== options.appKey) throw new ApiFailure(400, { error: 'invalid_client', error_description: 'Invalid client_id' });
    const lifetime = options.tokenLifetimeSeconds ?? 14_400;
    if (form.get('grant_type') === 'refresh_token') {
      if (form.get('refresh_token') !== options.refreshToken) {
        throw new ApiFailure(400, { error: 'invalid_grant', error_description: 'refresh token is invalid or revoked' });
      }
      return { access_token: issueToken(), token_type: 'bearer', expires_in: lifetime };
    }
    if (form.get('grant_type') === 'authorization_code') {
      const code = codes.get(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (!code || code.challenge !== challenge || (code.redirectUri ?? null) !== form.get('redirect_uri')) {
        throw new ApiFailure(400, { error: 'invalid_grant', error_description: 'code doesn\'t exist or has expired' });
      }
      codes.delete(form.get('code') ?? '');
      return {
        access_token: issueToken(),
        token_type: 'bearer',
        expires_in: lifetime,
        refresh_token: options.refreshToken,
        scope: 'files.content.read files.content.write files.metadata.read',
        uid: '12345',
        account_id: 'dbid:volet-test-account',
      };
    }
    throw new ApiFailure(400, { error: 'unsupported_grant_type' });
  };

  const listFolder = async (endpoint: string, arg: unknown) => {
    const record = checkFields(endpoint, arg, [
      'path', 'recursive', 'include_media_info', 'include_deleted', 'include_has_explicit_shared_members',
      'include_mounted_folders', 'limit', 'shared_link', 'include_property_groups', 'include_non_downloadable_files',
    ], ['path']);
    const path = checkPath(endpoint, record.path, { rootAllowed: true });
    if (path !== '' && !(await exists(path))) throw pathNotFound();
    if (path !== '' && (await metadataOf(path))['.tag'] !== 'folder') {
      throw conflict('path/not_folder/..', { '.tag': 'path', path: { '.tag': 'not_folder' } });
    }
    const entries: unknown[] = [];
    if (path !== '' && record.recursive === true) entries.push(await metadataOf(path));
    const walk = async (folder: string) => {
      for (const name of (await readdir(diskPathOf(folder))).sort()) {
        const child = `${folder}/${name}`;
        const metadata = await metadataOf(child);
        entries.push(metadata);
        if (record.recursive === true && metadata['.tag'] === 'folder') await walk(child);
      }
    };
    await walk(path);
    return page(entries);
  };

  const page = (entries: unknown[]) => {
    const cursor = `cursor-${randomBytes(8).toString('hex')}`;
    cursors.set(cursor, entries.slice(pageSize));
    return { entries: entries.slice(0, pageSize), cursor, has_more: entries.length > pageSize };
  };

  const rpc = async (endpoint: string, arg: unknown): Promise<unknown> => {
    switch (endpoint) {
      case 'files/list_folder':
        return listFolder(endpoint, arg);
      case 'files/list_folder/continue': {
        const record = checkFields(endpoint, arg, ['cursor'], ['cursor']);
        const remaining = cursors.get(String(record.cursor));
        if (!remaining) throw conflict('reset/..', { '.tag': 'reset' });
        cursors.delete(String(record.cursor));
        return page(remaining);
      }
      case 'files/get_metadata': {
        const record = checkFields(endpoint, arg, ['path', 'include_media_info', 'include_deleted', 'include_has_explicit_shared_members', 'include_property_groups'], ['path']);
        const path = checkPath(endpoint, record.path, { rootAllowed: false });
        if (!(await exists(path))) throw pathNotFound();
        return metadataOf(path);
      }
      case 'files/delete_v2': {
        const record = checkFields(endpoint, arg, ['path', 'parent_rev'], ['path']);
        const path = checkPath(endpoint, record.path, { rootAllowed: false });
        if (!(await exists(path))) throw conflict('path_lookup/not_found/..', { '.tag': 'path_lookup', path_lookup: { '.tag': 'not_found' } });
        const metadata = await metadataOf(path);
        await rm(diskPathOf(path), { recursive: true });
        return { metadata };
      }
      default:
        throw new ApiFailure(404, 'Unknown API function');
    }
  };

  const commitSession = async (sessionFile: string, commit: Record<string, unknown>, endpoint: string) => {
    const path = checkPath(endpoint, commit.path, { rootAllowed: false });
    checkCommitMode(endpoint, commit.mode);
    const mode = typeof commit.mode === 'string' ? commit.mode : (commit.mode as { '.tag'?: string } | undefined)?.['.tag'] ?? 'add';
    if (mode === 'add' && (await exists(path))) throw conflict('path/conflict/file/..', { '.tag': 'path', reason: { '.tag': 'conflict' } });
    await mkdir(dirname(diskPathOf(path)), { recursive: true });
    await rename(sessionFile, diskPathOf(path));
    return metadataOf(path);
  };

  const receiveInto = async (request: IncomingMessage, file: string): Promise<number> => {
    let count = 0;
    request.on('data', (chunk: Buffer) => {
      count += chunk.length;
      receivedBytes += chunk.length;
    });
    await pipeline(request, createWriteStream(file, { flags: 'a' }));
    return count;
  };

  const content = async (endpoint: string, request: IncomingMessage, response: ServerResponse): Promise<unknown> => {
    const arg = apiArgOf(endpoint, request);
    if (endpoint === 'files/download') {
      const type = request.headers['content-type'];
      if (type !== undefined && type !== '' && type !== 'application/octet-stream') throw badInput(endpoint, `Bad HTTP "Content-Type" header: "${type}".`);
      const record = checkFields(endpoint, arg, ['path', 'rev'], ['path']);
      const path = checkPath(endpoint, record.path, { rootAllowed: false });
      if (!(await exists(path))) throw pathNotFound();
      const metadata = await metadataOf(path);
      if (metadata['.tag'] !== 'file') throw conflict('path/not_file/..', { '.tag': 'path', path: { '.tag': 'not_file' } });
      const result = JSON.stringify(metadata).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Dropbox-API-Result': result, 'Content-Length': String(metadata.size) });
      await pipeline(createReadStream(diskPathOf(path)), response);
      return undefined;
    }
    if (request.headers['content-type'] !== 'application/octet-stream') {
      throw badInput(endpoint, `Bad HTTP "Content-Type" header: "${request.headers['content-type'] ?? ''}". Expecting one of "application/octet-stream", "text/plain; charset=dropbox-cors-hack".`);
    }
    switch (endpoint) {
      case 'files/upload': {
        const record = checkFields(endpoint, arg, COMMIT_FIELDS, ['path']);
        checkPath(endpoint, record.path, { rootAllowed: false });
        checkCommitMode(endpoint, record.mode);
        const file = join(sessionsDir, `upload-${randomBytes(8).toString('hex')}`);
        await receiveInto(request, file);
        return commitSession(file, record, endpoint);
      }
      case 'files/upload_session/start': {
        const record = checkFields(endpoint, arg, ['close', 'session_type', 'content_hash']);
        const id = `pid_upload_session:${randomBytes(12).toString('hex')}`;
        const file = join(sessionsDir, id.replace(/[^a-z0-9]/gi, '_'));
        await writeFile(file, '');
        const session = { file, offset: 0, closed: record.close === true };
        sessions.set(id, session);
        session.offset += await receiveInto(request, file);
        return { session_id: id };
      }
      case 'files/upload_session/append_v2':
      case 'files/upload_session/finish': {
        const finishing = endpoint.endsWith('finish');
        const record = finishing
          ? checkFields(endpoint, arg, ['cursor', 'commit', 'content_hash'], ['cursor', 'commit'])
          : checkFields(endpoint, arg, ['cursor', 'close', 'content_hash'], ['cursor']);
        const cursor = checkFields(endpoint, record.cursor, ['session_id', 'offset'], ['session_id', 'offset']);
        const session = sessions.get(String(cursor.session_id));
        if (!session) throw conflict('lookup_failed/not_found/..', { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'not_found' } });
        if (cursor.offset !== session.offset) {
          throw conflict('lookup_failed/incorrect_offset/..', { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'incorrect_offset', correct_offset: session.offset } });
        }
        if (session.closed && !finishing) throw conflict('lookup_failed/closed/..', { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'closed' } });
        const commit = finishing ? checkFields(endpoint, record.commit, COMMIT_FIELDS, ['path']) : undefined;
        session.offset += await receiveInto(request, session.file);
        if (record.close === true) session.closed = true;
        if (!commit) return null;
        sessions.delete(String(cursor.session_id));
        return commitSession(session.file, commit, endpoint);
      }
      default:
        throw new ApiFailure(404, 'Unknown API function');
    }
  };

  const handler = (host: 'api' | 'content') => async (request: IncomingMessage, response: ServerResponse) => {
    const endpoint = (request.url ?? '').replace(/^\//, '').replace(/\?.*$/, '');
    calls.push(endpoint);
    try {
      if (request.method !== 'POST') throw new ApiFailure(405, 'Method not allowed');
      let result: unknown;
      if (host === 'api' && endpoint === 'oauth2/token') {
        result = await handleToken(request);
      } else if (host === 'api' && endpoint.startsWith('2/')) {
        authorize(request);
        if (request.headers['content-type'] !== 'application/json') {
          throw badInput(endpoint.slice(2), `Bad HTTP "Content-Type" header: "${request.headers['content-type'] ?? ''}". Expecting one of "application/json".`);
        }
        let arg: unknown;
        try {
          arg = JSON.parse((await readBody(request)).toString('utf8'));
        } catch {
          throw badInput(endpoint.slice(2), 'request body: could not decode input as JSON');
        }
        result = await rpc(endpoint.slice(2), arg);
      } else if (host === 'content' && endpoint.startsWith('2/')) {
        authorize(request);
        result = await content(endpoint.slice(2), request, response);
        if (response.headersSent) return;
      } else {
        throw new ApiFailure(404, `Unknown endpoint ${endpoint} on the ${host} host`);
      }
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(result));
    } catch (error) {
      if (response.headersSent) return void response.destroy();
      request.resume();
      if (error instanceof ApiFailure) {
        const json = typeof error.body !== 'string';
        response
          .writeHead(error.status, { 'Content-Type': json ? 'application/json' : 'text/plain; charset=utf-8' })
          .end(json ? JSON.stringify(error.body) : error.body);
      } else {
        response.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(error));
      }
    }
  };

  const listen = async (server: Server, port: number) => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  };
  const start = async () => {
    await mkdir(sessionsDir, { recursive: true });
    apiServer = createServer(handler('api'));
    contentServer = createServer(handler('content'));
    apiPort = await listen(apiServer, apiPort);
    contentPort = await listen(contentServer, contentPort);
  };
  await start();

  return {
    get apiBaseUrl() {
      return `http://127.0.0.1:${apiPort}`;
    },
    get contentBaseUrl() {
      return `http://127.0.0.1:${contentPort}`;
    },
    calls,
    get receivedBytes() {
      return receivedBytes;
    },
    expireAccessTokens() {
      for (const token of tokens.keys()) tokens.set(token, 0);
    },
    issueAuthorizationCode(codeChallenge, redirectUri) {
      const code = randomBytes(12).toString('hex');
      codes.set(code, { challenge: codeChallenge, ...(redirectUri ? { redirectUri } : {}) });
      return code;
    },
    async stop() {
      for (const server of [apiServer, contentServer]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      sessions.clear();
      await rm(sessionsDir, { recursive: true, force: true });
    },
    restart: start,
  };
}

