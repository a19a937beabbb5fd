import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildScene, sceneSpec, type EvalScene } from '../support/scenes.ts';
import { detectEveryFrame, judgeEvents, rawReport, ScenePlayer } from '../support/scene-run.ts';

// A person walks past (and in front of) a dog statue that is in view from the first frame and
// never moves: the hydrant of issue 14. Played through the real pipeline with the default config.
let scene: EvalScene;
let player: ScenePlayer;
before(async () => {
  scene = await buildScene(sceneSpec('person-past-dog-statue'));
  player = await ScenePlayer.open([scene]);
});
after(async () => player?.close());

test('the dog statue is a trap: the raw detector calls it a dog above 0.5 on the frames where it shows', async () => {
  const fps = player.config.cameras[scene.name].detect.fps;
  const [statue] = rawReport(scene, await detectEveryFrame(scene, player.detector, fps)).filter((r) => r.object.name === 'statue');
  const dogFrames = statue.labels.dog ?? 0;
  const scores = [...statue.scores].sort((a, b) => a - b);
  const median = scores[Math.floor((scores.length - 1) / 2)];
  assert.ok(statue.frames >= 50, `the statue shows on ${statue.frames} frames`);
  assert.ok(dogFrames >= 0.8 * statue.frames, `a dog on the statue in ${dogFrames} of ${statue.frames} frames (${JSON.stringify(statue.labels)})`);
  assert.ok(median > 0.5, `median score on the statue ${median}`);
});

test('walking past the statue makes one person event while the person is in view, and no dog event', async () => {
  const play = await player.play(scene);
  const judged = judgeEvents(scene, play.events);
  const person = scene.truth.find((t) => t.object.name === 'person')!;
  const describe = JSON.stringify(judged.events.map(({ event, verdict, on }) => ({ label: event.label, score: event.score, start: event.start, emittedAt: event.emittedAt, end: event.end, verdict, on: on?.object.name })));

  const dogEvents = play.events.filter((e) => e.label === 'dog');
  assert.equal(dogEvents.length, 0, `no dog event, got ${describe}`);
  const personEvents = judged.events.filter((j) => j.on === person && j.verdict === 'true');
  assert.equal(personEvents.length, 1, `one person event on the person, got ${describe}`);
  const [{ event }] = personEvents;
  assert.ok(event.start >= person.inView.start && event.emittedAt < person.inView.end, `the event starts while the person is in view (${person.inView.start}–${person.inView.end} s): ${describe}`);
  assert.deepEqual(judged.events.filter((j) => j.verdict === 'false'), [], `no other event: ${describe}`);
  const eventIds = new Set(play.events.map((e) => e.id));
  const notEvents = [...play.observed].filter(([id]) => !eventIds.has(id));
  assert.deepEqual(notEvents, [], 'face recognition is shown events only, never the statue');
  assert.ok(play.observed.has(event.id), 'the person event is shown to face recognition');
});
