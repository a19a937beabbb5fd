import { monitorEventLoopDelay } from 'node:perf_hooks';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createFaceEngine, type FaceEngine, type FaceImage } from '../src/faces/engine.ts';
import { MATCH_DISTANCE } from '../src/faces/match.ts';
import { PERSON_CROP, PERSON_IMAGE, testImagesDir } from '../test/support/clips.ts';
import { buildFaceSet, embedSamples, matchRates, pairDistances, referenceCrop, FACE_SOURCES } from '../test/support/face-set.ts';
import { option, textOption } from './options.ts';
import { percentile } from './proc-usage.ts';

/**
 * `npm run bench -- faces [--detector tiny|ssd] [--seconds N] [--cameras N]`: face-api in its worker (src/faces/engine.ts)
 * — match rates on the offline set of test/support/face-set.ts at MATCH_DISTANCE and nearby
 * thresholds, ms per crop with and without a face, and the process's CPU when N cameras each send
 * one person crop a second (FaceSampler's default rate for a track not yet recognised).
 */

const THRESHOLDS = [0.4, 0.45, 0.5, 0.55, 0.6];
/** The upstream face-api.js README (github.com/justadudewhohacks/face-api.js, "Face Recognition
 *  Model"; @vladmandic/face-api ships the same weights): "a ResNet-34 like architecture ... achieves
 *  a prediction accuracy of 99.38% on the LFW benchmark". dlib's dnn_face_recognition_ex.cpp, where
 *  the weights come from, adds that 99.38% needs descriptors averaged over jittered copies. */
const PUBLISHED = 'LFW accuracy 99.38% (face-api.js README; dlib: with jittered descriptors), distance 0.6';

export async function benchFaces(args: string[]): Promise<void> {
  const seconds = option(args, '--seconds', 20);
  const cameras = option(args, '--cameras', 4);
  const loadStarted = performance.now();
  const detector = textOption(args, '--detector') ?? 'tiny';
  if (detector !== 'tiny' && detector !== 'ssd') throw new Error('--detector is tiny or ssd');
  const engine = await createFaceEngine({ maxQueue: 2 * cameras, detector });
  print(`engine ready in ${(performance.now() - loadStarted).toFixed(0)} ms (${detector} detector, worker, tfjs wasm backend, 1 thread)`);
  try {
    await accuracy(engine);
    await costPerCrop(engine);
    await cameraLoad(engine, cameras, seconds);
  } finally {
    await engine.close();
  }
}

async function accuracy(engine: FaceEngine): Promise<void> {
  const samples = await buildFaceSet();
  const embedded = await embedSamples(engine, samples);
  const pairs = pairDistances(embedded);
  const references = embedded.filter((s) => s.variant === 'reference');
  const missed = embedded.filter((s) => !s.embedding);
  print(`\nset: ${references.length} identities, ${samples.length} crops, ${pairs.genuine.length} same-identity pairs, ${pairs.impostor.length} impostor pairs`);
  print(`no face found in ${missed.length} crops: ${missed.map((s) => `${s.identity}/${s.variant}`).join(', ') || 'none'} (counted as missed matches)`);
  const found = { genuine: pairs.genuine.filter((p) => Number.isFinite(p.distance)), impostor: pairs.impostor };
  print(`threshold | true match rate | … where both faces were found (${found.genuine.length}) | false match rate`);
  for (const threshold of THRESHOLDS) {
    const { trueMatchRate, falseMatchRate } = matchRates(pairs, threshold);
    const mark = threshold === MATCH_DISTANCE ? '  ← MATCH_DISTANCE' : '';
    const impostors = `${pct(falseMatchRate)} (${Math.round(falseMatchRate * pairs.impostor.length)})`;
    print(`${threshold.toFixed(2).padStart(9)} | ${pct(trueMatchRate).padStart(15)} | ${pct(matchRates(found, threshold).trueMatchRate).padStart(34)} | ${impostors.padStart(16)}${mark}`);
  }
  const byVariant = new Map<string, number[]>();
  for (const pair of pairs.genuine) byVariant.set(pair.variant, [...(byVariant.get(pair.variant) ?? []), pair.distance]);
  print(`same-identity distance by augmentation (median / worst), matched at ${MATCH_DISTANCE}:`);
  for (const [variant, distances] of byVariant) {
    const matched = distances.filter((d) => d <= MATCH_DISTANCE).length;
    print(`  ${variant.padEnd(14)} ${fmt(percentile(distances, 50))} / ${fmt(Math.max(...distances))}  ${matched}/${distances.length}`);
  }
  const closest = [...pairs.impostor].sort((a, b) => a.distance - b.distance).slice(0, 3);
  print(`closest impostors: ${closest.map((p) => `${p.a}~${p.b} ${p.distance.toFixed(3)}`).join(', ')}`);
  print(`published: ${PUBLISHED}`);
}

