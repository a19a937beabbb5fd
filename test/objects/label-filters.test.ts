import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.ts';
import { defaultLabelFilter, rejectDetection, resolveLabelFilter } from '../../src/objects/label-filters.ts';

const FRAME = { width: 640, height: 360 };
const box = (x: number, y: number, width: number, height: number) => ({ x, y, width, height });

test('a bare number is the minimum score; every other field keeps the label default', () => {
  const dog = resolveLabelFilter('dog', 0.55);
  assert.deepEqual(dog, { ...defaultLabelFilter('dog'), minScore: 0.55 });
  const person = resolveLabelFilter('person', { threshold: 0.8, maxRatio: 1.5 });
  assert.equal(person.threshold, 0.8);
  assert.equal(person.maxRatio, 1.5);
  assert.equal(person.minRatio, defaultLabelFilter('person').minRatio);
  assert.ok(defaultLabelFilter('dog').threshold > defaultLabelFilter('person').threshold, 'animals need a higher median than people');
  assert.throws(() => resolveLabelFilter('cat', { minArea: 0.5, maxArea: 0.2 }), /minArea \(0.5\) is above maxArea \(0.2\)/);
  assert.throws(() => resolveLabelFilter('cat', { minRatio: 3, maxRatio: 2 }), /minRatio/);
});

test('score: below minScore is rejected, at it is kept', () => {
  const filter = resolveLabelFilter('person', 0.5);
  const upright = box(100, 100, 40, 100);
  assert.equal(rejectDetection({ score: 0.49, box: upright }, filter, FRAME), 'score');
  assert.equal(rejectDetection({ score: 0.5, box: upright }, filter, FRAME), undefined);
});

test('area: boxes smaller or larger than the label allows are rejected, as fractions of the frame', () => {
  const filter = resolveLabelFilter('dog', { minArea: 0.01, maxArea: 0.5, minRatio: 0, maxRatio: 100 });
  const frameArea = FRAME.width * FRAME.height;
  const side = (fraction: number) => Math.sqrt(fraction * frameArea);
  assert.equal(rejectDetection({ score: 0.9, box: box(0, 0, side(0.009), side(0.009)) }, filter, FRAME), 'area');
  assert.equal(rejectDetection({ score: 0.9, box: box(0, 0, side(0.011), side(0.011)) }, filter, FRAME), undefined);
  assert.equal(rejectDetection({ score: 0.9, box: box(0, 0, 640, 300) }, filter, FRAME), 'area', '83 % of the frame');
});

test('ratio: a "person" lying flat or a sliver is rejected by the default person shape', () => {
  const filter = defaultLabelFilter('person');
  assert.equal(rejectDetection({ score: 0.9, box: box(0, 100, 200, 60) }, filter, FRAME), 'ratio', 'width 3.3 × height');
  assert.equal(rejectDetection({ score: 0.9, box: box(0, 0, 8, 200) }, filter, FRAME), 'ratio', 'width 0.04 × height');
  assert.equal(rejectDetection({ score: 0.9, box: box(0, 50, 60, 200) }, filter, FRAME), undefined);
});

test('masks: a box whose bottom centre is inside one of the label masks (configured or added by a user) is rejected', () => {
  const hydrant = [[300, 200], [360, 200], [360, 280], [300, 280]] as [number, number][];
  const configured = resolveLabelFilter('dog', { masks: [hydrant] });
  const atHydrant = box(310, 210, 40, 60); // bottom centre (330, 270)
  const beside = box(420, 210, 40, 60);
  assert.equal(rejectDetection({ score: 0.9, box: atHydrant }, configured, FRAME), 'mask');
  assert.equal(rejectDetection({ score: 0.9, box: beside }, configured, FRAME), undefined);
  const plain = defaultLabelFilter('dog');
  assert.equal(rejectDetection({ score: 0.9, box: atHydrant }, plain, FRAME), undefined);
  assert.equal(rejectDetection({ score: 0.9, box: atHydrant }, plain, FRAME, [hydrant]), 'mask');
});

test('config: labels take a number or a filter, and a contradictory filter names its path', () => {
  const base = 'detector:\n  model: m.onnx\n';
  const config = parseConfig(`${base}  labels:\n    person: 0.6\n    dog: { threshold: 0.8, masks: [[[0, 0], [10, 0], [10, 10]]] }\n`, 'v.yml', {});
  assert.equal(config.detector.labels.person, 0.6);
  assert.deepEqual(config.detector.labels.dog, { threshold: 0.8, masks: [[[0, 0], [10, 0], [10, 10]]] });
  assert.throws(() => parseConfig(`${base}  labels:\n    dog: { minArea: 0.4, maxArea: 0.1 }\n`, 'v.yml', {}), /detector\.labels\.dog.*minArea \(0.4\) is above maxArea/s);
  assert.throws(() => parseConfig(`${base}  labels:\n    dog: { threshhold: 0.8 }\n`, 'v.yml', {}), /detector\.labels\.dog/);
});
