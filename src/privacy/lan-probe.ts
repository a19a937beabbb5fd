import { execFile } from 'node:child_process';
import { connect } from 'node:net';

/** Answers whether a device answered on the LAN just now. Rejects only when probing is impossible. */
export type DeviceProbe = (address: string) => Promise<boolean>;

export interface ParsedAddress {
  host: string;
  port?: number;
}

/** "192.168.1.23", "phone.lan:62078", "[fe80::1]" or "[fe80::1]:62078". */
export function parseDeviceAddress(address: string): ParsedAddress {
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(address);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : undefined };
  const plain = /^([A-Za-z0-9][A-Za-z0-9.-]*)(?::(\d{1,5}))?$/.exec(address);
  if (!plain) throw new Error(`"${address}" is not a host name or IP address (optionally with :port)`);
  return { host: plain[1], port: plain[2] ? Number(plain[2]) : undefined };
}

/**
 * The default probe: `host:port` is a TCP connect that the device must accept (iPhones listen on
 * 62078), a bare host is one system `ping -c1 -W1`. A refused connection does not count: a
 * firewall on the way may refuse for a device that is not there, and a resident wrongly seen at
 * home would keep the cameras closed during a break-in.
 */
export function systemProbe(timeoutMs = 1000): DeviceProbe {
  return (address) => {
    const { host, port } = parseDeviceAddress(address);
    return port === undefined ? ping(host, timeoutMs) : tcpProbe(host, port, timeoutMs);
  };
}

export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export class PingUnavailableError extends Error {
  constructor() {
    super('The "ping" command is not installed: install iputils-ping, or give devices as host:port for a TCP probe');
    this.name = 'PingUnavailableError';
  }
}

function ping(host: string, timeoutMs: number): Promise<boolean> {
  const seconds = String(Math.max(1, Math.round(timeoutMs / 1000)));
  return new Promise((resolve, reject) => {
    // execFile, never a shell; the schema only admits host names and addresses, never a leading "-".
    execFile('ping', ['-n', '-c1', `-W${seconds}`, host], { timeout: timeoutMs + 2000 }, (err) => {
      if (!err) return resolve(true);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new PingUnavailableError());
      resolve(false);
    });
  });
}
