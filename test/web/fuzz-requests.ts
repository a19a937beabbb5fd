/**
 * Malformed HTTP requests, WebSocket upgrades and WebSocket frames as fast-check arbitraries, and a
 * raw TCP client that sends them byte for byte (nothing normalised, nothing validated on our side).
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';

/** What goes over one TCP connection: `head` at once, `later` pieces after `delayMs` each, then our side is closed. */
export interface RawExchange {
  label: string;
  head: Buffer;
  later: Buffer[];
  delayMs: number;
  /** Send `later` only once the server answered the head (frames after a 101). */
  afterResponse?: boolean;
}

export interface ExchangeResult {
  statuses: number[];
  refused: boolean;
  timedOut: boolean;
}

/** An exchange that fast-check prints as its label (a counterexample stays readable). */
function named(label: string, parts: Omit<RawExchange, 'label'>): RawExchange {
  const short = label.length > 400 ? `${label.slice(0, 400)}…` : label;
  return { label: short, ...parts, [fc.toStringMethod]: () => short } as RawExchange;
}

const STATUS_LINE = /(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g;

/** Sends one exchange and reads until the server closes (or `timeoutMs`). */
export function exchange(port: number, x: RawExchange, timeoutMs = 4000): Promise<ExchangeResult> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let refused = false;
    let timedOut = false;
    let laterSent = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, timeoutMs);
    const sendLater = async () => {
      if (laterSent) return;
      laterSent = true;
      for (const piece of x.later) {
        if (x.delayMs > 0) await new Promise((r) => setTimeout(r, x.delayMs));
        if (socket.destroyed) return;
        socket.write(piece);
      }
      if (!socket.destroyed) socket.end();
    };
    socket.on('connect', () => {
      socket.write(x.head);
      if (!x.afterResponse) void sendLater();
    });
    socket.on('data', (d) => {
      received.push(d);
      if (x.afterResponse && Buffer.concat(received).includes('\r\n\r\n')) void sendLater();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') refused = true;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(received).toString('latin1');
      const statuses = [...text.matchAll(STATUS_LINE)].map((m) => Number(m[1]));
      resolve({ statuses, refused, timedOut });
    });
  });
}

export const KNOWN_PATHS = [
  '/',
  '/index.html',
  '/app.js',
  '/sw.js',
  '/manifest.webmanifest',
  '/api/setup',
  '/api/auth/login',
  '/api/auth/totp',
  '/api/me',
  '/api/users',
  '/api/users/alice',
  '/api/cameras',
  '/api/cameras/porch/shutter',
  '/api/vault',
  '/api/vault/unlock',
  '/api/events',
  '/api/events/abc',
  '/api/events/abc/clip',
  '/api/events/abc/snapshot',
  '/api/storage',
  '/api/audit',
  '/api/backup',
  '/api/health',
  '/api/notifications/subscriptions',
  '/api/privacy/presence',
  '/api/privacy/intrusion',
  '/ws/events',
  '/ws/live/porch',
  '/ws/mpeg1/porch',
  '/ws/live/nosuch',
];

const WEIRD_PATHS = [
  '//',
  '///',
  '////ws/events',
  '//ws/live/porch',
  '/%zz',
  '/%',
  '/%00',
  '/%E0%A4%A',
  '/%C0%AE%C0%AE/',
  '/api/%zz',
  '/api/events/%zz/clip',
  '/ws/live/%zz',
  '/ws/live/..%2f..%2fetc',
  '*',
  '',
  '?',
  'http://volet//',
  'http://[::1',
  'volet',
  '/ws/events/..',
  '/../../etc/passwd',
  '/\u00e9\u2603\ud83d\udcf7',
  '/a\u0000b',
  '/api/events?limit=%zz&limit=1&limit[]=x&from=1e400',
  '/api/events?camera[$ne]=x&__proto__[admin]=1',
  `/${'a'.repeat(9000)}`,
  `/ws/live/${'p'.repeat(5000)}`,
  `/?${'a=1&'.repeat(3000)}`,
];

const pathArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KNOWN_PATHS) },
  { weight: 3, arbitrary: fc.constantFrom(...WEIRD_PATHS) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('', '/', '//', '/./', '/%2f'), fc.constantFrom(...KNOWN_PATHS), fc.constantFrom('', '/', '//', '?', '?%zz', '#x', ';x', '%', '%00'))
      .map(([a, p, b]) => a + p + b),
  },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...KNOWN_PATHS), fc.string({ unit: 'binary', maxLength: 24 })).map(([p, s]) => p + s) },
);

const methodArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS') },
  { weight: 1, arbitrary: fc.constantFrom('TRACE', 'CONNECT', 'PRI', 'PROPFIND', 'get', 'G E T', '', 'M'.repeat(300), 'GET\u0000') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 12 }) },
);

const versionArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
  { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/9.9', '', 'HTTP/1.1 x', 'http/1.1', 'HTTP/1.1\u0000') },
);

export const sessionCookieArb = fc.oneof(
  fc.constantFrom(
    'volet_session=%zz',
    '__Host-volet_session=%zz',
    'volet_session=%',
    'volet_session=%E0%A4%A',
    'volet_session=',
    'volet_session',
    '=',
    ';;;',
    '=%zz; ==; ;=;',
    'volet_session=a; volet_session=%zz; volet_session=b',
    'volet_session="%zz"',
    'volet_session=\u00e9\u2603',
    `volet_session=${'x'.repeat(20_000)}`,
    Array.from({ length: 2000 }, (_, i) => `c${i}=%zz`).join('; '),
    '__proto__=%zz; constructor=x; volet_session=%zz',
  ),
  fc.string({ unit: 'binary', maxLength: 60 }).map((s) => `volet_session=${s}`),
);

const headerArb: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant('Cookie'), sessionCookieArb),
  fc.tuple(
    fc.constant('Content-Type'),
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-16',
      'application/json; charset=bogus',
      'application/json; charset="',
      'text/plain',
      'multipart/form-data; boundary=',
      'application/x-www-form-urlencoded',
      '*/*',
      ';;;',
      'application/json\u0000',
    ),
  ),
  fc.tuple(fc.constant('Content-Encoding'), fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-bogus', 'gzip, gzip', 'gzip, identity, br', '')),
  fc.tuple(fc.constant('Transfer-Encoding'), fc.constantFrom('chunked', 'gzip', 'chunked, chunked', 'x-bogus', 'identity', ' chunked')),
  fc.tuple(fc.constant('Content-Length'), fc.constantFrom('-1', 'abc', '1e3', ' 5', '99999999999999999999', '0x10', '5, 6', '')),
  fc.tuple(fc.constantFrom('Origin', 'Sec-Fetch-Site'), fc.constantFrom('null', 'http://evil.example', 'http://127.0.0.1', '%zz', 'cross-site', 'same-site', ':::')),
  fc.tuple(fc.constantFrom('X-Forwarded-For', 'Forwarded', 'X-Real-IP'), fc.constantFrom('::::', '999.1.1.1', 'unknown, , ,', `${'1.'.repeat(3000)}1`)),
  fc.tuple(fc.constant('Authorization'), fc.constantFrom('Bearer', 'Bearer ', 'Bearer %zz', `Bearer ${'t'.repeat(600)}`, 'Basic %%%', 'Bearer a b c', 'Digest x')),
  fc.tuple(fc.constant('Range'), fc.constantFrom('bytes=', 'bytes=-', 'bytes=9-1', 'bytes=0-1,2-3', 'bytes=99999999999999999999-', 'pages=1')),
  fc.tuple(fc.constantFrom('X-CSRF-Token', 'Accept', 'Accept-Encoding', 'If-None-Match', 'If-Modified-Since', 'Expect'), fc.constantFrom('%zz', '', '*', '100-continue', 'x'.repeat(8000), 'Thu, 99 Zzz')),
  fc.tuple(fc.string({ unit: 'binary-ascii', maxLength: 16 }), fc.string({ unit: 'binary', maxLength: 80 })),
);

const bodyArb = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '{"a":',
    '{"state":',
    'null',
    '[]',
    '"x"',
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"admin":true}}}',
    '\u0000',
    '\ufeff{}',
    `${'['.repeat(5000)}${']'.repeat(5000)}`,
    `{"a":"${'x'.repeat(70_000)}"}`,
    `{"a":"${'x'.repeat(5_000)}"}`,
  ),
  fc.json({ maxDepth: 3 }),
  fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b).toString('latin1')),
);

const GZIP_BOMB = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20)); // 8 MB of spaces in about 8 KB

