import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { demoClip } from '../camera/ffmpeg.ts';
import { parseConfig } from '../config/load.ts';
import type { VoletConfig } from '../config/schema.ts';
import { keyFilePath } from '../vault/keyfile.ts';
import { Vault } from '../vault/vault.ts';
import { runFfmpegOnce } from '../process/ffmpeg-supervisor.ts';

/**
 * With no camera configured, Volet runs a built-in demo camera through the whole pipeline: a
 * synthetic clip generated on first run, motion recording into a vault whose generated passphrase
 * is printed once.
 */
export async function withDemoCamera(config: VoletConfig): Promise<VoletConfig> {
  const dir = resolve(config.storage.path, 'demo');
  const clip = join(dir, 'demo-camera.mp4');
  if (!existsSync(clip)) {
    await mkdir(dir, { recursive: true, mode: 0o700 }); // may create storage.path itself: keep it private
    await runFfmpegOnce(demoClip(`${clip}.partial`)).catch((err: Error) => {
      throw new Error(`could not generate the demo clip with ffmpeg: ${err.message}`);
    });
    await rename(`${clip}.partial`, clip);
  }
  const camera = parseConfig(
    `cameras:\n  demo:\n    main: ${pathToFileURL(clip).href}\n    detect: { fps: 5, width: 640, height: 360 }\n    record: { mode: motion, preRollSeconds: 2, postRollSeconds: 4 }\n`,
    'built-in demo',
    {},
  ).cameras;
  return { ...config, cameras: camera };
}

/** Creates the vault with a random passphrase on first demo start; the caller shows it once. */
export async function initDemoVault(storagePath: string): Promise<string | undefined> {
  const dir = resolve(storagePath);
  if (existsSync(keyFilePath(dir))) return undefined;
  const passphrase = randomBytes(15).toString('base64url');
  await Vault.init(dir, passphrase);
  return passphrase;
}