async function costPerCrop(engine: FaceEngine): Promise<void> {
  const withFace = await Promise.all(FACE_SOURCES.slice(0, 6).map((s) => referenceCrop(s)));
  const withoutFace = await personCrop();
  // Wall time depends on what else the machine runs; CPU time of the process (its main thread idles) less so.
  let cpuMicros = 0;
  let crops = 0;
  const time = async (image: FaceImage, rounds: number) => {
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      await engine.detect(image);
      times.push(performance.now() - t0);
      const used = process.cpuUsage(cpu);
      cpuMicros += used.user + used.system;
      crops++;
    }
    return times;
  };
  const faceTimes: number[] = [];
  for (const image of withFace) faceTimes.push(...(await time(image, 4)));
  const emptyTimes = await time(withoutFace, 12);
  print(`\nms per crop (detect + landmarks + descriptor, round trip to the worker), p50 / p95:`);
  print(`  one face, ${withFace[0].width}×${withFace[0].height}-ish crops: ${fmt(percentile(faceTimes, 50))} / ${fmt(percentile(faceTimes, 95))}`);
  print(`  no face (the man of ${PERSON_IMAGE}, ${withoutFace.width}×${withoutFace.height}): ${fmt(percentile(emptyTimes, 50))} / ${fmt(percentile(emptyTimes, 95))}`);
  print(`  CPU per crop (process, mean of both kinds): ${(cpuMicros / 1000 / crops).toFixed(0)} ms; load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores`);
}

/** `cameras` crops a second (one per camera), alternating crops with and without a face. */
async function cameraLoad(engine: FaceEngine, cameras: number, seconds: number): Promise<void> {
  const crops = [...(await Promise.all(FACE_SOURCES.slice(0, 4).map((s) => referenceCrop(s)))), await personCrop()];
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let sent = 0;
  let dropped = 0;
  const pending: Promise<unknown>[] = [];
  lag.enable();
  for (let tick = 0; tick < seconds; tick++) {
    for (let camera = 0; camera < cameras; camera++) {
      pending.push(engine.detect(crops[sent++ % crops.length]).catch(() => dropped++));
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  await Promise.all(pending);
  lag.disable();
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuPercent = ((cpu.user + cpu.system) / 1e6 / elapsed) * 100;
  print(`\n${cameras} cameras × 1 person crop/s for ${seconds} s: CPU ${cpuPercent.toFixed(0)}% of one core (whole process), ${dropped}/${sent} dropped (queue bound ${2 * cameras})`);
  print(`  main event loop delay: p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(1)} ms`);
}

/** The person that personWalkClip walks across the room: too small and turned away for a face. */
async function personCrop(): Promise<FaceImage> {
  const { width, height, x, y } = PERSON_CROP;
  const { data, info } = await sharp(join(testImagesDir, PERSON_IMAGE)).extract({ left: x, top: y, width, height }).removeAlpha().raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

const pct = (rate: number) => `${(rate * 100).toFixed(rate > 0 && rate < 0.01 ? 2 : 1)}%`;
const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(ms < 10 ? 3 : 0) : '∞');
const print = (line: string) => process.stdout.write(`${line}\n`);