type BodyFraming = 'length' | 'none' | 'short' | 'long' | 'chunked' | 'bad-chunks' | 'gzip' | 'gzip-bomb';

interface HttpShape {
  method: string;
  path: string;
  version: string;
  host: 'ok' | 'missing' | 'twice' | 'garbage';
  headers: [string, string][];
  body: string;
  framing: BodyFraming;
  delivery: 'whole' | 'truncated' | 'slow';
  cut: number;
}

/** Builds the bytes of a (mal)formed request; `extraHeaders` come first (e.g. a real session cookie). */
function render(s: HttpShape, extraHeaders: [string, string][] = []): { head: Buffer; later: Buffer[]; delayMs: number } {
  let body = Buffer.from(s.body, 'latin1');
  const headers: [string, string][] = [...extraHeaders];
  if (s.host === 'ok') headers.push(['Host', '127.0.0.1']);
  if (s.host === 'twice') headers.push(['Host', '127.0.0.1'], ['Host', 'evil.example']);
  if (s.host === 'garbage') headers.push(['Host', '%zz:99999']);
  headers.push(...s.headers);
  switch (s.framing) {
    case 'length':
      headers.push(['Content-Length', String(body.length)]);
      break;
    case 'short':
      headers.push(['Content-Length', String(Math.max(0, body.length - 3))]);
      break;
    case 'long':
      headers.push(['Content-Length', String(body.length + 50)]);
      break;
    case 'chunked':
      headers.push(['Transfer-Encoding', 'chunked']);
      body = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
      break;
    case 'bad-chunks':
      headers.push(['Transfer-Encoding', 'chunked']);
      body = Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\nffffffffffffffffff\r\n')]);
      break;
    case 'gzip':
      headers.push(['Content-Encoding', 'gzip'], ['Content-Type', 'application/json']);
      body = gzipSync(body);
      headers.push(['Content-Length', String(body.length)]);
      break;
    case 'gzip-bomb':
      headers.push(['Content-Encoding', 'gzip'], ['Content-Type', 'application/json']);
      body = GZIP_BOMB;
      headers.push(['Content-Length', String(body.length)]);
      break;
    case 'none':
      break;
  }
  const head = Buffer.from(`${s.method} ${s.path} ${s.version}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, 'utf8');
  const all = Buffer.concat([head, body]);
  if (s.delivery === 'truncated') return { head: all.subarray(0, Math.floor(all.length * s.cut)), later: [], delayMs: 0 };
  if (s.delivery === 'slow') {
    const pieces: Buffer[] = [];
    const size = Math.max(1, Math.ceil(all.length / 4));
    for (let i = size; i < all.length; i += size) pieces.push(all.subarray(i, i + size));
    return { head: all.subarray(0, size), later: pieces, delayMs: 15 };
  }
  return { head: all, later: [], delayMs: 0 };
}

const shapeArb: fc.Arbitrary<HttpShape> = fc.record({
  method: methodArb,
  path: pathArb,
  version: versionArb,
  host: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'missing', 'twice', 'garbage'),
  headers: fc.array(headerArb, { maxLength: 6 }),
  body: bodyArb,
  framing: fc.constantFrom<BodyFraming>('length', 'length', 'length', 'none', 'short', 'long', 'chunked', 'bad-chunks', 'gzip', 'gzip-bomb'),
  delivery: fc.constantFrom<HttpShape['delivery']>('whole', 'whole', 'whole', 'whole', 'whole', 'whole', 'truncated', 'slow'),
  cut: fc.double({ min: 0, max: 1, noNaN: true }),
});

const describe = (s: Pick<HttpShape, 'method' | 'path'>, framing = '') => `${JSON.stringify(s.method)} ${JSON.stringify(s.path.slice(0, 120))} ${framing}`;

/** Unauthenticated requests of every kind; a few are pure random bytes. */
export const malformedRequestArb: fc.Arbitrary<RawExchange> = fc.oneof(
  { weight: 20, arbitrary: shapeArb.map((s) => named(`http ${describe(s, `${s.framing}/${s.delivery}`)} ${JSON.stringify(s.headers)}`, render(s))) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((b) => named(`raw bytes ${Buffer.from(b).toString('hex').slice(0, 80)}`, { head: Buffer.from(b), later: [], delayMs: 0 })) },
);

/** Requests carrying a real session (cookie and CSRF token) with malformed bodies and queries: every route's parsing is reached. */
export function signedInRequestArb(cookie: string, csrf: string): fc.Arbitrary<RawExchange> {
  // Routes whose handlers must only ever see bad input here (nothing that signs out, locks or sends).
  const paths = [
    '/api/cameras/porch/shutter',
    '/api/vault/unlock',
    '/api/users',
    '/api/users/alice',
    '/api/events/abc/kept',
    '/api/auth/totp/enable',
    '/api/auth/password',
    '/api/privacy/presence',
    '/api/notifications/subscriptions',
    '/api/events?limit=%zz',
    '/api/events?from=-1&to=1e999&camera=%00',
    '/api/events/abc/clip?download=%zz',
    '/api/events/%zz/snapshot?kind[]=crop',
    '/api/audit?limit=0x10&action=%zz',
    '/api/cameras',
    '/api/storage',
  ];
  const badBody = fc.oneof(
    fc.constantFrom('{', '{"state":', '{"state":"closed"', '[', '\u0000', `{"a":"${'x'.repeat(70_000)}"}`, `${'['.repeat(5000)}`),
    fc.uint8Array({ maxLength: 300 }).map((b) => `{${Buffer.from(b).toString('latin1')}`),
  );
  return fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
      path: fc.constantFrom(...paths),
      body: badBody,
      csrf: fc.constantFrom(csrf, csrf, '', '%zz', `${csrf}x`),
      contentType: fc.constantFrom('application/json', 'application/json; charset=utf-16', 'application/json; charset=bogus', 'application/json', 'text/plain'),
      framing: fc.constantFrom<BodyFraming>('length', 'length', 'chunked', 'bad-chunks', 'gzip', 'short', 'long'),
      delivery: fc.constantFrom<HttpShape['delivery']>('whole', 'whole', 'whole', 'truncated', 'slow'),
      cut: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map((r) => {
      // A GET to a mutating path with a broken body stays harmless; a body of valid JSON never goes out.
      const shape: HttpShape = { ...r, version: 'HTTP/1.1', host: 'ok', headers: [['Content-Type', r.contentType]] };
      return named(`signed-in ${describe(r, `${r.framing}/${r.delivery}`)} body ${JSON.stringify(r.body.slice(0, 60))}`, render(shape, [['Cookie', cookie], ['X-CSRF-Token', r.csrf]]));
    });
}

const wsKey = () => randomBytes(16).toString('base64');

/** WebSocket upgrades to every path with good and bad keys, versions, cookies and origins. */
export function upgradeArb(validCookie: string): fc.Arbitrary<RawExchange> {
  return fc
    .record({
      method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'HEAD', 'PUT'),
      path: pathArb,
      connection: fc.constantFrom('Upgrade', 'upgrade', 'keep-alive, Upgrade', 'close, upgrade', 'Upgrade, Upgrade'),
      upgrade: fc.constantFrom('websocket', 'WebSocket', 'h2c', 'websocket, h2c', '%zz', ''),
      key: fc.constantFrom('good', 'good', 'good', 'missing', 'empty', 'short', 'long', 'twice', 'garbage'),
      version: fc.constantFrom('13', '13', '13', '8', 'abc', '13, 8', '', 'missing', '99999999999999999999'),
      cookie: fc.oneof({ weight: 1, arbitrary: fc.constant(validCookie) }, { weight: 3, arbitrary: sessionCookieArb }, { weight: 1, arbitrary: fc.constant('') }),
      origin: fc.constantFrom('', '', 'http://127.0.0.1', 'http://evil.example', 'null', '%zz', '::'),
      extensions: fc.constantFrom('', '', 'permessage-deflate', 'permessage-deflate; client_max_window_bits=99', 'x-bogus;;;', '%zz'),
      protocol: fc.constantFrom('', '', 'chat, chat', ',,,', '\u00e9'),
      extra: fc.array(headerArb, { maxLength: 2 }),
    })
    .map((u) => {
      const lines: [string, string][] = [['Host', '127.0.0.1'], ['Connection', u.connection], ['Upgrade', u.upgrade]];
      const key = { good: wsKey(), empty: '', short: 'abc', long: 'k'.repeat(1000), garbage: '%zz===', missing: undefined, twice: wsKey() }[u.key];
      if (key !== undefined) lines.push(['Sec-WebSocket-Key', key]);
      if (u.key === 'twice') lines.push(['Sec-WebSocket-Key', wsKey()]);
      if (u.version !== 'missing') lines.push(['Sec-WebSocket-Version', u.version]);
      if (u.cookie) lines.push(['Cookie', u.cookie]);
      if (u.origin) lines.push(['Origin', u.origin]);
      if (u.extensions) lines.push(['Sec-WebSocket-Extensions', u.extensions]);
      if (u.protocol) lines.push(['Sec-WebSocket-Protocol', u.protocol]);
      lines.push(...u.extra);
      const head = Buffer.from(`${u.method} ${u.path} HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, 'utf8');
      const signedIn = u.cookie === validCookie ? ' signed-in' : '';
      return named(`upgrade${signedIn} ${describe(u)} key=${u.key} version=${u.version} cookie=${JSON.stringify(u.cookie.slice(0, 60))}`, { head, later: [], delayMs: 0 });
    });
}

