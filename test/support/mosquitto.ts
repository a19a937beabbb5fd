/**
 * A real mosquitto on loopback (127.0.0.1 unless told) for tests: a free port, a password file (mosquitto_passwd), an ACL,
 * and optionally a TLS listener whose certificate is signed by a CA generated here with openssl.
 * No persistence: a broker killed and restarted has forgotten every retained message. Runs under
 * setpriv --pdeathsig, so it dies with the test process, and is killed on exit too.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';

export interface MosquittoOptions {
  /** user name → password */
  users: Record<string, string>;
  /** mosquitto ACL lines (`user x`, `topic readwrite volet/#`…). */
  acl: string[];
  tls?: boolean;
  /** A loopback address to listen on (default 127.0.0.1). */
  host?: string;
}

export interface Mosquitto {
  host: string;
  port: number;
  url: string;
  /** Set with `tls`: the mqtts:// listener and the CA that signed its certificate. */
  tlsUrl?: string;
  caPath?: string;
  /** Stops it at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same ports after kill(). */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing is read or acknowledged (a hung broker); thaw() resumes it. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
  log(): string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startMosquitto(options: MosquittoOptions): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'volet-mosquitto-'));
  const host = options.host ?? '127.0.0.1';
  const port = await freePort(host);
  const tlsPort = options.tls ? await freePort(host) : undefined;
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '', { mode: 0o600 });
  for (const [user, password] of Object.entries(options.users)) execFileSync('mosquitto_passwd', ['-b', passwd, user, password]);
  writeFileSync(join(dir, 'acl'), `${options.acl.join('\n')}\n`, { mode: 0o600 });
  const conf = [
    'per_listener_settings false',
    'allow_anonymous false',
    `password_file ${passwd}`,
    `acl_file ${join(dir, 'acl')}`,
    'persistence false',
    // Run as whoever runs the tests: as root, mosquitto would switch to a user that cannot read the temp dir.
    `user ${userInfo().username}`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    `listener ${port} ${host}`,
  ];
  let caPath: string | undefined;
  if (tlsPort !== undefined) {
    caPath = generateCertificates(dir);
    conf.push(`listener ${tlsPort} ${host}`, `cafile ${caPath}`, `certfile ${join(dir, 'server.crt')}`, `keyfile ${join(dir, 'server.key')}`);
  }
  writeFileSync(join(dir, 'mosquitto.conf'), `${conf.join('\n')}\n`);

  let child: ChildProcess | undefined;
  let output = '';
  const launch = async () => {
    const started = spawn('setpriv', ['--pdeathsig', 'KILL', '--', '/usr/sbin/mosquitto', '-c', join(dir, 'mosquitto.conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(started);
    started.on('exit', () => live.delete(started));
    started.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    started.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    child = started;
    await waitForPort(host, port, started, () => output);
    if (tlsPort !== undefined) await waitForPort(host, tlsPort, started, () => output);
  };
  const killNow = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await within(
      new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGKILL');
      }),
      'mosquitto to exit',
    );
  };
  await launch();
  return {
    host,
    port,
    url: `mqtt://${host}:${port}`,
    tlsUrl: tlsPort !== undefined ? `mqtts://${host}:${tlsPort}` : undefined,
    caPath,
    kill: killNow,
    restart: launch,
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
    async stop() {
      await killNow();
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}

/** A CA, and a server certificate for 127.0.0.1 signed by it; returns the CA's path. */
function generateCertificates(dir: string): string {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=Volet test CA', '-keyout', 'ca.key', '-out', 'ca.crt');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.crt');
  return join(dir, 'ca.crt');
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(host: string, port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited (${child.exitCode}):\n${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, host);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${host}:${port}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A test's own MQTT client (Home Assistant's side): records every message it receives. */
export interface Watcher {
  client: MqttClient;
  messages: Array<{ topic: string; payload: Buffer; retain: boolean; at: number }>;
  /** The latest payload seen on a topic, as text. */
  last(topic: string): string | undefined;
  publish(topic: string, payload: string, retain?: boolean): Promise<void>;
  close(): Promise<void>;
}

export async function watch(url: string, auth: { username: string; password: string }, filters: string[], extra: { ca?: Buffer } = {}): Promise<Watcher> {
  const client = connect(url, { ...auth, reconnectPeriod: 200, clientId: `watcher-${Math.random().toString(16).slice(2)}`, ...(extra.ca ? { ca: extra.ca } : {}) });
  const messages: Watcher['messages'] = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload, retain: packet.retain, at: Date.now() }));
  await within(
    new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    }),
    `the test client to connect to ${url}`,
  ).catch((err: unknown) => {
    client.end(true);
    throw err;
  });
  await within(client.subscribeAsync(filters, { qos: 1 }), `the test client to subscribe to ${filters.join(', ')}`);
  return {
    client,
    messages,
    last(topic) {
      for (let i = messages.length - 1; i >= 0; i--) if (messages[i].topic === topic) return messages[i].payload.toString();
      return undefined;
    },
    async publish(topic, payload, retain = false) {
      await within(client.publishAsync(topic, payload, { qos: 1, retain }), `the broker to acknowledge ${topic}`);
    },
    close: () => within(client.endAsync(true), 'the test client to close').catch(() => undefined),
  };
}

/** A broker call that never answers fails the test with what it was waiting for, instead of hanging it. */
function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
