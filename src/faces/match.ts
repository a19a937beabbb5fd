/**
 * Matching face embeddings (128 floats from src/faces/engine.ts) by Euclidean distance, the space
 * face-api's descriptor was trained in: the same person is usually below 0.6 (face-api's default).
 */

/**
 * Largest distance still taken as the same person, chosen with `npm run bench -- faces`
 * (BENCHMARKS.md): on its offline set every same-face pair whose faces were found is within 0.45,
 * while impostors within it fall from 5.4 % at face-api's default of 0.6 to 0.1 %. Strict on
 * purpose: a stranger taken for a resident can close the shutter; a resident taken for a stranger
 * is only reported as an unknown face (several enrolled photos per resident make that rarer).
 */
export const MATCH_DISTANCE = 0.45;

export function faceDistance(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`Embeddings differ in length: ${a.length} and ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/**
 * The resident whose nearest enrolled embedding is closest, if that distance is at most
 * `maxDistance`; ties go to the resident listed first. Undefined when nobody is close enough.
 */
export function bestMatch(
  embedding: Float32Array,
  residents: readonly { id: string; embeddings: readonly Float32Array[] }[],
  maxDistance: number = MATCH_DISTANCE,
): { id: string; distance: number } | undefined {
  let best: { id: string; distance: number } | undefined;
  for (const resident of residents) {
    for (const enrolled of resident.embeddings) {
      if (enrolled.length !== embedding.length) continue;
      const distance = faceDistance(embedding, enrolled);
      if (distance <= maxDistance && (!best || distance < best.distance)) best = { id: resident.id, distance };
    }
  }
  return best;
}
