/**
 * Evaluation scenes with ground truth, for `npm run bench -- accuracy` and the false-positive
 * tests: the bedroom of clips.ts or a street (COCO 000000001532, a road under a bridge, no people
 * or animals) at 640×360, 10 fps, with rectangular crops of the shared COCO images laid over it — people and animals that walk (real events) and still objects that the
 * detector takes for animals (distractors) — and lighting changes. Clips are cached like clips.ts.
 *
 * Every object moves along straight segments between waypoints (its top-left corner, clip
 * seconds), holding the first position before the first waypoint and the last one after the last,
 * and is drawn over the objects listed before it. Its ground truth (when it is in view, when fully)
 * is computed from the same waypoints that draw it.
 */
import { intersectionArea, type Box } from '../../src/geometry/box.ts';
import { BACKGROUND_IMAGE, backgroundFilter, makeClip, PERSON_CROP, PERSON_IMAGE, sceneDefaults, type Clip } from './clips.ts';

export const SCENE_SIZE = { width: 640, height: 360 } as const;
export const SCENE_FPS = 10;

/** A rectangle of a test image: ffmpeg crop=width:height:x:y. */
export interface Crop {
  image: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Waypoint {
  t: number;
  x: number;
  y: number;
}

export interface SceneObject {
  /** Unique in its scene. */
  name: string;
  /** The COCO label the detector gives it. */
  label: string;
  /** A real event (a person or animal that moves) or a still distractor that must never be one. */
  kind: 'event' | 'distractor';
  crop: Crop;
  /** Its size in the clip. */
  size: { width: number; height: number };
  path: Waypoint[];
}

export interface LightingChange {
  from: number;
  to: number;
  /** ffmpeg eq brightness added while it lasts (-1..1). */
  brightness: number;
}

export interface SceneSpec {
  name: string;
  description: string;
  /** The bedroom (indoors) or the street (outdoors: the detector names animals better there). */
  background: 'bedroom' | 'street';
  seconds: number;
  objects: SceneObject[];
  lighting?: LightingChange[];
}

/** Clip seconds, start inclusive, end exclusive. */
export interface TimeWindow {
  start: number;
  end: number;
}

export interface ObjectTruth {
  object: SceneObject;
  /** Any part of it is in the frame. */
  inView: TimeWindow;
  /** All of it is in the frame. */
  fullyInView: TimeWindow;
}

export interface EvalScene extends SceneSpec {
  clip: Clip;
  truth: ObjectTruth[];
}

// Crops (image pixels). Scores are the raw detector's on the whole source image.
/** The man in person.jpg (person 0.88). */
const MAN: Crop = { image: PERSON_IMAGE, ...PERSON_CROP };
/** The skier in 000000000785.jpg, skis and poles included (person 0.89). */
const SKIER: Crop = { image: '000000000785.jpg', x: 277, y: 54, width: 214, height: 332 };
/** The dog sniffing the ground in person.jpg (dog 0.88). */
const SNIFFING_DOG: Crop = { image: PERSON_IMAGE, x: 61, y: 263, width: 139, height: 87 };
/** The white horse in person.jpg, head down (horse 0.88). */
const WHITE_HORSE: Crop = { image: PERSON_IMAGE, x: 403, y: 138, width: 200, height: 206 };
/** The eagle in eagle.jpg (bird 0.94). */
const EAGLE: Crop = { image: 'eagle.jpg', x: 138, y: 81, width: 465, height: 366 };
/** The sitting dog in dog.jpg (dog 0.85), used as a dog statue. */
const SITTING_DOG: Crop = { image: 'dog.jpg', x: 133, y: 207, width: 192, height: 336 };
/** The bear in 000000000285.jpg (bear 0.95): at statue size the detector calls it a dog. */
const BEAR: Crop = { image: '000000000285.jpg', x: 0, y: 62, width: 579, height: 574 };
/** The lower left of that bear, its muzzle and fur: a bear-face cushion on the chair, called a dog. */
const BEAR_FACE: Crop = { image: '000000000285.jpg', x: 0, y: 300, width: 300, height: 330 };
/** The cat lying on a laptop in 000000001675.jpg (cat 0.53), as a large poster on the wall. */
const CAT_PICTURE: Crop = { image: '000000001675.jpg', x: 0, y: 39, width: 609, height: 291 };

const BACKGROUNDS = { bedroom: BACKGROUND_IMAGE, street: '000000001532.jpg' } as const;

const { width: W, height: H } = SCENE_SIZE;
const MAN_SIZE = { width: 72, height: 234 };
const DOG_SIZE = { width: 166, height: 104 };
const SKIER_SIZE = { width: 150, height: 234 };
/** Feet of a person near the bottom of the frame. */
const PERSON_Y = H - MAN_SIZE.height - 14;
// Distractor placements, with the raw detector's dog/cat hits on the clip frames where they show
// (`npm run bench -- accuracy --raw`, yolox_nano_dynamic, default labels):
/** Street: dog 0.83 median (max 0.86) on 109 of 110 frames (person-past-dog-statue), 105 of 105 (dog-past-dog-statue). */
const DOG_STATUE = { size: { width: 112, height: 196 }, at: { x: 505, y: 158 } };
/** Bedroom floor: dog 0.87 median on 79 % of frames (still-distractors-lighting), 0.85 on 100 % (person-near-bear-statue). */
const BEAR_STATUE = { size: { width: 180, height: 178 }, at: { x: 440, y: 178 } };
/** Bedroom chair: dog 0.65 median on 66 % of frames (still-distractors-lighting), 0.63 on 97 % (person-near-bear-statue). */
const CUSHION = { size: { width: 106, height: 116 }, at: { x: 250, y: 160 } };
/** Bedroom, over the window: cat 0.56 median (max 0.64) on 58 % of frames: the weakest trap. */
const POSTER = { size: { width: 350, height: 168 }, at: { x: 290, y: 20 } };

function still(name: string, label: string, crop: Crop, place: { size: SceneObject['size']; at: { x: number; y: number } }): SceneObject {
  return { name, label, kind: 'distractor', crop, size: place.size, path: [{ t: 0, ...place.at }] };
}

function walker(name: string, label: string, crop: Crop, size: SceneObject['size'], path: Waypoint[]): SceneObject {
  return { name, label, kind: 'event', crop, size, path };
}

/** The evaluation set: 11 scenes, 264 s. */
export const SCENES: readonly SceneSpec[] = [
  {
    name: 'person-past-dog-statue',
    background: 'street',
    description: 'a person walks past (and in front of) a dog statue that is there from the first frame',
    seconds: 24,
    objects: [
      still('statue', 'dog', SITTING_DOG, DOG_STATUE),
      walker('person', 'person', MAN, MAN_SIZE, [{ t: 4, x: -MAN_SIZE.width, y: PERSON_Y }, { t: 13, x: W, y: PERSON_Y }]),
    ],
  },
  {
    name: 'dog-walks',
    background: 'street',
    description: 'a dog walks across the room, right to left',
    seconds: 20,
    objects: [walker('dog', 'dog', SNIFFING_DOG, DOG_SIZE, [{ t: 4, x: W, y: 250 }, { t: 12, x: -DOG_SIZE.width, y: 250 }])],
  },
  {
    name: 'dog-past-dog-statue',
    background: 'street',
    description: 'a real dog walks past the dog statue',
    seconds: 24,
    objects: [
      still('statue', 'dog', SITTING_DOG, DOG_STATUE),
      walker('dog', 'dog', SNIFFING_DOG, DOG_SIZE, [{ t: 4, x: -DOG_SIZE.width, y: 250 }, { t: 14, x: W, y: 250 }]),
    ],
  },
  {
    name: 'horse-walks',
    background: 'street',
    description: 'a horse walks slowly across, right to left',
    seconds: 24,
    objects: [walker('horse', 'horse', WHITE_HORSE, { width: 190, height: 196 }, [{ t: 3, x: W, y: 150 }, { t: 17, x: -190, y: 150 }])],
  },
  {
    name: 'bird-crosses',
    background: 'street',
    description: 'a bird flies across the sky in 5 s',
    seconds: 16,
    objects: [walker('bird', 'bird', EAGLE, { width: 150, height: 118 }, [{ t: 4, x: -150, y: 20 }, { t: 9, x: W, y: 4 }])],
  },
  {
    name: 'two-people',
    background: 'bedroom',
    description: 'two people cross each other, one from each side',
    seconds: 28,
    objects: [
      walker('man', 'person', MAN, MAN_SIZE, [{ t: 3, x: -MAN_SIZE.width, y: PERSON_Y }, { t: 12, x: W, y: PERSON_Y }]),
      walker('skier', 'person', SKIER, SKIER_SIZE, [{ t: 7, x: W, y: PERSON_Y }, { t: 16, x: -SKIER_SIZE.width, y: PERSON_Y }]),
    ],
  },
  {
    name: 'person-stops',
    background: 'bedroom',
    description: 'a person walks in and stands still until the end',
    seconds: 30,
    objects: [walker('person', 'person', MAN, MAN_SIZE, [{ t: 3, x: -MAN_SIZE.width, y: PERSON_Y }, { t: 7, x: 250, y: PERSON_Y }])],
  },
  {
    name: 'still-distractors-lighting',
    background: 'bedroom',
    description: 'a bear statue and a bear-face cushion on the chair, never moving; the light goes up at 10 s and back at 20 s',
    seconds: 30,
    objects: [
      still('cushion', 'dog', BEAR_FACE, CUSHION),
      still('statue', 'dog', BEAR, BEAR_STATUE),
    ],
    lighting: [{ from: 10, to: 20, brightness: 0.25 }],
  },
  {
    name: 'cat-poster-lighting',
    background: 'bedroom',
    description: 'a cat poster over the window; the light dims at 8 s and comes back at 16 s',
    seconds: 24,
    objects: [still('poster', 'cat', CAT_PICTURE, POSTER)],
    lighting: [{ from: 8, to: 16, brightness: -0.15 }],
  },
  {
    name: 'empty-lighting',
    background: 'bedroom',
    description: 'the empty room; the light goes up at 6 s and back at 14 s',
    seconds: 20,
    objects: [],
    lighting: [{ from: 6, to: 14, brightness: 0.3 }],
  },
  {
    name: 'person-near-bear-statue',
    background: 'bedroom',
    description: 'a person walks past a bear-face cushion up to a bear statue, stands between them for 4 s and walks back out',
    seconds: 24,
    objects: [
      still('cushion', 'dog', BEAR_FACE, CUSHION),
      still('statue', 'dog', BEAR, BEAR_STATUE),
      walker('person', 'person', MAN, MAN_SIZE, [
        { t: 4, x: -MAN_SIZE.width, y: PERSON_Y },
        { t: 9, x: 360, y: PERSON_Y },
        { t: 13, x: 360, y: PERSON_Y },
        { t: 18, x: -MAN_SIZE.width, y: PERSON_Y },
      ]),
    ],
  },
];

export function sceneSpec(name: string): SceneSpec {
  const spec = SCENES.find((s) => s.name === name);
  if (!spec) throw new Error(`Unknown scene "${name}". Scenes: ${SCENES.map((s) => s.name).join(', ')}`);
  return spec;
}

/** Makes (or reuses) the scene's clip and computes its ground truth. */
export async function buildScene(spec: SceneSpec): Promise<EvalScene> {
  const format = sceneDefaults({ ...SCENE_SIZE, fps: SCENE_FPS });
  const images = [BACKGROUNDS[spec.background], ...spec.objects.map((o) => o.crop.image)];
  const clip = await makeClip(`scene-${spec.name}`, format, spec.seconds, images, filterGraph(spec));
  return { ...spec, clip, truth: spec.objects.map((object) => truthOf(object, spec.seconds)) };
}

/** Where the object is at clip time t (its box may lie partly or wholly outside the frame). */
export function boxAt(object: SceneObject, t: number): Box {
  const { path, size } = object;
  let at = path[path.length - 1];
  if (t <= path[0].t) at = path[0];
  else {
    for (let i = 1; i < path.length; i++) {
      const [a, b] = [path[i - 1], path[i]];
      if (t < b.t) {
        const f = (t - a.t) / (b.t - a.t);
        at = { t, x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f };
        break;
      }
    }
  }
  return { x: at.x, y: at.y, width: size.width, height: size.height };
}

/** The part of the object's box inside the frame at time t (what a detector can see of it). */
export function boxInFrame(object: SceneObject, t: number): Box {
  return clipTo(boxAt(object, t), { x: 0, y: 0, ...SCENE_SIZE });
}

/** The share of the object's box, at time t, that is inside the frame and not covered by objects drawn over it. */
export function visibleShare(scene: SceneSpec, object: SceneObject, t: number): number {
  const box = boxAt(object, t);
  const frame = { x: 0, y: 0, ...SCENE_SIZE };
  const inFrame = intersectionArea(box, frame);
  const above = scene.objects.slice(scene.objects.indexOf(object) + 1);
  const covered = above.reduce((sum, other) => sum + intersectionArea(box, clipTo(boxAt(other, t), frame)), 0);
  return Math.max(0, inFrame - covered) / (box.width * box.height);
}

function truthOf(object: SceneObject, seconds: number): ObjectTruth {
  const frame = { x: 0, y: 0, ...SCENE_SIZE };
  const area = object.size.width * object.size.height;
  const frames = Array.from({ length: Math.round(seconds * SCENE_FPS) }, (_, i) => i / SCENE_FPS);
  const share = frames.map((t) => intersectionArea(boxAt(object, t), frame) / area);
  return { object, inView: windowWhere(frames, share.map((s) => s > 0), seconds), fullyInView: windowWhere(frames, share.map((s) => s >= 1), seconds) };
}

/** The first to the last frame time where `flags` holds (the scenes' objects are in view once, without gaps). */
function windowWhere(times: number[], flags: boolean[], seconds: number): TimeWindow {
  const first = flags.indexOf(true);
  const last = flags.lastIndexOf(true);
  if (first < 0) throw new Error('a scene object is never in view');
  return { start: times[first], end: last + 1 < times.length ? times[last + 1] : seconds };
}

function clipTo(box: Box, frame: Box): Box {
  const x = Math.max(box.x, frame.x);
  const y = Math.max(box.y, frame.y);
  return { x, y, width: Math.max(0, Math.min(box.x + box.width, frame.x + frame.width) - x), height: Math.max(0, Math.min(box.y + box.height, frame.y + frame.height) - y) };
}

/** Input 0 is the background, input i + 1 the image of object i. */
function filterGraph(spec: SceneSpec): string {
  const parts = [`${backgroundFilter('0:v', W, H)}[s0]`];
  spec.objects.forEach((o, i) => {
    const { crop, size } = o;
    parts.push(`[${i + 1}:v]crop=${crop.width}:${crop.height}:${crop.x}:${crop.y},scale=${size.width}:${size.height},setsar=1[o${i}]`);
    parts.push(`[s${i}][o${i}]overlay=x='${pathExpression(o.path, 'x')}':y='${pathExpression(o.path, 'y')}'[s${i + 1}]`);
  });
  const lights = (spec.lighting ?? []).map((l) => `eq=brightness=${l.brightness}:enable='between(t,${l.from},${l.to})'`);
  parts.push(`[s${spec.objects.length}]${[...lights, 'format=yuv420p'].join(',')}[v]`);
  return parts.join(';');
}

/** ffmpeg expression of t for one coordinate: linear between waypoints, held before the first and after the last. */
function pathExpression(path: Waypoint[], axis: 'x' | 'y'): string {
  let expression = String(path[path.length - 1][axis]);
  for (let i = path.length - 1; i >= 1; i--) {
    const [a, b] = [path[i - 1], path[i]];
    const segment = `${a[axis]}+(${b[axis] - a[axis]})*(t-${a.t})/${b.t - a.t}`;
    expression = `if(lt(t,${b.t}),${segment},${expression})`;
  }
  return `if(lt(t,${path[0].t}),${path[0][axis]},${expression})`;
}
