import type { Box } from '../../src/geometry/box.ts';

/** Deterministic pseudo-random numbers in [0, 1) so frames are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Mid-grey texture (60–140) like a real scene, so a background is not trivially flat. */
export function texture(width: number, height: number, seed = 1): Uint8Array {
  const random = seededRandom(seed);
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = 60 + Math.floor(random() * 81);
  return data;
}

export function withSquares(base: Uint8Array, width: number, squares: Box[], value = 230): Uint8Array {
  const data = Uint8Array.from(base);
  for (const square of squares) {
    for (let y = square.y; y < square.y + square.height; y++) {
      data.fill(value, y * width + square.x, y * width + square.x + square.width);
    }
  }
  return data;
}

export function withNoise(base: Uint8Array, amplitude: number, random: () => number): Uint8Array {
  return base.map((v) => Math.min(255, Math.max(0, v + Math.round((random() * 2 - 1) * amplitude))));
}

export function brightened(base: Uint8Array, delta: number): Uint8Array {
  return base.map((v) => Math.min(255, v + delta));
}
