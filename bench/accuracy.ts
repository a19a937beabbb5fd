import pLimit from 'p-limit';
import { buildScene, SCENES, sceneSpec, type EvalScene } from '../test/support/scenes.ts';
import { detectEveryFrame, judgeEvents, rawReport, ScenePlayer, type SceneJudgement, type ScenePlay } from '../test/support/scene-run.ts';
import { flag, option, textOption } from './options.ts';

/**
 * `npm run bench -- accuracy [--scene <name>] [--parallel 1|2] [--raw]`: plays every evaluation
 * scene (test/support/scenes.ts) once through Volet's real pipeline with the config's defaults and
 * reports event precision and recall per label, false events per hour of footage and
 * time-to-event (event:start − the moment the object is fully in view). `--raw` instead runs the
 * raw detector on every frame and reports what it finds on each object: on distractors, these
 * are the animal detections the pipeline has to ignore.
 */
export async function benchAccuracy(args: string[]): Promise<void> {
  const only = textOption(args, '--scene');
  const parallel = Math.min(2, option(args, '--parallel', 2)); // two cores
  const specs = only ? [sceneSpec(only)] : SCENES;
  const scenes: EvalScene[] = [];
  for (const spec of specs) scenes.push(await buildScene(spec));
  const player = await ScenePlayer.open(scenes);
  try {
    if (flag(args, '--raw')) await printRaw(scenes, player);
    else await printAccuracy(scenes, player, parallel);
  } finally {
    await player.close();
  }
}

async function printAccuracy(scenes: EvalScene[], player: ScenePlayer, parallel: number): Promise<void> {
  const began = Date.now();
  const limit = pLimit(parallel);
  const plays = await Promise.all(scenes.map((scene) => limit(() => player.play(scene))));
  const wall = (Date.now() - began) / 1000;
  const judged = plays.map((play) => ({ play, judgement: judgeEvents(play.scene, play.events) }));
  const footage = scenes.reduce((sum, s) => sum + s.seconds, 0);

  print(`${scenes.length} scenes, ${footage} s of footage, ${parallel} at a time, detect ${player.config.cameras[scenes[0].name].detect.fps} fps; ${wall.toFixed(0)} s wall time.`);
  print('Events: label@event:start clip second (verdict); truth: real objects with the second they are fully in view, distractors.\n');
  print('| scene | s | real objects | distractors | events | frames dropped |');
  print('|---|---|---|---|---|---|');
  for (const { play, judgement } of judged) print(sceneRow(play, judgement));

  print('\n| label | objects | events | true | split | false | missed | precision | recall | false/h | time-to-event median | max |');
  print('|---|---|---|---|---|---|---|---|---|---|---|---|');
  const rows = labelsOf(judged).map((label) => labelStats(label, judged, footage));
  for (const row of rows) print(labelRow(row));
  const animals = rows.filter((r) => r.label !== 'person');
  print(labelRow(sum('animals', animals)));
  print(labelRow(sum('all', rows)));

  const person = rows.find((r) => r.label === 'person');
  const slowest = Math.max(...rows.flatMap((r) => r.delays));
  print(
    `\nTargets: false animal events ${sum('animals', animals).false} (0), person recall ${person ? ratio(person.found, person.objects) : '—'} (≥ 0.95), ` +
      `slowest event:start ${Number.isFinite(slowest) ? `${slowest.toFixed(1)} s` : '—'} after fully in view (≤ 1 s).`,
  );
}

interface LabelStats {
  label: string;
  objects: number;
  events: number;
  true: number;
  split: number;
  false: number;
  found: number;
  perHour: number;
  delays: number[];
}

function labelsOf(judged: { play: ScenePlay }[]): string[] {
  const labels = new Set<string>();
  for (const { play } of judged) {
    for (const t of play.scene.truth) if (t.object.kind === 'event') labels.add(t.object.label);
    for (const e of play.events) labels.add(e.label);
  }
  return [...labels].sort((a, b) => (a === 'person' ? -1 : b === 'person' ? 1 : a.localeCompare(b)));
}

