/**
 * A face-verification set built offline, for test/faces/*.test.ts and `npm run bench -- faces`.
 *
 * Identities: every face in face-api's demo photos (node_modules/@vladmandic/face-api/demo,
 * six group photos, 22 faces) and the larger faces of the shared COCO images. Each face is cut
 * from its photo in the shape of a person box (shoulders beside, body below), scaled so the
 * face is FACE_HEIGHT pixels tall. Same-identity pairs: the reference crop against its augmentations
 * (smaller, blurred, darker, brighter, heavy JPEG, rotated) made with sharp. Impostor pairs: any
 * two crops of different identities. Each face is taken as its own identity; nobody checked
 * whether one woman appears in two of the demo photos, which would count as a false match.
 *
 * The boxes are the faces' places in the photos (found once with the detector at confidence 0.5
 * on the full photos and checked by eye); they are inputs, not expected results.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import type { DetectedFace, FaceEngine, FaceImage } from '../../src/faces/engine.ts';
import { faceDistance } from '../../src/faces/match.ts';
import { testImagesDir } from './clips.ts';

const demoDir = join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');

type Box = { x: number; y: number; width: number; height: number };

export interface FaceSource {
  identity: string;
  path: string;
  box: Box;
}

const demo = (n: number, boxes: [number, number, number, number][]): FaceSource[] =>
  boxes.map(([x, y, width, height], i) => ({ identity: `sample${n}-${i + 1}`, path: join(demoDir, `sample${n}.jpg`), box: { x, y, width, height } }));
const coco = (id: string, boxes: [number, number, number, number][]): FaceSource[] =>
  boxes.map(([x, y, width, height], i) => ({ identity: `coco${id}-${i + 1}`, path: join(testImagesDir, `000000${id}.jpg`), box: { x, y, width, height } }));

export const FACE_SOURCES: readonly FaceSource[] = [
  ...demo(1, [[414, 355, 177, 240], [838, 421, 186, 228], [1476, 199, 203, 241]]),
  ...demo(2, [[1447, 153, 194, 242], [902, 220, 151, 233], [361, 126, 153, 259]]),
  ...demo(3, [[585, 329, 199, 271], [1514, 292, 170, 280], [1075, 215, 220, 299]]),
  ...demo(4, [[664, 53, 187, 258], [257, 185, 162, 245], [989, 180, 169, 227], [1277, 144, 145, 244]]),
  ...demo(5, [[787, 109, 156, 212], [1113, 198, 158, 236], [1406, 390, 165, 271], [598, 415, 166, 249], [377, 859, 172, 301]]),
  ...demo(6, [[681, 321, 160, 307], [1180, 305, 188, 280], [1487, 263, 212, 296], [250, 468, 210, 291]]),
  ...coco('001296', [[139, 100, 149, 197]]),
  ...coco('001353', [[164, 193, 41, 52]]),
  ...coco('001000', [[461, 222, 40, 58], [547, 211, 42, 47], [420, 175, 38, 45]]),
];

/** Face height in a reference crop, pixels: a person about 2.5 m from a 1080p camera with a 90° field of view. */
export const FACE_HEIGHT = 80;
/** A person box around the face, in face sizes: head and shoulders across, the body below. */
const PERSON_BOX = { side: 1, above: 0.6, below: 5 };

/** The same-identity variants; `reference` is the crop itself. */
export const AUGMENTATIONS: Record<string, (image: Sharp, size: { width: number; height: number }) => Sharp | Promise<Sharp>> = {
  'half size': (image, { width }) => image.resize({ width: Math.round(width / 2) }),
  'blur σ1.5': (image) => image.blur(1.5),
  'darker ×0.55': (image) => image.modulate({ brightness: 0.55 }),
  'brighter ×1.5': (image) => image.modulate({ brightness: 1.5 }),
  'JPEG q15': async (image) => sharp(await image.jpeg({ quality: 15 }).toBuffer()),
  'rotated 10°': (image) => image.rotate(10, { background: '#808080' }),
};

/** A crop and where the face it was cut around is, as fractions of the crop's width and height. */
export interface FaceCrop extends FaceImage {
  faceAt: { x: number; y: number };
}

export interface FaceSample {
  identity: string;
  /** 'reference' or an AUGMENTATIONS key. */
  variant: string;
  image: FaceCrop;
}

