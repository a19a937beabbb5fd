import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import type { Logger } from '../log/logger.ts';
import { ensurePrivateDir, PRIVATE_FILE_MODE, tightenFile } from '../storage/private-files.ts';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 fingerprint, shown in the log so a person can compare it with what the browser shows. */
  fingerprint: string;
  selfSigned: boolean;
}

const CERT_FILE = 'web-cert.pem';
const KEY_FILE = 'web-key.pem';

/**
 * The user's own cert/key when configured; otherwise a self-signed certificate generated on first
 * start and kept in dataDir (key file mode 0600), regenerated only when missing or expired.
 */
export async function loadTlsMaterial(opts: { cert?: string; key?: string; dataDir: string; logger: Logger }): Promise<TlsMaterial> {
  if (opts.cert || opts.key) {
    if (!opts.cert || !opts.key) throw new Error('web.cert and web.key must be given together (or neither, for a self-signed certificate)');
    const cert = readFileSync(opts.cert, 'utf8');
    const key = readFileSync(opts.key, 'utf8');
    // The user's own file (perhaps managed by certbot): point at a loose mode, do not change it.
    const keyMode = statSync(opts.key).mode & 0o777;
    if (keyMode & 0o077) opts.logger.warn({ key: opts.key, mode: `0${keyMode.toString(8)}` }, 'web.key is readable by other users: chmod 600 it');
    return { cert, key, fingerprint: new X509Certificate(cert).fingerprint256, selfSigned: false };
  }
  const certPath = join(opts.dataDir, CERT_FILE);
  const keyPath = join(opts.dataDir, KEY_FILE);
  for (const loose of [ensurePrivateDir(opts.dataDir), tightenFile(keyPath)]) {
    if (loose) opts.logger.warn(loose, 'web: was readable by other users; mode tightened');
  }
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, 'utf8');
    const x509 = new X509Certificate(cert);
    if (new Date(x509.validTo).getTime() > Date.now() + 7 * 86_400_000) {
      return { cert, key: readFileSync(keyPath, 'utf8'), fingerprint: x509.fingerprint256, selfSigned: true };
    }
    opts.logger.info('self-signed web certificate expires within a week; generating a new one');
  }
  const host = hostname();
  const notAfter = new Date();
  notAfter.setFullYear(notAfter.getFullYear() + 2);
  const pems = await generate([{ name: 'commonName', value: `Volet on ${host}` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: host },
          { type: 2, value: `${host}.local` },
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  writeFileSync(keyPath, pems.private, { mode: PRIVATE_FILE_MODE });
  writeFileSync(certPath, pems.cert, { mode: 0o644 });
  const fingerprint = new X509Certificate(pems.cert).fingerprint256;
  opts.logger.info({ cert: certPath, fingerprint }, 'generated a self-signed web certificate');
  return { cert: pems.cert, key: pems.private, fingerprint, selfSigned: true };
}
