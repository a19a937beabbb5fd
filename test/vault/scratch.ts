import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os'; import { join } from 'node:path'; import { randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import { encryptBuffer } from '../../src/vault/files.ts';
import { createEncryptor, encryptChunks } from '../../src/vault/format.ts';
import { writeFileAtomically } from '../../src/vault/atomic-write.ts';
await sodium.ready;
const { publicKey } = sodium.crypto_box_keypair();
const dir = await mkdtemp(join(tmpdir(), 'w-'));
const data = randomBytes(2_000_000);
const tot: Record<string, { t: number; u: number; s: number }> = {};
const variants: Record<string, (p: string) => Promise<unknown>> = {
  plain: (p) => writeFileAtomically(p, (f) => f.write(data)),
  enc: (p) => encryptBuffer(data, p, publicKey, 'segment'),
  cryptoOnly: async () => encryptChunks(createEncryptor(publicKey, 'segment'), data, true),
};
for (let i = 0; i < 150; i++) for (const [name, f] of Object.entries(variants)) {
  const c0 = process.cpuUsage(); const t0 = performance.now();
  await f(join(dir, `${name}-${i}`));
  const dt = performance.now() - t0; const c = process.cpuUsage(c0);
  tot[name] ??= { t: 0, u: 0, s: 0 }; tot[name].t += dt; tot[name].u += c.user / 1000; tot[name].s += c.system / 1000;
}
for (const [name, v] of Object.entries(tot)) console.log(name.padEnd(10), 'MB/s', (300 / (v.t / 1000)).toFixed(0), 'user ms/MB', (v.u / 300).toFixed(2), 'sys ms/MB', (v.s / 300).toFixed(2));
await rm(dir, { recursive: true });