async function toImage(image: Sharp): Promise<FaceImage> {
  const { data, info } = await image.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

function fromImage({ data, width, height }: FaceImage): Sharp {
  return sharp(data, { raw: { width, height, channels: 3 } });
}

/** A person-box-shaped crop around the face (cut at the photo's edges), scaled so the face is `faceHeight` pixels tall. */
export async function referenceCrop(source: FaceSource, { faceHeight = FACE_HEIGHT } = {}): Promise<FaceCrop> {
  const photo = sharp(source.path);
  const { width = 0, height = 0 } = await photo.metadata();
  const { box } = source;
  const left = Math.max(0, Math.round(box.x - PERSON_BOX.side * box.width));
  const top = Math.max(0, Math.round(box.y - PERSON_BOX.above * box.height));
  const right = Math.min(width, Math.round(box.x + (1 + PERSON_BOX.side) * box.width));
  const bottom = Math.min(height, Math.round(box.y + (1 + PERSON_BOX.below) * box.height));
  const scale = faceHeight / box.height;
  const cut = await photo.extract({ left, top, width: right - left, height: bottom - top }).toBuffer();
  const image = await toImage(sharp(cut).resize({ width: Math.round((right - left) * scale), height: Math.round((bottom - top) * scale) }));
  const faceAt = { x: (box.x + box.width / 2 - left) / (right - left), y: (box.y + box.height / 2 - top) / (bottom - top) };
  return { ...image, faceAt };
}

/** An augmented copy; the face stays at about the same fractions of the image (rotation is small). */
export async function augment(reference: FaceCrop, variant: string): Promise<FaceCrop> {
  const make = AUGMENTATIONS[variant];
  if (!make) throw new Error(`Unknown augmentation "${variant}"`);
  return { ...(await toImage(await make(fromImage(reference), reference))), faceAt: reference.faceAt };
}

/** Reference crops and their augmentations for the given sources (default all). */
export async function buildFaceSet(sources: readonly FaceSource[] = FACE_SOURCES, variants = Object.keys(AUGMENTATIONS)): Promise<FaceSample[]> {
  const samples: FaceSample[] = [];
  for (const source of sources) {
    const reference = await referenceCrop(source);
    samples.push({ identity: source.identity, variant: 'reference', image: reference });
    for (const variant of variants) samples.push({ identity: source.identity, variant, image: await augment(reference, variant) });
  }
  return samples;
}

/** The found face nearest where the crop's face is: group photos put other faces in a person box. */
export function croppedFace(faces: readonly DetectedFace[], crop: FaceCrop): DetectedFace | undefined {
  const x = crop.faceAt.x * crop.width;
  const y = crop.faceAt.y * crop.height;
  const away = (f: DetectedFace) => Math.hypot(f.box.x + f.box.width / 2 - x, f.box.y + f.box.height / 2 - y);
  const nearest = [...faces].sort((a, b) => away(a) - away(b))[0];
  return nearest && away(nearest) < Math.max(nearest.box.width, nearest.box.height) ? nearest : undefined;
}

export interface EmbeddedSample extends Omit<FaceSample, 'image'> {
  /** Undefined when the detector found no face in the sample. */
  embedding?: Float32Array;
}

export async function embedSamples(engine: FaceEngine, samples: readonly FaceSample[]): Promise<EmbeddedSample[]> {
  const embedded: EmbeddedSample[] = [];
  for (const { identity, variant, image } of samples) {
    embedded.push({ identity, variant, embedding: croppedFace(await engine.detect(image), image)?.embedding });
  }
  return embedded;
}

export interface PairSet {
  /** Reference against each of its augmentations; Infinity where the augmented face was not found. */
  genuine: { identity: string; variant: string; distance: number }[];
  /** Every two samples of different identities in which a face was found. */
  impostor: { a: string; b: string; distance: number }[];
}

export function pairDistances(samples: readonly EmbeddedSample[]): PairSet {
  const genuine: PairSet['genuine'] = [];
  const impostor: PairSet['impostor'] = [];
  const references = new Map(samples.filter((s) => s.variant === 'reference').map((s) => [s.identity, s.embedding]));
  for (const sample of samples) {
    if (sample.variant === 'reference') continue;
    const reference = references.get(sample.identity);
    if (!reference) continue; // the reference itself had no face: that identity says nothing
    genuine.push({ identity: sample.identity, variant: sample.variant, distance: sample.embedding ? faceDistance(reference, sample.embedding) : Infinity });
  }
  const found = samples.filter((s) => s.embedding);
  for (let i = 0; i < found.length; i++) {
    for (let j = i + 1; j < found.length; j++) {
      if (found[i].identity === found[j].identity) continue;
      impostor.push({ a: `${found[i].identity}/${found[i].variant}`, b: `${found[j].identity}/${found[j].variant}`, distance: faceDistance(found[i].embedding!, found[j].embedding!) });
    }
  }
  return { genuine, impostor };
}

/** True match rate (genuine pairs within the threshold) and false match rate (impostors within it). */
export function matchRates(pairs: PairSet, threshold: number): { trueMatchRate: number; falseMatchRate: number } {
  const within = (list: { distance: number }[]) => list.filter((p) => p.distance <= threshold).length / Math.max(1, list.length);
  return { trueMatchRate: within(pairs.genuine), falseMatchRate: within(pairs.impostor) };
}
