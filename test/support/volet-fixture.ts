import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/load.ts';
import type { VoletConfig } from '../../src/config/schema.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { Vault } from '../../src/vault/vault.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const sharedModelsDir = join(repoRoot, '../shared/models');
/** Argon2id limits low enough for tests; production uses MODERATE. */
export const TEST_KDF_LIMITS = { opslimit: 1, memlimit: 8 * 1024 * 1024 };
export const TEST_PASSPHRASE = 'correct horse battery staple';

export interface TempVolet {
  dir: string;
  storageDir: string;
  cacheDir: string;
  config: VoletConfig;
  logger: Logger;
  logLines: Record<string, unknown>[];
  cleanup(): void;
}

/** A config for tests: storage in a temp dir, the RAM cache in its own /dev/shm folder, the dynamic model. */
export function tempVoletConfig(yaml: string): TempVolet {
  const dir = mkdtempSync(join(tmpdir(), 'volet-test-'));
  const cacheDir = mkdtempSync('/dev/shm/volet-test-');
  const storageDir = join(dir, 'storage');
  const config = parseConfig(
    `storage:\n  path: ${storageDir}\n  cachePath: ${cacheDir}\n  segmentSeconds: 2\n  retention: { minFreeGb: 0, minFreePercent: 0 }\n` +
      `detector:\n  model: ${join(sharedModelsDir, 'yolox_nano_dynamic.onnx')}\n  threads: 1\n${yaml}`,
    'test.yml',
    {},
  );
  const { logger, lines: logLines } = capturingLogger('info');
  return {
    dir,
    storageDir,
    cacheDir,
    config,
    logger,
    logLines,
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}

/** A logger whose lines are kept, parsed, in `lines`. */
export function capturingLogger(level: 'debug' | 'info' = 'debug'): { logger: Logger; lines: Array<Record<string, unknown> & { msg?: string }> } {
  const lines: Array<Record<string, unknown> & { msg?: string }> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger(level, sink), lines };
}

export async function initTestVault(storageDir: string): Promise<Vault> {
  return Vault.init(storageDir, TEST_PASSPHRASE, { limits: TEST_KDF_LIMITS });
}

export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every file under dir, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

const PLAINTEXT_MARKERS: { name: string; bytes: Buffer }[] = [
  { name: 'MP4 ftyp box', bytes: Buffer.from('ftyp') },
  { name: 'MP4 moof box', bytes: Buffer.from('moof') },
  { name: 'JPEG start (JFIF)', bytes: Buffer.from([0xff, 0xd8, 0xff, 0xe0]) },
  { name: 'JPEG start (DQT)', bytes: Buffer.from([0xff, 0xd8, 0xff, 0xdb]) },
  { name: 'H.264 SPS start code', bytes: Buffer.from([0x00, 0x00, 0x00, 0x01, 0x67]) },
  { name: 'H.264 IDR start code', bytes: Buffer.from([0x00, 0x00, 0x00, 0x01, 0x65]) },
  { name: 'label "person"', bytes: Buffer.from('person') },
];

/** What in a file looks like plaintext footage: container boxes, JPEG, H.264, TS packet runs, labels. */
export function plaintextMarkersIn(data: Buffer, extraStrings: string[] = []): string[] {
  const found = PLAINTEXT_MARKERS.filter((m) => data.includes(m.bytes)).map((m) => m.name);
  for (const s of extraStrings) if (data.includes(Buffer.from(s))) found.push(`string "${s}"`);
  if (hasTsSyncRun(data)) found.push('MPEG-TS sync byte run');
  return found;
}

function hasTsSyncRun(data: Buffer, run = 5): boolean {
  for (let i = data.indexOf(0x47); i >= 0 && i + 188 * run < data.length; i = data.indexOf(0x47, i + 1)) {
    let k = 1;
    while (k < run && data[i + 188 * k] === 0x47) k++;
    if (k === run) return true;
  }
  return false;
}

export function scanForPlaintext(dir: string, extraStrings: string[] = []): { file: string; markers: string[] }[] {
  return filesUnder(dir)
    .map((file) => ({ file, markers: plaintextMarkersIn(readFileSync(file), extraStrings) }))
    .filter((r) => r.markers.length > 0);
}

/** ffmpeg processes started by this test process. */
export function ffmpegChildren(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === process.pid && stat.includes('(ffmpeg)');
      } catch {
        return false;
      }
    })
    .map(Number);
}
