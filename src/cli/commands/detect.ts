import { availableParallelism } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import type { Detection } from '../../detect/detector.ts';

/** `volet detect <image...>`: runs the object detector on image files. */

const DEFAULT_MODEL = 'yolox_nano';
const DEFAULT_THRESHOLD = 0.4;
const NMS_THRESHOLD = 0.45;

interface DetectFlags {
  json?: boolean;
  threshold: number;
  model: string;
  threads: number;
}

export function registerDetectCommand(program: Command): Command {
  return program
    .command('detect')
    .description('Detect people and animals in image files with the on-device model (boxes in image pixels)')
    .argument('<image...>', 'image files (JPEG, PNG, WebP, ...)')
    .option('--json', 'print [{"file","detections":[{"label","score","box":[x1,y1,x2,y2]}]}]')
    .option('--threshold <score>', 'minimum score, 0 to 1', parseScore, DEFAULT_THRESHOLD)
    .option('--model <name|path>', 'model name (models/manifest.json), file name in the models folder, or path to an .onnx file', DEFAULT_MODEL)
    .option('--threads <n>', 'inference threads', parseThreads, Math.min(4, availableParallelism()))
    .action(async (images: string[], flags: DetectFlags, command: Command) => {
      const { writeOut, writeErr } = command.configureOutput();
      const print = (line: string) => writeOut!(`${line}\n`);
      const fail = (message: string) => {
        writeErr!(`volet detect: ${message}\n`);
        process.exitCode = 1;
      };
      const { DEFAULT_LABELS } = await import('../../config/schema.ts');
      const { createDetector } = await import('../../detect/detector.ts');
      const { defaultModelsDir, resolveModelPath } = await import('../../detect/models.ts');
      let detector;
      try {
        detector = await createDetector({
          modelPath: resolveModelPath(flags.model, defaultModelsDir()),
          threads: flags.threads,
          inputSize: 'auto',
          scoreThreshold: flags.threshold,
          nmsThreshold: NMS_THRESHOLD,
          labels: Object.fromEntries(Object.keys(DEFAULT_LABELS).map((label) => [label, flags.threshold])),
        });
      } catch (err) {
        return fail((err as Error).message);
      }
      const results: { file: string; detections: Detection[] }[] = [];
      try {
        for (const file of images) {
          try {
            const { detections } = await detector.detectFile(file);
            results.push({ file, detections: detections.map(rounded) });
          } catch (err) {
            fail((err as Error).message);
          }
        }
      } finally {
        await detector.close();
      }
      if (flags.json) return print(JSON.stringify(results));
      for (const { file, detections } of results) {
        if (detections.length === 0) print(`${file}: nothing detected`);
        for (const d of detections) print(`${file}: ${d.label} ${d.score} [${d.box.join(',')}]`);
      }
    });
}

function rounded(d: Detection): Detection {
  const [x1, y1, x2, y2] = d.box.map(Math.round);
  return { label: d.label, score: Math.round(d.score * 1000) / 1000, box: [x1, y1, x2, y2] };
}

function parseScore(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a number from 0 to 1');
  return n;
}

function parseThreads(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}
