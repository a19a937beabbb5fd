// libsodium's crypto_secretstream_xchacha20poly1305, byte for byte, computed with node:crypto.
//
// libsodium's WebAssembly build encrypts at ~0.36 GB/s here, about half the disk's write speed;
// OpenSSL's ChaCha20-Poly1305 runs at ~1.8 GB/s. For a message whose length is a multiple of 16
// (every full chunk of a Volet file), a secretstream message is exactly an RFC 8439
// ChaCha20-Poly1305 encryption (key = stream subkey, nonce = counter || inonce, AAD = ad) of the
// 64-byte block [tag, 0 x 63] followed by the message, of which libsodium keeps only the first
// byte of the encrypted block. Other lengths differ from RFC 8439 in one detail (libsodium pads
// the ciphertext with `mlen & 15` zero bytes before the lengths), so they take `pushReference` /
// `pullReference`, a transcription of libsodium's C code. test/vault/secretstream.test.ts checks
// both paths against libsodium itself.
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';

await sodium.ready;

export const SECRETSTREAM_KEYBYTES = 32;
export const SECRETSTREAM_HEADERBYTES = 24;
/** Bytes a message grows by: one encrypted tag byte and a 16-byte Poly1305 MAC. */
export const SECRETSTREAM_ABYTES = 17;
export const TAG_MESSAGE = 0x00;
export const TAG_PUSH = 0x01;
export const TAG_REKEY = 0x02;
export const TAG_FINAL = TAG_PUSH | TAG_REKEY;

const BLOCK_BYTES = 64;
const MAC_BYTES = 16;
const COUNTER_BYTES = 4;
const INONCE_BYTES = 8;
const HCHACHA_INPUT_BYTES = 16;

export type PulledMessage = { message: Buffer; tag: number };

/** State shared by both directions: the subkey and the 12-byte nonce (4-byte LE counter, 8-byte inonce). */
class StreamState {
  protected readonly key: Buffer;
  protected readonly nonce = Buffer.alloc(COUNTER_BYTES + INONCE_BYTES);

  constructor(fileKey: Uint8Array, header: Uint8Array) {
    if (fileKey.length !== SECRETSTREAM_KEYBYTES) throw new RangeError(`secretstream key must be ${SECRETSTREAM_KEYBYTES} bytes`);
    if (header.length !== SECRETSTREAM_HEADERBYTES) throw new RangeError(`secretstream header must be ${SECRETSTREAM_HEADERBYTES} bytes`);
    const subkey = sodium.crypto_core_hchacha20(header.subarray(0, HCHACHA_INPUT_BYTES), fileKey, null);
    this.key = Buffer.from(subkey);
    sodium.memzero(subkey);
    this.resetCounter();
    this.nonce.set(header.subarray(HCHACHA_INPUT_BYTES), COUNTER_BYTES);
  }

  /** Zeroes the subkey; the stream cannot be used afterwards. */
  dispose(): void {
    this.key.fill(0);
    this.nonce.fill(0);
  }

  /** ChaCha20 (IETF) applied to `input` starting at block `blockCounter`, under the current key and nonce. */
  protected chacha20(blockCounter: number, input: Uint8Array): Buffer {
    const iv = Buffer.alloc(16);
    iv.writeUInt32LE(blockCounter, 0);
    this.nonce.copy(iv, 4);
    return createCipheriv('chacha20', this.key, iv).update(input);
  }

  /** libsodium's Poly1305 input: ad, pad, the 64-byte encrypted tag block, c, pad (mlen & 15), le64 lengths. */
  protected referenceMac(ad: Uint8Array, encryptedTagBlock: Uint8Array, c: Uint8Array): Uint8Array {
    const lengths = Buffer.alloc(16);
    lengths.writeBigUInt64LE(BigInt(ad.length), 0);
    lengths.writeBigUInt64LE(BigInt(BLOCK_BYTES + c.length), 8);
    const macInput = Buffer.concat([
      ad,
      Buffer.alloc((0x10 - ad.length) & 0xf),
      encryptedTagBlock,
      c,
      Buffer.alloc(c.length & 0xf),
      lengths,
    ]);
    const polyKey = this.chacha20(0, Buffer.alloc(32));
    const mac = sodium.crypto_onetimeauth(macInput, polyKey);
    polyKey.fill(0);
    return mac;
  }

  protected advance(mac: Uint8Array, tag: number): void {
    for (let i = 0; i < INONCE_BYTES; i++) this.nonce[COUNTER_BYTES + i] ^= mac[i];
    const counter = (this.nonce.readUInt32LE(0) + 1) >>> 0;
    this.nonce.writeUInt32LE(counter, 0);
    if ((tag & TAG_REKEY) !== 0 || counter === 0) this.rekey();
  }

  private rekey(): void {
    const keyAndInonce = Buffer.concat([this.key, this.nonce.subarray(COUNTER_BYTES)]);
    const next = this.chacha20(0, keyAndInonce);
    next.copy(this.key, 0, 0, SECRETSTREAM_KEYBYTES);
    next.copy(this.nonce, COUNTER_BYTES, SECRETSTREAM_KEYBYTES);
    keyAndInonce.fill(0);
    next.fill(0);
    this.resetCounter();
  }

