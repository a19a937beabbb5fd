import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sodium from 'libsodium-wrappers-sumo';
import { writeFileAtomically } from '../src/vault/atomic-write.ts';
import { decryptFileStream, encryptBuffer, encryptFile } from '../src/vault/files.ts';
import { createEncryptor, encryptChunks, keyPairOpener } from '../src/vault/format.ts';
import { sodiumBinding } from '../src/vault/sodium.ts';

/**
 * `npm run bench -- vault [--total-mb 200] [--file-mb 2] [--chunk-kb 64] [--rounds 3] [--dir DIR]`: writes the
 * same data as plain files and as vault files (~2 MB each, a 4-second segment of a 4 Mbit/s
 * camera), both atomically (temp file, fsync, rename), and reports MB/s, the encrypted/plain
 * ratio (target ≥ 0.8) and the CPU cost per 4 Mbit/s camera (target ≤ 1 % of a core).
 */

const CAMERA_BYTES_PER_SECOND = 4_000_000 / 8;
const MB = 1_000_000;

interface Measure {
  seconds: number;
  cpuSeconds: number;
}

export async function benchVault(args: string[]): Promise<void> {
  const totalMb = numberArg(args, '--total-mb', 200);
  const fileMb = numberArg(args, '--file-mb', 2);
  const rounds = numberArg(args, '--rounds', 3);
  const chunkSize = numberArg(args, '--chunk-kb', 64) * 1024;
  const fileBytes = Math.round(fileMb * MB);
  const fileCount = Math.max(1, Math.round(totalMb / fileMb));
  const totalBytes = fileBytes * fileCount;
  const dir = await mkdtemp(join(args.includes('--dir') ? args[args.indexOf('--dir') + 1] : tmpdir(), 'volet-bench-vault-'));
  await sodium.ready;
  const { publicKey, privateKey } = sodium.crypto_box_keypair();
  const vault = keyPairOpener(publicKey, privateKey);
  const segments = Array.from({ length: 8 }, () => randomBytes(fileBytes));
  const segmentAt = (i: number) => segments[i % segments.length];

  print(`${fileCount} files of ${fileMb} MB (${(totalBytes / MB).toFixed(0)} MB), ${chunkSize / 1024} KiB chunks, in ${dir}, median of ${rounds} rounds`);
  print(`libsodium: ${sodiumBinding.name}`);
  try {
    const sources = await Promise.all(segments.map(async (data, i) => {
      const path = join(dir, `source-${i}.mp4`);
      await writeFile(path, data);
      return path;
    }));
    const sourceAt = (i: number) => sources[i % sources.length];

    // Variants alternate file by file, so load from other processes hits them alike.
    const variants = {
      plainWrite: (i: number, dest: string) => writeFileAtomically(dest, async (file) => void (await file.write(segmentAt(i)))),
      encryptedWrite: (i: number, dest: string) => encryptBuffer(segmentAt(i), dest, publicKey, 'segment', { chunkSize }),
      plainCopy: (i: number, dest: string) => copyAtomically(sourceAt(i), dest),
      encryptedCopy: (i: number, dest: string) => encryptFile(sourceAt(i), dest, publicKey, 'segment', { chunkSize }),
    };
    type Variant = keyof typeof variants;
    const names = Object.keys(variants) as Variant[];
    const results = {
      ...Object.fromEntries(names.map((name) => [name, [] as Measure[]])),
      decrypt: [] as Measure[],
      cryptoOnly: [] as Measure[],
    } as Record<Variant | 'decrypt' | 'cryptoOnly', Measure[]>;
    for (let round = 0; round < rounds; round++) {
      const out = join(dir, 'out');
      await mkdir(out, { recursive: true });
      const totals = Object.fromEntries(names.map((name) => [name, { seconds: 0, cpuSeconds: 0 }])) as Record<Variant, Measure>;
      for (let i = 0; i < fileCount; i++) {
        for (const name of i % 2 ? [...names].reverse() : names) {
          const m = await measure(() => variants[name](i, join(out, `${name}-${i}`)));
          totals[name].seconds += m.seconds;
          totals[name].cpuSeconds += m.cpuSeconds;
        }
      }
      for (const name of names) results[name].push(totals[name]);
      results.decrypt.push(
        await measure(async () => {
          for (let i = 0; i < fileCount; i++) for await (const chunk of decryptFileStream(join(out, `encryptedWrite-${i}`), vault)) void chunk;
        }),
      );
      await rm(out, { recursive: true, force: true });
      const records = Buffer.allocUnsafe(2 * fileBytes);
      results.cryptoOnly.push(
        await measure(async () => {
          for (let i = 0; i < fileCount; i++) encryptChunks(createEncryptor(publicKey, 'segment', { chunkSize }), segmentAt(i), true, records);
        }),
      );
    }

    const rate = (m: Measure) => totalBytes / MB / m.seconds;
    const row = (label: string, m: Measure) =>
      print(`${label.padEnd(44)} ${rate(m).toFixed(0).padStart(6)} MB/s   cpu ${((m.cpuSeconds / (totalBytes / MB)) * 1000).toFixed(2)} ms/MB`);
    const med = Object.fromEntries(Object.entries(results).map(([name, list]) => [name, median(list)])) as Record<keyof typeof results, Measure>;

    row('plain write (memory → file, atomic)', med.plainWrite);
    row('encrypted write (encryptBuffer)', med.encryptedWrite);
    row('plain copy (file → file, atomic)', med.plainCopy);
    row('encrypted copy (encryptFile)', med.encryptedCopy);
    row('encryption only, no I/O', med.cryptoOnly);
    row('decrypt + authenticate (decryptFileStream)', med.decrypt);
    print(`ratio encrypted/plain write: ${(rate(med.encryptedWrite) / rate(med.plainWrite)).toFixed(2)} (target ≥ 0.8)`);
    print(`ratio encrypted/plain copy:  ${(rate(med.encryptedCopy) / rate(med.plainCopy)).toFixed(2)}`);

    const percentOfCore = (cpuSeconds: number) => (cpuSeconds / totalBytes) * CAMERA_BYTES_PER_SECOND * 100;
    print(`CPU per 4 Mbit/s camera, encrypted write incl. I/O: ${percentOfCore(med.encryptedWrite.cpuSeconds).toFixed(3)} % of a core (target ≤ 1 %)`);
    print(`CPU per 4 Mbit/s camera, encrypted copy incl. I/O:  ${percentOfCore(med.encryptedCopy.cpuSeconds).toFixed(3)} % of a core`);
    print(`CPU per 4 Mbit/s camera, encryption alone:          ${percentOfCore(med.cryptoOnly.cpuSeconds).toFixed(3)} % of a core`);
    print(`(plain write for comparison:                        ${percentOfCore(med.plainWrite.cpuSeconds).toFixed(3)} % of a core)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function measure(run: () => Promise<unknown>): Promise<Measure> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await run();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

async function copyAtomically(src: string, dest: string): Promise<void> {
  const data = await readFile(src);
  await writeFileAtomically(dest, async (file) => void (await file.write(data)));
}

function median(list: Measure[]): Measure {
  return [...list].sort((a, b) => a.seconds - b.seconds)[Math.floor(list.length / 2)];
}

function numberArg(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!(value > 0)) throw new Error(`${name} needs a positive number`);
  return value;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}
