import { boxArea, type Box } from '../geometry/box.ts';
import { boxInPolygon, type Polygon } from '../geometry/polygon.ts';

/**
 * What a label must look like to be tracked and to become an event (Frigate's object filters).
 * Areas are fractions of the frame; ratios are box width ÷ height.
 */
export interface LabelFilter {
  /** Detections below this score are ignored: nothing is tracked from them. */
  minScore: number;
  /** A track becomes an event once the median of its recent scores reaches this. */
  threshold: number;
  minArea: number;
  maxArea: number;
  minRatio: number;
  maxRatio: number;
  /** Polygons (detect-size pixels) where this label is ignored: a box whose bottom centre is inside. */
  masks: Polygon[];
}

/** A label's setting in the config: a bare minimum score, or a partial filter. */
export type LabelSetting = number | Partial<LabelFilter>;

type Shape = Omit<LabelFilter, 'minScore' | 'masks'>;

/**
 * Defaults per label, measured with `npm run bench -- accuracy` (see BENCHMARKS.md): people
 * stand tall and are detected confidently; animals are where a small model hallucinates (a fire
 * hydrant as a dog), so their median must be higher. Areas are loose: the smallest box a
 * 416-pixel model finds reliably, and nothing that fills the frame but a person at the lens.
 */
const PERSON: Shape = { threshold: 0.6, minArea: 0.002, maxArea: 1, minRatio: 0.15, maxRatio: 2 };
const SMALL_ANIMAL: Shape = { threshold: 0.65, minArea: 0.001, maxArea: 0.8, minRatio: 0.3, maxRatio: 4 };
const LARGE_ANIMAL: Shape = { threshold: 0.65, minArea: 0.002, maxArea: 0.9, minRatio: 0.4, maxRatio: 4 };
const BIRD: Shape = { threshold: 0.65, minArea: 0.0005, maxArea: 0.6, minRatio: 0.25, maxRatio: 4 };
const OTHER: Shape = { threshold: 0.7, minArea: 0, maxArea: 1, minRatio: 0, maxRatio: Infinity };

const SHAPES: Record<string, Shape> = {
  person: PERSON,
  bird: BIRD,
  cat: SMALL_ANIMAL,
  dog: SMALL_ANIMAL,
  sheep: LARGE_ANIMAL,
  horse: LARGE_ANIMAL,
  cow: LARGE_ANIMAL,
  elephant: LARGE_ANIMAL,
  bear: LARGE_ANIMAL,
  zebra: LARGE_ANIMAL,
  giraffe: { ...LARGE_ANIMAL, minRatio: 0.2 },
};

export const DEFAULT_MIN_SCORE = 0.5;

/** The label's defaults, for documentation and for settings that leave fields out. */
export function defaultLabelFilter(label: string): LabelFilter {
  return { minScore: DEFAULT_MIN_SCORE, ...(SHAPES[label] ?? OTHER), masks: [] };
}

/** The full filter of a configured label; throws a RangeError naming the field when it contradicts itself. */
export function resolveLabelFilter(label: string, setting: LabelSetting): LabelFilter {
  const given = typeof setting === 'number' ? { minScore: setting } : setting;
  const defined = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
  const filter: LabelFilter = { ...defaultLabelFilter(label), ...defined };
  if (filter.minArea > filter.maxArea) throw new RangeError(`minArea (${filter.minArea}) is above maxArea (${filter.maxArea})`);
  if (filter.minRatio > filter.maxRatio) throw new RangeError(`minRatio (${filter.minRatio}) is above maxRatio (${filter.maxRatio})`);
  return filter;
}

export function resolveLabelFilters(settings: Record<string, LabelSetting>): Record<string, LabelFilter> {
  return Object.fromEntries(Object.entries(settings).map(([label, setting]) => [label, resolveLabelFilter(label, setting)]));
}

export type Rejection = 'score' | 'area' | 'ratio' | 'mask';

/**
 * Why a detection of a tracked label is not tracked, or undefined when it is. `extraMasks` are
 * the masks users added from the viewer, beside the configured ones.
 */
export function rejectDetection(
  detection: { score: number; box: Box },
  filter: LabelFilter,
  frame: { width: number; height: number },
  extraMasks: readonly Polygon[] = [],
): Rejection | undefined {
  const { box } = detection;
  if (detection.score < filter.minScore) return 'score';
  const area = boxArea(box) / (frame.width * frame.height);
  if (area < filter.minArea || area > filter.maxArea) return 'area';
  const ratio = box.height > 0 ? box.width / box.height : Infinity;
  if (ratio < filter.minRatio || ratio > filter.maxRatio) return 'ratio';
  for (const mask of [...filter.masks, ...extraMasks]) if (boxInPolygon(box, mask)) return 'mask';
  return undefined;
}