  private resetCounter(): void {
    this.nonce.writeUInt32LE(1, 0);
  }
}

export class SecretStreamPusher extends StreamState {
  /** Starts a stream with a fresh random header (what crypto_secretstream_xchacha20poly1305_init_push does). */
  static start(fileKey: Uint8Array): { pusher: SecretStreamPusher; header: Uint8Array } {
    const header = randomBytes(SECRETSTREAM_HEADERBYTES);
    return { pusher: new SecretStreamPusher(fileKey, header), header };
  }

  /** Encrypts one message into libsodium's layout: encrypted tag byte, ciphertext, MAC. */
  push(message: Uint8Array, ad: Uint8Array, tag: number): Buffer {
    const { head, ciphertext, mac } = this.pushParts(message, ad, tag, 0);
    return Buffer.concat([head, ciphertext, mac]);
  }

  /**
   * The same message as three buffers, so a writer can hand them to writev without copying:
   * `head` is `headroom` bytes left for the caller's framing followed by the encrypted tag byte.
   */
  pushParts(message: Uint8Array, ad: Uint8Array, tag: number, headroom: number): { head: Buffer; ciphertext: Buffer; mac: Buffer } {
    checkTag(tag);
    const head = Buffer.allocUnsafe(headroom + 1);
    const { tagByte, ciphertext, mac } = message.length % 16 === 0 ? this.encryptRfc8439(message, ad, tag) : this.encryptReference(message, ad, tag);
    head[headroom] = tagByte;
    this.advance(mac, tag);
    return { head, ciphertext, mac };
  }

  private encryptRfc8439(message: Uint8Array, ad: Uint8Array, tag: number): { tagByte: number; ciphertext: Buffer; mac: Buffer } {
    const cipher = createCipheriv('chacha20-poly1305', this.key, this.nonce, { authTagLength: MAC_BYTES });
    cipher.setAAD(ad, { plaintextLength: BLOCK_BYTES + message.length });
    const tagByte = cipher.update(tagBlockPlaintext(tag))[0];
    const ciphertext = cipher.update(message);
    cipher.final();
    return { tagByte, ciphertext, mac: cipher.getAuthTag() };
  }

  private encryptReference(message: Uint8Array, ad: Uint8Array, tag: number): { tagByte: number; ciphertext: Buffer; mac: Buffer } {
    const encryptedTagBlock = this.chacha20(1, tagBlockPlaintext(tag));
    const ciphertext = this.chacha20(2, message);
    const mac = Buffer.from(this.referenceMac(ad, encryptedTagBlock, ciphertext));
    return { tagByte: encryptedTagBlock[0], ciphertext, mac };
  }
}

export class SecretStreamPuller extends StreamState {
  /** Authenticates then decrypts one message; null when authentication fails (the state is then unchanged). */
  pull(ciphertext: Uint8Array, ad: Uint8Array): PulledMessage | null {
    if (ciphertext.length < SECRETSTREAM_ABYTES) return null;
    const macStart = ciphertext.length - MAC_BYTES;
    const c = ciphertext.subarray(1, macStart);
    const mac = ciphertext.subarray(macStart);
    // The sender authenticated the whole encrypted tag block but kept only its first byte;
    // the other 63 bytes are keystream block 1, which we regenerate.
    const encryptedTagBlock = this.chacha20(1, Buffer.alloc(BLOCK_BYTES));
    encryptedTagBlock[0] = ciphertext[0];
    const pulled = c.length % 16 === 0 ? this.pullRfc8439(encryptedTagBlock, c, mac, ad) : this.pullReference(encryptedTagBlock, c, mac, ad);
    if (pulled) this.advance(mac, pulled.tag);
    return pulled;
  }

  private pullRfc8439(encryptedTagBlock: Buffer, c: Uint8Array, mac: Uint8Array, ad: Uint8Array): PulledMessage | null {
    const decipher = createDecipheriv('chacha20-poly1305', this.key, this.nonce, { authTagLength: MAC_BYTES });
    decipher.setAAD(ad, { plaintextLength: BLOCK_BYTES + c.length });
    decipher.setAuthTag(mac);
    const tag = decipher.update(encryptedTagBlock)[0];
    const message = decipher.update(c);
    try {
      decipher.final();
    } catch {
      message.fill(0);
      return null;
    }
    return { message, tag };
  }

  private pullReference(encryptedTagBlock: Buffer, c: Uint8Array, mac: Uint8Array, ad: Uint8Array): PulledMessage | null {
    const expected = this.referenceMac(ad, encryptedTagBlock, c);
    if (!timingSafeEqual(expected, mac)) return null;
    const tag = this.chacha20(1, encryptedTagBlock.subarray(0, 1))[0];
    return { message: this.chacha20(2, c), tag };
  }
}

function checkTag(tag: number): void {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff) throw new RangeError(`invalid secretstream tag ${tag}`);
}

const tagBlocks = new Map<number, Buffer>();

function tagBlockPlaintext(tag: number): Buffer {
  let block = tagBlocks.get(tag);
  if (!block) {
    block = Buffer.alloc(BLOCK_BYTES);
    block[0] = tag;
    tagBlocks.set(tag, block);
  }
  return block;
}
