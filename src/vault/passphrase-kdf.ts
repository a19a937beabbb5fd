// Argon2id runs in a short-lived worker thread: at MODERATE limits it takes about a second and
// grows libsodium's WebAssembly memory by 256 MiB, which a WebAssembly instance never gives back.
// In a worker the event loop keeps serving cameras and the memory is freed when the worker exits.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import sodium from 'libsodium-wrappers-sumo';

await sodium.ready;

export interface KdfLimits {
  opslimit: number;
  memlimit: number;
}

export const MODERATE_LIMITS: KdfLimits = {
  opslimit: sodium.crypto_pwhash_OPSLIMIT_MODERATE,
  memlimit: sodium.crypto_pwhash_MEMLIMIT_MODERATE,
};

/** The smallest limits libsodium accepts; only for tests. */
export const MINIMUM_LIMITS: KdfLimits = {
  opslimit: sodium.crypto_pwhash_OPSLIMIT_MIN,
  memlimit: sodium.crypto_pwhash_MEMLIMIT_MIN,
};

export const KDF_SALT_BYTES = sodium.crypto_pwhash_SALTBYTES;

/** Refuses limits below libsodium's minimum or above what a small NVR can afford (4 GiB). */
export function checkKdfLimits(limits: KdfLimits): KdfLimits {
  const { opslimit, memlimit } = limits;
  if (!Number.isInteger(opslimit) || opslimit < MINIMUM_LIMITS.opslimit || opslimit > 64) {
    throw new RangeError(`Argon2id opslimit must be an integer between ${MINIMUM_LIMITS.opslimit} and 64, got ${opslimit}`);
  }
  if (!Number.isInteger(memlimit) || memlimit < MINIMUM_LIMITS.memlimit || memlimit > 4 * 1024 ** 3) {
    throw new RangeError(`Argon2id memlimit must be an integer between ${MINIMUM_LIMITS.memlimit} and 4 GiB, got ${memlimit}`);
  }
  return limits;
}

const sodiumCommonJsPath = createRequire(import.meta.url).resolve('libsodium-wrappers-sumo');

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const sodium = require(workerData.sodiumPath);
sodium.ready.then(() => {
  const { keyBytes, passphrase, salt, opslimit, memlimit } = workerData;
  const key = sodium.crypto_pwhash(keyBytes, passphrase, salt, opslimit, memlimit, sodium.crypto_pwhash_ALG_ARGON2ID13);
  parentPort.postMessage(key);
});
`;

/**
 * Argon2id13 (crypto_pwhash) of the passphrase, computed off the main thread. The passphrase is
 * NFC-normalised first, so "é" typed as one code point or as e + combining accent unlocks alike.
 */
export function derivePassphraseKey(passphrase: string, salt: Uint8Array, limits: KdfLimits, keyBytes: number): Promise<Uint8Array> {
  checkKdfLimits(limits);
  if (salt.length !== KDF_SALT_BYTES) throw new RangeError(`Argon2id salt must be ${KDF_SALT_BYTES} bytes`);
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerSource, {
      eval: true,
      execArgv: [],
      workerData: { sodiumPath: sodiumCommonJsPath, passphrase: passphrase.normalize('NFC'), salt, keyBytes, opslimit: limits.opslimit, memlimit: limits.memlimit },
    });
    worker.once('message', (key: Uint8Array) => {
      resolve(key);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`Argon2id worker exited with code ${code} before answering`)));
  });
}
