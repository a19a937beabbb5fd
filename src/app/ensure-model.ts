import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { defaultModelsDir, fetchModel, modelManifest, resolveModelPath } from '../detect/models.ts';
import type { Logger } from '../log/logger.ts';

/** On first start, downloads the configured model when it is a manifest model (sha256-checked). */
export async function ensureModel(model: string, logger: Logger): Promise<void> {
  const dir = defaultModelsDir();
  const path = resolveModelPath(model, dir);
  if (existsSync(path)) return;
  const entry = modelManifest().find((m) => m.file === basename(path) || m.name === model);
  if (!entry?.url) return;
  logger.info({ model: entry.file, dir }, 'model missing: downloading it once (sha256-checked)');
  await fetchModel(entry, dir);
}