interface FrameShape {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  length: 'exact' | 'short' | 'long' | 'huge';
  payload: Uint8Array;
}

/** One WebSocket frame, honest or lying about itself. */
function frameBytes(f: FrameShape): Buffer {
  const payload = Buffer.from(f.payload);
  const declared = f.length === 'short' ? Math.max(0, payload.length - 1) : f.length === 'long' ? payload.length + 100 : payload.length;
  const parts: Buffer[] = [Buffer.from([(f.fin ? 0x80 : 0) | (f.rsv << 4) | f.opcode])];
  const mask = f.masked ? 0x80 : 0;
  if (f.length === 'huge') {
    const len = Buffer.alloc(9);
    len[0] = mask | 127;
    len.writeBigUInt64BE(0x7fff_ffff_ffff_ffffn, 1);
    parts.push(len);
  } else if (declared < 126) {
    parts.push(Buffer.from([mask | declared]));
  } else if (declared < 65536) {
    const len = Buffer.alloc(3);
    len[0] = mask | 126;
    len.writeUInt16BE(declared, 1);
    parts.push(len);
  } else {
    const len = Buffer.alloc(9);
    len[0] = mask | 127;
    len.writeBigUInt64BE(BigInt(declared), 1);
    parts.push(len);
  }
  if (f.masked) {
    const key = randomBytes(4);
    parts.push(key, Buffer.from(payload.map((b, i) => b ^ key[i % 4])));
  } else {
    parts.push(payload);
  }
  return Buffer.concat(parts);
}

