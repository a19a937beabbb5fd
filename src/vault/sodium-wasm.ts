// SodiumBinding over libsodium-wrappers-sumo (libsodium compiled to WebAssembly), for platforms
// where sodium-native's prebuilt binding does not load. Argon2id runs in a short-lived worker:
// at MODERATE limits it grows a WebAssembly instance by 256 MiB that is only given back when the
// worker exits, and it would otherwise hold the event loop for seconds.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import sodium, { type StateAddress } from 'libsodium-wrappers-sumo';
import type { SecretStreamPuller, SecretStreamPusher, SodiumBinding } from './sodium.ts';

await sodium.ready;

const STATE_BYTES = 52;
const STREAM_ABYTES = 17;
const sodiumPath = createRequire(import.meta.url).resolve('libsodium-wrappers-sumo');

const argon2Worker = `
const { parentPort, workerData } = require('node:worker_threads');
const sodium = require(workerData.sodiumPath);
sodium.ready.then(() => {
  const { op, keyBytes, password, salt, hash, opslimit, memlimit } = workerData;
  if (op === 'key') parentPort.postMessage(sodium.crypto_pwhash(keyBytes, password, salt, opslimit, memlimit, sodium.crypto_pwhash_ALG_ARGON2ID13));
  else if (op === 'hash') parentPort.postMessage(sodium.crypto_pwhash_str(password, opslimit, memlimit));
  else {
    let ok = false;
    try { ok = sodium.crypto_pwhash_str_verify(hash, password); } catch { ok = false; }
    parentPort.postMessage(ok);
  }
});
`;

function inWorker<T>(data: Record<string, unknown>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const worker = new Worker(argon2Worker, { eval: true, execArgv: [], workerData: { sodiumPath, ...data } });
    worker.once('message', (value: T) => {
      resolve(value);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`Argon2id worker exited with code ${code} before answering`)));
  });
}

/** The wrappers keep a stream's state in WebAssembly memory and never free it; this zeroes and frees it. */
function releaseState(state: StateAddress): void {
  const wasm = (sodium as unknown as { libsodium?: { HEAPU8?: Uint8Array; _free?: (address: number) => void } }).libsodium;
  const address = state as unknown as number;
  if (typeof address !== 'number' || !wasm?.HEAPU8 || !wasm._free) return;
  wasm.HEAPU8.fill(0, address, address + STATE_BYTES);
  wasm._free(address);
}

function disposer(state: StateAddress): () => void {
  let released = false;
  return () => {
    if (!released) releaseState(state);
    released = true;
  };
}

export function wasmSodiumBinding(): SodiumBinding {
  return {
    name: 'libsodium-wrappers-sumo',
    boxSeal: (message, publicKey) => sodium.crypto_box_seal(message, publicKey),
    boxSealOpen(sealed, publicKey, secretKey) {
      try {
        return sodium.crypto_box_seal_open(sealed, publicKey, secretKey);
      } catch {
        return null;
      }
    },
    startPush(key): { pusher: SecretStreamPusher; header: Uint8Array } {
      const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
      return {
        header,
        pusher: {
          pushInto: (out, message, ad, tag) => out.set(sodium.crypto_secretstream_xchacha20poly1305_push(state, message, ad, tag)),
          dispose: disposer(state),
        },
      };
    },
    startPull(key, header): SecretStreamPuller {
      const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
      return {
        pullInto(out, ciphertext, ad) {
          if (out.length !== ciphertext.length - STREAM_ABYTES) return null;
          let pulled: { message: Uint8Array; tag: number } | false;
          try {
            pulled = sodium.crypto_secretstream_xchacha20poly1305_pull(state, ciphertext, ad);
          } catch {
            return null;
          }
          if (!pulled) return null;
          out.set(pulled.message);
          return pulled.tag;
        },
        dispose: disposer(state),
      };
    },
    argon2idKey: (keyBytes, password, salt, opslimit, memlimit) => inWorker<Uint8Array>({ op: 'key', keyBytes, password, salt, opslimit, memlimit }),
    argon2idHashString: (password, opslimit, memlimit) => inWorker<string>({ op: 'hash', password, opslimit, memlimit }),
    argon2idVerifyString: (hash, password) => inWorker<boolean>({ op: 'verify', hash, password }),
  };
}
