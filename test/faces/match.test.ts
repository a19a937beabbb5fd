import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bestMatch, faceDistance, MATCH_DISTANCE } from '../../src/faces/match.ts';

const embedding = fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 128, maxLength: 128 }).map((v) => Float32Array.from(v));

test('face distance is a metric: zero to itself, symmetric, and obeys the triangle inequality', () => {
  fc.assert(
    fc.property(embedding, embedding, embedding, (a, b, c) => {
      assert.equal(faceDistance(a, a), 0);
      assert.equal(faceDistance(a, b), faceDistance(b, a));
      assert.ok(faceDistance(a, c) <= faceDistance(a, b) + faceDistance(b, c) + 1e-9);
    }),
  );
});

test('face distance is the Euclidean distance and refuses embeddings of different lengths', () => {
  assert.equal(faceDistance(Float32Array.of(0, 0), Float32Array.of(3, 4)), 5);
  assert.throws(() => faceDistance(new Float32Array(128), new Float32Array(127)), /differ in length/);
});

test('the chosen threshold is below face-api’s published default of 0.6', () => {
  assert.ok(MATCH_DISTANCE > 0 && MATCH_DISTANCE <= 0.6, `MATCH_DISTANCE ${MATCH_DISTANCE}`);
});

function shifted(base: Float32Array, by: number): Float32Array {
  const out = Float32Array.from(base);
  out[0] += by;
  return out;
}

test('best match is the resident with the nearest enrolled face within the threshold, or nobody', () => {
  const probe = new Float32Array(128).fill(0.1);
  const alice = { id: 'alice', embeddings: [shifted(probe, 0.9), shifted(probe, 0.3)] };
  const bob = { id: 'bob', embeddings: [shifted(probe, 0.2)] };
  const carol = { id: 'carol', embeddings: [] };
  const match = bestMatch(probe, [alice, bob, carol], 0.5);
  assert.equal(match?.id, 'bob');
  assert.ok(Math.abs(match.distance - 0.2) < 1e-6);
  assert.equal(bestMatch(probe, [alice, bob], 0.1), undefined, 'nobody within 0.1');
  assert.equal(bestMatch(probe, [alice], faceDistance(probe, alice.embeddings[1]))?.id, 'alice', 'a distance equal to the threshold matches');
  assert.equal(bestMatch(probe, []), undefined);
  assert.equal(bestMatch(probe, [{ id: 'odd', embeddings: [new Float32Array(64)] }], 10), undefined, 'an embedding of another length is ignored');
});

test('best match never returns a resident farther than the threshold and never misses the nearest one', () => {
  const resident = fc.record({ id: fc.uuid(), embeddings: fc.array(embedding, { maxLength: 3 }) });
  fc.assert(
    fc.property(embedding, fc.array(resident, { maxLength: 4 }), fc.double({ min: 0, max: 12, noNaN: true }), (probe, residents, max) => {
      const match = bestMatch(probe, residents, max);
      const nearest = Math.min(...residents.flatMap((r) => r.embeddings.map((e) => faceDistance(probe, e))));
      if (nearest <= max) {
        assert.ok(match, 'someone is within the threshold');
        assert.equal(match.distance, nearest);
        assert.ok(residents.find((r) => r.id === match.id)!.embeddings.some((e) => faceDistance(probe, e) === nearest));
      } else {
        assert.equal(match, undefined);
      }
    }),
  );
});
