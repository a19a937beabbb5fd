// SodiumBinding over sodium-native: libsodium compiled natively. Its *_async Argon2id functions
// run on libuv's thread pool, so the event loop never waits for them.
import type { SecretStreamPuller, SecretStreamPusher, SodiumBinding } from './sodium.ts';

/** The part of sodium-native's API (v5) that Volet calls; the package ships no type declarations. */
export interface SodiumNative {
  crypto_box_SEALBYTES: number;
  crypto_box_seal(c: Uint8Array, m: Uint8Array, pk: Uint8Array): void;
  /** False when the box does not open. */
  crypto_box_seal_open(m: Uint8Array, c: Uint8Array, pk: Uint8Array, sk: Uint8Array): boolean;
  crypto_secretstream_xchacha20poly1305_STATEBYTES: number;
  crypto_secretstream_xchacha20poly1305_HEADERBYTES: number;
  crypto_secretstream_xchacha20poly1305_ABYTES: number;
  crypto_secretstream_xchacha20poly1305_init_push(state: Uint8Array, header: Uint8Array, key: Uint8Array): void;
  crypto_secretstream_xchacha20poly1305_init_pull(state: Uint8Array, header: Uint8Array, key: Uint8Array): void;
  /** Throws when libsodium refuses (never for valid sizes). */
  crypto_secretstream_xchacha20poly1305_push(state: Uint8Array, c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, tag: number): number;
  /** Throws when the message does not authenticate; the state is then unchanged. */
  crypto_secretstream_xchacha20poly1305_pull(state: Uint8Array, m: Uint8Array, tag: Uint8Array, c: Uint8Array, ad: Uint8Array | null): number;
  crypto_pwhash_ALG_ARGON2ID13: number;
  crypto_pwhash_STRBYTES: number;
  crypto_pwhash_async(out: Uint8Array, passwd: Uint8Array, salt: Uint8Array, opslimit: number, memlimit: number, alg: number): Promise<void>;
  crypto_pwhash_str_async(out: Uint8Array, passwd: Uint8Array, opslimit: number, memlimit: number): Promise<void>;
  crypto_pwhash_str_verify_async(str: Uint8Array, passwd: Uint8Array): Promise<boolean>;
  sodium_memzero(buffer: Uint8Array): void;
}

export function nativeSodiumBinding(native: SodiumNative): SodiumBinding {
  const stateBytes = native.crypto_secretstream_xchacha20poly1305_STATEBYTES;
  const abytes = native.crypto_secretstream_xchacha20poly1305_ABYTES;
  if (typeof native.crypto_pwhash_str_verify_async !== 'function' || typeof stateBytes !== 'number') {
    throw new Error('sodium-native lacks crypto_secretstream or async crypto_pwhash (version 4 or later is needed)');
  }

  const startPush = (key: Uint8Array): { pusher: SecretStreamPusher; header: Uint8Array } => {
    const state = Buffer.alloc(stateBytes);
    const header = Buffer.alloc(native.crypto_secretstream_xchacha20poly1305_HEADERBYTES);
    native.crypto_secretstream_xchacha20poly1305_init_push(state, header, key);
    return {
      header,
      pusher: {
        pushInto: (out, message, ad, tag) => void native.crypto_secretstream_xchacha20poly1305_push(state, out, message, ad, tag),
        dispose: () => native.sodium_memzero(state),
      },
    };
  };

  const startPull = (key: Uint8Array, header: Uint8Array): SecretStreamPuller => {
    const state = Buffer.alloc(stateBytes);
    native.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key);
    const tag = Buffer.alloc(1);
    return {
      pullInto(out, ciphertext, ad) {
        if (ciphertext.length < abytes || out.length !== ciphertext.length - abytes) return null;
        try {
          native.crypto_secretstream_xchacha20poly1305_pull(state, out, tag, ciphertext, ad);
        } catch {
          return null;
        }
        return tag[0];
      },
      dispose: () => native.sodium_memzero(state),
    };
  };

  return {
    name: 'sodium-native',
    boxSeal(message, publicKey) {
      const sealed = Buffer.alloc(message.length + native.crypto_box_SEALBYTES);
      native.crypto_box_seal(sealed, message, publicKey);
      return sealed;
    },
    boxSealOpen(sealed, publicKey, secretKey) {
      if (sealed.length < native.crypto_box_SEALBYTES) return null;
      const message = Buffer.alloc(sealed.length - native.crypto_box_SEALBYTES);
      try {
        if (native.crypto_box_seal_open(message, sealed, publicKey, secretKey)) return message;
      } catch {
        // a key of the wrong length: the box does not open
      }
      return null;
    },
    startPush,
    startPull,
    async argon2idKey(keyBytes, password, salt, opslimit, memlimit) {
      const key = Buffer.alloc(keyBytes);
      await native.crypto_pwhash_async(key, password, salt, opslimit, memlimit, native.crypto_pwhash_ALG_ARGON2ID13);
      return key;
    },
    async argon2idHashString(password, opslimit, memlimit) {
      const out = Buffer.alloc(native.crypto_pwhash_STRBYTES);
      await native.crypto_pwhash_str_async(out, password, opslimit, memlimit);
      return out.toString('latin1', 0, out.indexOf(0));
    },
    async argon2idVerifyString(hash, password) {
      // libsodium reads the hash as a NUL-terminated string inside a crypto_pwhash_STRBYTES buffer.
      if (hash.length >= native.crypto_pwhash_STRBYTES || hash.includes('\0') || password.length === 0) return false;
      const str = Buffer.alloc(native.crypto_pwhash_STRBYTES);
      str.write(hash, 'latin1');
      return native.crypto_pwhash_str_verify_async(str, password);
    },
  };
}
