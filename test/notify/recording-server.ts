import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Captured {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ScriptedReply {
  status: number;
  headers?: Record<string, string>;
}

/**
 * A loopback HTTP server standing in for ntfy, Gotify or any host Volet must (or must not) reach:
 * it records every request and answers from a script (then 200).
 */
export class RecordingServer {
  readonly requests: Captured[] = [];
  readonly script: (number | ScriptedReply)[] = [];

  private constructor(
    private readonly server: Server,
    /** http://127.0.0.1:<port> */
    readonly origin: string,
  ) {}

  /** host:port, as notifications.allowedHosts takes it. */
  get host(): string {
    return new URL(this.origin).host;
  }

  static async start(): Promise<RecordingServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const recorder = new RecordingServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        recorder.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
        const next = recorder.script.shift() ?? 200;
        const reply = typeof next === 'number' ? { status: next } : next;
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end('{}');
      });
    });
    return recorder;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
