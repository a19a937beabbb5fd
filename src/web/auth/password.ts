// Argon2id password hashes (libsodium crypto_pwhash_str). At MODERATE limits one hash takes about a
// second and grows libsodium's WebAssembly memory by 256 MiB that is never given back, so each hash
// runs in a short-lived worker thread, one at a time: a burst of logins queues, it cannot exhaust memory.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export type PasswordStrength = 'moderate' | 'interactive' | 'minimum';

const sodiumPath = createRequire(import.meta.url).resolve('libsodium-wrappers-sumo');

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const sodium = require(workerData.sodiumPath);
sodium.ready.then(() => {
  const { op, password, hash, strength } = workerData;
  if (op === 'hash') {
    const ops = { moderate: sodium.crypto_pwhash_OPSLIMIT_MODERATE, interactive: sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE, minimum: sodium.crypto_pwhash_OPSLIMIT_MIN }[strength];
    const mem = { moderate: sodium.crypto_pwhash_MEMLIMIT_MODERATE, interactive: sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE, minimum: sodium.crypto_pwhash_MEMLIMIT_MIN }[strength];
    parentPort.postMessage(sodium.crypto_pwhash_str(password, ops, mem));
  } else {
    let ok = false;
    try { ok = sodium.crypto_pwhash_str_verify(hash, password); } catch { ok = false; }
    parentPort.postMessage(ok);
  }
});
`;

let queue: Promise<unknown> = Promise.resolve();

function runInWorker<T>(data: Record<string, unknown>): Promise<T> {
  const job = queue.then(
    () =>
      new Promise<T>((resolve, reject) => {
        const worker = new Worker(workerSource, { eval: true, execArgv: [], workerData: { sodiumPath, ...data } });
        worker.once('message', (value: T) => {
          resolve(value);
          void worker.terminate();
        });
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`password worker exited with code ${code} before answering`)));
      }),
  );
  queue = job.catch(() => undefined);
  return job;
}

export class PasswordHasher {
  private dummy?: Promise<string>;

  constructor(readonly strength: PasswordStrength = 'moderate') {}

  hash(password: string): Promise<string> {
    return runInWorker<string>({ op: 'hash', password, strength: this.strength });
  }

  verify(hash: string, password: string): Promise<boolean> {
    return runInWorker<boolean>({ op: 'verify', password, hash });
  }

  /** Spends the same time as a real check, so an unknown username cannot be told from a wrong password. */
  async verifyNobody(password: string): Promise<false> {
    this.dummy ??= this.hash('volet-no-such-user');
    await this.verify(await this.dummy, password);
    return false;
  }
}