function labelStats(label: string, judged: { play: ScenePlay; judgement: SceneJudgement }[], footage: number): LabelStats {
  const stats: LabelStats = { label, objects: 0, events: 0, true: 0, split: 0, false: 0, found: 0, perHour: 0, delays: [] };
  for (const { play, judgement } of judged) {
    stats.objects += play.scene.truth.filter((t) => t.object.kind === 'event' && t.object.label === label).length;
    for (const { event, verdict, on } of judgement.events) {
      if (event.label !== label) continue;
      stats.events++;
      stats[verdict]++;
      if (verdict === 'true' && on) stats.delays.push(event.emittedAt - on.fullyInView.start);
    }
  }
  stats.found = stats.true;
  stats.perHour = (stats.false / footage) * 3600;
  return stats;
}

function sum(label: string, rows: LabelStats[]): LabelStats {
  const total: LabelStats = { label, objects: 0, events: 0, true: 0, split: 0, false: 0, found: 0, perHour: 0, delays: [] };
  for (const r of rows) {
    for (const key of ['objects', 'events', 'true', 'split', 'false', 'found', 'perHour'] as const) total[key] += r[key];
    total.delays.push(...r.delays);
  }
  return total;
}

function labelRow(r: LabelStats): string {
  const delays = [...r.delays].sort((a, b) => a - b);
  const median = delays.length > 0 ? `${delays[Math.floor((delays.length - 1) / 2)].toFixed(1)} s` : '—';
  const max = delays.length > 0 ? `${delays[delays.length - 1].toFixed(1)} s` : '—';
  return `| ${r.label} | ${r.objects} | ${r.events} | ${r.true} | ${r.split} | ${r.false} | ${r.objects - r.found} | ${ratio(r.true + r.split, r.events)} | ${ratio(r.found, r.objects)} | ${r.perHour.toFixed(0)} | ${median} | ${max} |`;
}

function sceneRow(play: ScenePlay, judgement: SceneJudgement): string {
  const { scene } = play;
  const real = scene.truth.filter((t) => t.object.kind === 'event').map((t) => `${t.object.label} ${t.fullyInView.start.toFixed(1)}`);
  const still = scene.truth.filter((t) => t.object.kind === 'distractor').map((t) => `${t.object.name} (${t.object.label})`);
  const events = judgement.events.map(({ event, verdict, on }) => {
    const where = verdict === 'false' ? (on ? ` on ${on.object.name}` : ' on nothing') : '';
    return `${event.label}@${event.emittedAt.toFixed(1)} (${verdict}${where})`;
  });
  return `| ${scene.name} | ${scene.seconds} | ${real.join(', ') || '—'} | ${still.join(', ') || '—'} | ${events.join(', ') || '—'} | ${play.framesDropped}/${play.framesRead} |`;
}

async function printRaw(scenes: EvalScene[], player: ScenePlayer): Promise<void> {
  const fps = player.config.cameras[scenes[0].name].detect.fps;
  print(`Raw detector on every frame at ${fps} fps (whole frame, labels and min scores of the default config), frames where ≥ 90 % of the object shows.`);
  print('Hits: detections at IoU ≥ 0.3 with the object, of its own label for real objects, of any label for distractors.\n');
  print('| scene | object | kind | frames | hits | hit rate | labels | median score | max score |');
  print('|---|---|---|---|---|---|---|---|---|');
  for (const scene of scenes) {
    const frames = await detectEveryFrame(scene, player.detector, fps);
    for (const r of rawReport(scene, frames)) {
      const scores = [...r.scores].sort((a, b) => a - b);
      const labels = Object.entries(r.labels).map(([label, n]) => `${label} ${n}`).join(', ') || '—';
      const median = scores.length > 0 ? scores[Math.floor((scores.length - 1) / 2)].toFixed(2) : '—';
      const max = scores.length > 0 ? scores[scores.length - 1].toFixed(2) : '—';
      print(`| ${scene.name} | ${r.object.name} (${r.object.label}) | ${r.object.kind} | ${r.frames} | ${r.hits} | ${ratio(r.hits, r.frames)} | ${labels} | ${median} | ${max} |`);
    }
  }
}

function ratio(a: number, b: number): string {
  return b > 0 ? (a / b).toFixed(2) : '—';
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}
