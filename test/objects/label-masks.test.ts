import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pointInPolygon, type Polygon } from '../../src/geometry/polygon.ts';
import { LabelMaskError, LabelMaskRepository, MAX_MASK_POINTS, MAX_MASKS_PER_LABEL, proposeMaskAround } from '../../src/objects/label-masks.ts';
import { openDatabase, type Db } from '../../src/storage/database.ts';

const HYDRANT: Polygon = [
  [400, 200],
  [460, 200],
  [460, 300],
  [400, 300],
];

function withRepository(fn: (repo: LabelMaskRepository, db: Db, path: string) => void, now?: () => number): void {
  const dir = mkdtempSync(join(tmpdir(), 'volet-label-masks-'));
  const path = join(dir, 'volet.db');
  const db = openDatabase(path);
  try {
    fn(new LabelMaskRepository(db, now), db, path);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const refusal = (kind: 'invalid' | 'limit', message: RegExp) => (err: unknown) =>
  err instanceof LabelMaskError && err.kind === kind && message.test(err.message);

test('a mask is stored with who made it and when, listed per camera, and survives reopening the database', () => {
  withRepository(
    (repo, db, path) => {
      const added = repo.add({ camera: 'street', label: 'dog', polygon: HYDRANT, eventId: 'ev-1', createdBy: 'alice' });
      repo.add({ camera: 'garden', label: 'cat', polygon: HYDRANT, createdBy: 'bob' });
      assert.match(added.id, /^[A-Za-z0-9_-]{1,64}$/, 'the id is a valid API path parameter');
      assert.deepEqual(added, { id: added.id, camera: 'street', label: 'dog', polygon: HYDRANT, eventId: 'ev-1', createdBy: 'alice', createdMs: 1_764_000_000_000 });
      assert.deepEqual(repo.list('street'), [added]);
      assert.deepEqual(repo.list().map((m) => m.camera).sort(), ['garden', 'street']);
      assert.equal(repo.list('garden')[0].eventId, null);

      const second = openDatabase(path);
      assert.deepEqual(new LabelMaskRepository(second).list('street'), [added]);
      second.close();
      assert.equal(db.prepare('SELECT COUNT(*) FROM label_masks').pluck().get(), 2);
    },
    () => 1_764_000_000_000,
  );
});

test('masksFor groups polygons by label, answers from memory, and sees adds and removes at once', () => {
  withRepository((repo, db) => {
    assert.equal(repo.masksFor('street').size, 0);
    const dog = repo.add({ camera: 'street', label: 'dog', polygon: HYDRANT, createdBy: 'alice' });
    const first = repo.masksFor('street');
    assert.deepEqual([...first.keys()], ['dog']);
    assert.deepEqual(first.get('dog'), [HYDRANT]);
    assert.equal(repo.masksFor('street'), first, 'the same map until something changes');

    // Rows written behind the repository's back are not seen: the cache really answers.
    db.prepare("INSERT INTO label_masks VALUES ('sneaky', 'street', 'cat', '[[0,0],[9,0],[9,9]]', NULL, 'x', 1)").run();
    assert.equal(repo.masksFor('street').has('cat'), false);

    const gardenBefore = repo.masksFor('garden');
    repo.add({ camera: 'street', label: 'dog', polygon: [[0, 0], [50, 0], [0, 50]], createdBy: 'alice' });
    const second = repo.masksFor('street');
    assert.notEqual(second, first, 'adding invalidates that camera');
    assert.equal(second.get('dog')?.length, 2);
    assert.equal(second.get('cat')?.length, 1, 'reloaded from the table');
    assert.equal(repo.masksFor('garden'), gardenBefore, 'other cameras keep their cache');

    assert.deepEqual(repo.remove(dog.id), dog);
    assert.equal(repo.remove(dog.id), undefined, 'a second remove finds nothing');
    assert.deepEqual(repo.masksFor('street').get('dog'), [[[0, 0], [50, 0], [0, 50]]]);
    assert.deepEqual(repo.list('street').map((m) => m.id).includes(dog.id), false);
  });
});

test('the cached polygons cannot be changed by the pipeline that reads them', () => {
  withRepository((repo) => {
    repo.add({ camera: 'street', label: 'dog', polygon: HYDRANT, createdBy: 'alice' });
    const polygons = repo.masksFor('street').get('dog')!;
    assert.throws(() => (polygons as Polygon[]).push([[0, 0], [1, 0], [0, 1]] as never));
    assert.throws(() => {
      polygons[0][0][0] = 0;
    });
    assert.deepEqual(repo.masksFor('street').get('dog'), [HYDRANT]);
  });
});

test('bad polygons and labels are refused with a message that says what is wrong, and nothing is stored', () => {
  withRepository((repo) => {
    const add = (polygon: unknown, label = 'dog') => () => repo.add({ camera: 'street', label, polygon: polygon as Polygon, createdBy: 'alice' });
    assert.throws(add([[0, 0], [10, 0]]), refusal('invalid', /^polygon: a polygon needs at least 3 points/));
    assert.throws(add('nope'), refusal('invalid', /at least 3 points/));
    assert.throws(add([[0, 0], [10, 0], [10, Number.NaN]]), refusal('invalid', /^polygon: point 2 .*not a finite number/));
    assert.throws(add([[0, 0], [10, 0], [10, Infinity]]), refusal('invalid', /point 2 .*finite/));
    assert.throws(add([[0, 0], [10, -1], [10, 10]]), refusal('invalid', /point 1 has a negative coordinate/));
    assert.throws(add([[0, 0], [10, 0], [10]]), refusal('invalid', /point 2 is not \[x, y\]/));
    assert.throws(add([[0, 0], [5, 5], [10, 10]]), refusal('invalid', /enclose no area/));
    const tooMany = Array.from({ length: MAX_MASK_POINTS + 1 }, (_, i) => [100 + 50 * Math.cos(i), 100 + 50 * Math.sin(i)]);
    assert.throws(add(tooMany), refusal('invalid', new RegExp(`at most ${MAX_MASK_POINTS} points \\(got ${MAX_MASK_POINTS + 1}\\)`)));
    assert.doesNotThrow(add(tooMany.slice(0, MAX_MASK_POINTS)));
    assert.throws(add(HYDRANT, ''), refusal('invalid', /^label:/));
    assert.throws(add(HYDRANT, 'dog<script>'), refusal('invalid', /^label:/));
    assert.throws(() => repo.add({ camera: '', label: 'dog', polygon: HYDRANT, createdBy: 'alice' }), refusal('invalid', /^camera:/));
    assert.equal(repo.list().length, 1, 'only the valid 32-point mask was stored');
  });
});

test(`at most ${MAX_MASKS_PER_LABEL} masks per camera and label; other labels and cameras are not affected`, () => {
  withRepository((repo) => {
    for (let i = 0; i < MAX_MASKS_PER_LABEL; i++) repo.add({ camera: 'street', label: 'dog', polygon: HYDRANT, createdBy: 'alice' });
    const before = repo.masksFor('street');
    assert.throws(
      () => repo.add({ camera: 'street', label: 'dog', polygon: HYDRANT, createdBy: 'alice' }),
      refusal('limit', new RegExp(`"street" already has ${MAX_MASKS_PER_LABEL} masks for "dog"; remove one first`)),
    );
    assert.equal(repo.masksFor('street'), before, 'a refused add changes nothing');
    repo.add({ camera: 'street', label: 'cat', polygon: HYDRANT, createdBy: 'alice' });
    repo.add({ camera: 'garden', label: 'dog', polygon: HYDRANT, createdBy: 'alice' });
    assert.equal(repo.list('street').length, MAX_MASKS_PER_LABEL + 1);
  });
});

test('the proposal around a box is the box grown by 15 % of its size on each side, in whole pixels', () => {
  const frame = { width: 640, height: 360 };
  assert.deepEqual(proposeMaskAround({ x: 400, y: 200, width: 60, height: 100 }, frame), [
    [391, 185],
    [469, 185],
    [469, 315],
    [391, 315],
  ]);
  assert.deepEqual(proposeMaskAround({ x: 100, y: 100, width: 100, height: 100 }, frame, 0), [
    [100, 100],
    [200, 100],
    [200, 200],
    [100, 200],
  ]);
});

test('the proposal is clipped to the frame at every edge', () => {
  const frame = { width: 640, height: 360 };
  assert.deepEqual(proposeMaskAround({ x: 0, y: 0, width: 100, height: 100 }, frame), [
    [0, 0],
    [115, 0],
    [115, 115],
    [0, 115],
  ]);
  assert.deepEqual(proposeMaskAround({ x: 560, y: 300, width: 80, height: 60 }, frame), [
    [548, 291],
    [640, 291],
    [640, 360],
    [548, 360],
  ]);
  assert.deepEqual(proposeMaskAround({ x: -20, y: 0, width: 700, height: 360 }, frame), [
    [0, 0],
    [640, 0],
    [640, 360],
    [0, 360],
  ]);
});

test('any box in the frame gets a proposal inside the frame that covers the whole box and is a valid mask', () => {
  const frame = { width: 640, height: 360 };
  const box = fc
    .record({ x: fc.double({ min: 0, max: 639, noNaN: true }), y: fc.double({ min: 0, max: 359, noNaN: true }), w: fc.double({ min: 1, max: 640, noNaN: true }), h: fc.double({ min: 1, max: 360, noNaN: true }) })
    .map(({ x, y, w, h }) => ({ x, y, width: Math.min(w, 640 - x), height: Math.min(h, 360 - y) }))
    .filter((b) => b.width >= 1 && b.height >= 1);
  fc.assert(
    fc.property(box, fc.double({ min: 0, max: 1, noNaN: true }), (b, margin) => {
      const polygon = proposeMaskAround(b, frame, margin);
      assert.equal(polygon.length, 4);
      for (const [x, y] of polygon) assert.ok(Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && x <= 640 && y <= 360);
      const [[left, top], , [right, bottom]] = polygon;
      assert.ok(left <= b.x + 1e-6 && top <= b.y + 1e-6 && right >= b.x + b.width - 1e-6 && bottom >= b.y + b.height - 1e-6, 'covers the box');
      assert.ok(pointInPolygon([b.x + b.width / 2, b.y + b.height / 2], polygon));
      withRepository((repo) => assert.doesNotThrow(() => repo.add({ camera: 'c', label: 'dog', polygon, createdBy: 'a' })));
    }),
    { numRuns: 40 },
  );
});
