import { createECDH, createPublicKey, randomBytes, randomUUID, verify, type ECDH } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
// http_ece has no type declarations; this is the part of its API the stand-in uses.
// @ts-expect-error untyped CommonJS module
import ece from 'http_ece';

const decryptEce = (ece as { decrypt: (body: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: Buffer }) => Buffer }).decrypt;

/** A browser's side of one subscription: what the server is given, and the private key it is not. */
export interface TestSubscription {
  id: string;
  /** PushSubscription.toJSON() as a browser would send it. */
  json: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
}

/** A push the stand-in accepted (2xx) after checking VAPID and decrypting the body. */
export interface ReceivedPush {
  id: string;
  headers: IncomingHttpHeaders;
  /** The encrypted request body exactly as it arrived. */
  body: Buffer;
  /** What the browser's service worker would get. */
  plaintext: string;
  vapid: { publicKey: string; claims: { aud: string; exp: number; sub: string } };
  receivedAt: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** Never answer (to exercise client timeouts). */
  hang?: boolean;
}

interface Client {
  ecdh: ECDH;
  authSecret: Buffer;
}

/**
 * Stand-in for a browser vendor's push service on 127.0.0.1 (RFC 8030 + RFC 8292 VAPID + RFC 8291):
 * POST /push/<id> must carry `Authorization: vapid t=<JWT>, k=<key>` with a valid ES256 signature,
 * `aud` = this origin, `exp` in the future and ≤ 24 h away, `sub` mailto:/https:, a TTL header, and
 * an aes128gcm body that decrypts with the subscription's private key. Failures answer 400/401 and
 * land in `rejected`; tests assert it stays empty.
 */
export class PushServiceStandIn {
  readonly received: ReceivedPush[] = [];
  readonly rejected: { id: string; reason: string }[] = [];
  /** Every request with the status it was answered, in order. */
  readonly requests: { id: string; status: number | 'hang' }[] = [];
  private readonly clients = new Map<string, Client>();
  private readonly queued = new Map<string, Reply[]>();
  private readonly fixed = new Map<string, Reply>();
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  private readonly hanging = new Set<import('node:http').ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  /** Listens on `host` (default 127.0.0.1; any 127.x.y.z is loopback too). */
  static async start(host = '127.0.0.1'): Promise<PushServiceStandIn> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const { port } = server.address() as AddressInfo;
    const service = new PushServiceStandIn(server, `http://${host}:${port}`);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => service.handle(req.method ?? '', req.url ?? '', req.headers, Buffer.concat(chunks), res));
    });
    return service;
  }

  /** A new browser subscription: P-256 key pair and 16-byte auth secret, like PushManager.subscribe(). */
  subscribe(): TestSubscription {
    const id = randomUUID();
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const authSecret = randomBytes(16);
    this.clients.set(id, { ecdh, authSecret });
    return {
      id,
      json: {
        endpoint: `${this.origin}/push/${id}`,
        expirationTime: null,
        keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') },
      },
    };
  }

  /** Answers the next requests for `id` with these replies, in order, then 201 again. */
  queueReplies(id: string, ...replies: (number | Reply)[]): void {
    this.queued.set(id, [...(this.queued.get(id) ?? []), ...replies.map((r) => (typeof r === 'number' ? { status: r } : r))]);
  }

  /** Answers every request for `id` this way (undefined: back to 201). */
  setReply(id: string, reply: number | Reply | undefined): void {
    if (reply === undefined) this.fixed.delete(id);
    else this.fixed.set(id, typeof reply === 'number' ? { status: reply } : reply);
  }

  receivedBy(id: string): ReceivedPush[] {
    return this.received.filter((push) => push.id === id);
  }

  /** Resolves when `count` pushes in total have been accepted. */
  waitForReceived(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(
    method: string,
    url: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
    res: import('node:http').ServerResponse,
  ): void {
    const match = /^\/push\/([0-9a-f-]+)$/.exec(url);
    const id = match?.[1] ?? '';
    const client = this.clients.get(id);
    if (method !== 'POST' || !client) {
      this.requests.push({ id, status: 404 });
      res.writeHead(404).end();
      return;
    }
    const reply = this.queued.get(id)?.shift() ?? this.fixed.get(id);
    if (reply?.hang) {
      this.requests.push({ id, status: 'hang' });
      this.hanging.add(res);
      return;
    }
    if (reply && (reply.status < 200 || reply.status > 299)) {
      this.requests.push({ id, status: reply.status });
      res.writeHead(reply.status, reply.headers).end();
      return;
    }
    try {
      const vapid = this.checkVapid(headers.authorization);
      if (headers['content-encoding'] !== 'aes128gcm') throw new Rejection(400, `Content-Encoding ${headers['content-encoding']}`);
      if (!/^\d+$/.test(String(headers.ttl ?? ''))) throw new Rejection(400, 'missing TTL');
      let plaintext: string;
      try {
        plaintext = decryptEce(body, { version: 'aes128gcm', privateKey: client.ecdh, authSecret: client.authSecret }).toString('utf8');
      } catch (err) {
        throw new Rejection(400, `cannot decrypt: ${(err as Error).message}`);
      }
      this.received.push({ id, headers, body, plaintext, vapid, receivedAt: performance.now() });
      this.requests.push({ id, status: 201 });
      res.writeHead(201, { location: `${this.origin}/message/${randomUUID()}` }).end();
      for (const waiter of [...this.waiters]) {
        if (this.received.length >= waiter.count) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    } catch (err) {
      const status = err instanceof Rejection ? err.status : 500;
      this.rejected.push({ id, reason: (err as Error).message });
      this.requests.push({ id, status });
      res.writeHead(status).end((err as Error).message);
    }
  }

  /** RFC 8292: `vapid t=<JWT>, k=<base64url uncompressed P-256 public key>`, JWT signed ES256 by k. */
  private checkVapid(authorization: string | undefined): ReceivedPush['vapid'] {
    const match = /^vapid t=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
    if (!match) throw new Rejection(401, 'missing or malformed vapid Authorization');
    const [, jwt, k] = match;
    const [headerPart, claimsPart, signaturePart] = jwt.split('.');
    const point = Buffer.from(k, 'base64url');
    if (point.length !== 65 || point[0] !== 0x04) throw new Rejection(401, 'k is not an uncompressed P-256 point');
    const key = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
      format: 'jwk',
    });
    const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as { alg?: string };
    if (header.alg !== 'ES256') throw new Rejection(401, `JWT alg ${header.alg}`);
    const signature = Buffer.from(signaturePart, 'base64url');
    const signed = Buffer.from(`${headerPart}.${claimsPart}`);
    if (signature.length !== 64 || !verify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, signature)) {
      throw new Rejection(401, 'bad JWT signature');
    }
    const claims = JSON.parse(Buffer.from(claimsPart, 'base64url').toString('utf8')) as { aud: string; exp: number; sub: string };
    if (claims.aud !== this.origin) throw new Rejection(401, `aud ${claims.aud} is not ${this.origin}`);
    const nowSeconds = Math.floor(Date.now() / 1000);
    if (!(claims.exp > nowSeconds && claims.exp <= nowSeconds + 24 * 3600)) throw new Rejection(401, `exp ${claims.exp} out of range`);
    if (!/^(mailto:|https:)/.test(claims.sub ?? '')) throw new Rejection(401, `sub ${claims.sub} is not mailto:/https:`);
    return { publicKey: k, claims };
  }
}

class Rejection extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