const frameArb: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        fin: fc.boolean(),
        rsv: fc.constantFrom(0, 0, 0, 1, 4, 7),
        opcode: fc.constantFrom(0, 1, 1, 2, 2, 3, 7, 8, 8, 9, 10, 11, 15),
        masked: fc.constantFrom(true, true, true, false),
        length: fc.constantFrom<FrameShape['length']>('exact', 'exact', 'exact', 'short', 'long', 'huge'),
        payload: fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.constantFrom(
            Uint8Array.from([0xc3, 0x28]), // invalid UTF-8
            Uint8Array.from([0x03, 0xe7]), // close code 999
            Uint8Array.from([0x03]), // 1-byte close payload
            Uint8Array.from([0x13, 0x88, 0xff]), // close 5000 + bad reason
            new Uint8Array(5000), // over maxPayload
            new Uint8Array(70_000),
          ),
        ),
      })
      .map(frameBytes),
  },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 400 }).map((b) => Buffer.from(b)) },
);

/** A valid, signed-in upgrade followed by a few (mostly malformed) frames sent after the 101. */
export function websocketFramesArb(cookie: string): fc.Arbitrary<RawExchange> {
  return fc
    .record({
      path: fc.constantFrom('/ws/events', '/ws/events', '/ws/events', '/ws/events', '/ws/live/porch'),
      frames: fc.array(frameArb, { minLength: 1, maxLength: 5 }),
      delayMs: fc.constantFrom(0, 0, 5, 20),
    })
    .map((w) => {
      const key = wsKey();
      const head = Buffer.from(
        `GET ${w.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: ${key}\r\n` +
          `Sec-WebSocket-Version: 13\r\nCookie: ${cookie}\r\n\r\n`,
      );
      const summary = w.frames.map((f) => f.subarray(0, 12).toString('hex')).join(' ');
      return named(`frames on ${w.path}: ${summary}`, { head, later: w.frames, delayMs: w.delayMs, afterResponse: true });
    });
}

