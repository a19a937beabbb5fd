// Which libsodium Volet uses for sealed boxes, secretstream and Argon2id: the native binding (sodium-native,
// prebuilt in its npm package) when it loads, otherwise libsodium's WebAssembly build. Both are
// libsodium itself, so they read and write the same bytes; only speed differs.
import { createRequire } from 'node:module';
import type { Logger } from '../log/logger.ts';
import { nativeSodiumBinding, type SodiumNative } from './sodium-native.ts';
import { wasmSodiumBinding } from './sodium-wasm.ts';

export const SECRETSTREAM_KEYBYTES = 32;
export const SECRETSTREAM_HEADERBYTES = 24;
/** Bytes a message grows by: one encrypted tag byte and a 16-byte Poly1305 MAC. */
export const SECRETSTREAM_ABYTES = 17;
export const TAG_MESSAGE = 0x00;
export const TAG_FINAL = 0x03;

/** The sending side of one crypto_secretstream_xchacha20poly1305 stream. */
export interface SecretStreamPusher {
  /** Encrypts `message` into `out`, which must be exactly `message.length + SECRETSTREAM_ABYTES` bytes. */
  pushInto(out: Uint8Array, message: Uint8Array, ad: Uint8Array, tag: number): void;
  /** Zeroes the stream state; the stream cannot be used afterwards. */
  dispose(): void;
}

/** The receiving side of one stream. */
export interface SecretStreamPuller {
  /**
   * Authenticates then decrypts one message into `out` (exactly `ciphertext.length - SECRETSTREAM_ABYTES`
   * bytes) and returns its tag; null, with `out` and the state unchanged, when authentication fails.
   */
  pullInto(out: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): number | null;
  dispose(): void;
}

/** What Volet needs from libsodium on every file (sealed boxes, secretstream), and Argon2id13 that never runs on the calling thread. */
export interface SodiumBinding {
  readonly name: 'sodium-native' | 'libsodium-wrappers-sumo';
  /** crypto_box_seal: `message` sealed to `publicKey` (crypto_box_SEALBYTES longer). */
  boxSeal(message: Uint8Array, publicKey: Uint8Array): Uint8Array;
  /** crypto_box_seal_open; null when the box does not open with this key pair. */
  boxSealOpen(sealed: Uint8Array, publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array | null;
  /** Starts a stream with a fresh random header (crypto_secretstream_xchacha20poly1305_init_push). */
  startPush(key: Uint8Array): { pusher: SecretStreamPusher; header: Uint8Array };
  startPull(key: Uint8Array, header: Uint8Array): SecretStreamPuller;
  /** crypto_pwhash with Argon2id13: a `keyBytes`-byte key. */
  argon2idKey(keyBytes: number, password: Uint8Array, salt: Uint8Array, opslimit: number, memlimit: number): Promise<Uint8Array>;
  /** crypto_pwhash_str: "$argon2id$v=19$m=…,t=…,p=1$salt$hash". */
  argon2idHashString(password: Uint8Array, opslimit: number, memlimit: number): Promise<string>;
  /** crypto_pwhash_str_verify; false for a wrong password and for a malformed hash. */
  argon2idVerifyString(hash: string, password: Uint8Array): Promise<boolean>;
}

/** The native binding, or the WebAssembly build with the reason the native one did not load. */
export function loadSodiumBinding(loadNative: () => unknown = () => createRequire(import.meta.url)('sodium-native')): {
  binding: SodiumBinding;
  nativeError: Error | null;
} {
  try {
    return { binding: nativeSodiumBinding(loadNative() as SodiumNative), nativeError: null };
  } catch (error) {
    return { binding: wasmSodiumBinding(), nativeError: error as Error };
  }
}

const loaded = loadSodiumBinding();

export const sodiumBinding: SodiumBinding = loaded.binding;

let reported = false;

/** Says once per process which libsodium build runs (a warning when the native binding did not load). */
export function logSodiumBinding(logger: Pick<Logger, 'info' | 'warn'>): void {
  if (reported) return;
  reported = true;
  if (loaded.nativeError) {
    logger.warn(
      { libsodium: sodiumBinding.name, err: loaded.nativeError.message },
      'libsodium: native binding (sodium-native) did not load; using the WebAssembly build (several times slower)',
    );
  } else {
    logger.info({ libsodium: sodiumBinding.name }, 'libsodium: native binding');
  }
}
