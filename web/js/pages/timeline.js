// The timeline: a day of one camera's recordings (spans, motion, events) under its video, or the
// same instant on every camera; scrubbing, zoom, speeds, keyboard shortcuts and export.
import { get } from '../api.js';
import { clear, h, page, toast } from '../ui.js';
import { TimelineBar } from '../timeline/bar.js';
import { exportPanel } from '../timeline/export.js';
import { clockTime, dayBounds, dayOf, labelColour, shiftDay } from '../timeline/format.js';
import { Stage } from '../timeline/stage.js';
import { vaultLockedNotice } from './events.js';

const SPEEDS = [1, 2, 4, 8];
const STEP_MS = 10_000;
const REFRESH_MS = 30_000;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Recordings rights: `rights` once grants are sets of rights, the viewer/admin role before. */
export const canReview = (cam, right = 'recordings') =>
  Array.isArray(cam.rights) ? cam.rights.includes(right) : cam.role === 'admin' || cam.role === 'viewer';

const SHORTCUTS = [
  ['Space', 'play / pause'],
  ['← / →', '10 s back / forward'],
  ['Shift + ← / →', 'previous / next event'],
  ['+ / −', 'zoom in / out'],
];

export async function render(main, { query }) {
  const [{ cameras }, vault] = await Promise.all([get('/cameras'), get('/vault')]);
  const reviewable = cameras.filter((c) => canReview(c));
  if (reviewable.length === 0) {
    clear(main, page('Timeline', h('p', {}, 'No camera recordings are shared with your account.')));
    return;
  }
  if (!vault.unlocked) {
    clear(main, page('Timeline', vaultLockedNotice(() => window.dispatchEvent(new HashChangeEvent('hashchange')))));
    return;
  }
  const names = reviewable.map((c) => c.name);
  const atParam = Number(query.get('at')) || null;
  const state = {
    camera: names.includes(query.get('camera')) ? query.get('camera') : names[0],
    day: DAY_RE.test(query.get('day') ?? '') ? query.get('day') : dayOf(atParam ?? Date.now()),
    multi: query.get('multi') === '1' && names.length > 1,
    exporting: false,
    at: atParam,
  };
  const timelines = new Map();
  const spansOf = (camera) => timelines.get(camera)?.spans ?? [];
  /** The bar camera's events by start (labels are null while the vault is locked). */
  let dayEvents = [];
  const events = () => dayEvents;

  const stage = new Stage({
    spansOf,
    onSelect: (camera) => selectCamera(camera),
    onEnd: (camera, _wall, code) => {
      if (code === 'vault_locked') window.dispatchEvent(new HashChangeEvent('hashchange'));
      else if (camera === state.camera && state.day === dayOf(Date.now())) setTimeout(() => refresh(true), 2000);
    },
  });
  const bar = new TimelineBar({
    label: 'Timeline',
    onSeek: (ms) => seek(ms),
    onSelect: (range) => exporter.setRange(range),
    thumbnail: nearestSnapshot,
  });
  const exporter = exportPanel({ camera: () => state.camera, playhead: () => state.at ?? Date.now(), onRange: (r) => bar.setSelection(r) });
  exporter.el.hidden = true;

  function nearestSnapshot(ms, viewSpan) {
    const near = Math.max(30_000, viewSpan * 0.03);
    let best = null;
    for (const e of events()) {
      const d = ms < e.start ? e.start - ms : e.end && ms <= e.end ? 0 : ms - (e.end ?? e.start);
      if (d <= near && (!best || d < best.d)) best = { e, d };
    }
    return best && { src: `/api/events/${encodeURIComponent(best.e.id)}/snapshot?kind=crop`, alt: `${best.e.label} at ${clockTime(best.e.start)}` };
  }

  // --- controls ---------------------------------------------------------------------------------

  const cameraSelect = h('select', { 'aria-label': 'Camera' }, names.map((n) => h('option', { value: n, selected: n === state.camera }, n)));
  cameraSelect.addEventListener('change', () => selectCamera(cameraSelect.value));
  const dayInput = h('input', { type: 'date', value: state.day, max: dayOf(Date.now()), 'aria-label': 'Day' });
  dayInput.addEventListener('change', () => DAY_RE.test(dayInput.value) && setDay(dayInput.value));
  const prevDay = h('button', { type: 'button', 'aria-label': 'Previous day', onclick: () => setDay(shiftDay(state.day, -1)) }, '‹');
  const nextDay = h('button', { type: 'button', 'aria-label': 'Next day', onclick: () => setDay(shiftDay(state.day, 1)) }, '›');
  const multiButton = names.length > 1 ? h('button', { type: 'button', 'aria-pressed': String(state.multi), onclick: () => setMulti(!state.multi) }, 'All cameras') : null;

  const playButton = h('button', { type: 'button', class: 'primary tl-play', onclick: () => togglePlay() }, 'Play');
  const clock = h('output', { class: 'tl-clock', 'aria-live': 'off' }, '--:--:--');
  const speed = h('select', { 'aria-label': 'Speed' }, SPEEDS.map((s) => h('option', { value: String(s) }, `${s}×`)));
  speed.addEventListener('change', () => stage.setRate(Number(speed.value)));
  const exportButton = h('button', { type: 'button', 'aria-pressed': 'false', onclick: () => setExporting(!state.exporting) }, 'Export');
  const legend = h('ul', { class: 'tl-legend', 'aria-label': 'Event colours' });

  const controls = h('div', { class: 'toolbar tl-controls' },
    playButton,
    h('button', { type: 'button', 'aria-label': 'Previous event', title: 'Previous event (Shift+←)', onclick: () => jumpEvent(-1) }, '‹ Event'),
    h('button', { type: 'button', 'aria-label': '10 seconds back', title: '10 s back (←)', onclick: () => step(-STEP_MS) }, '−10 s'),
    h('button', { type: 'button', 'aria-label': '10 seconds forward', title: '10 s forward (→)', onclick: () => step(STEP_MS) }, '+10 s'),
    h('button', { type: 'button', 'aria-label': 'Next event', title: 'Next event (Shift+→)', onclick: () => jumpEvent(1) }, 'Event ›'),
    clock,
    speed,
    h('span', { class: 'tl-zoom' },
      h('button', { type: 'button', 'aria-label': 'Zoom out', title: 'Zoom out (−)', onclick: () => bar.step(-1) }, '−'),
      h('button', { type: 'button', 'aria-label': 'Zoom in', title: 'Zoom in (+)', onclick: () => bar.step(1) }, '+'),
    ),
    exportButton,
  );
  const help = h('details', { class: 'tl-help' },
    h('summary', {}, 'Keyboard shortcuts'),
    h('dl', {}, SHORTCUTS.map(([k, what]) => [h('dt', {}, h('kbd', {}, k)), h('dd', {}, what)])),
    h('p', { class: 'hint' }, 'On the bar: drag to scrub, wheel or pinch to zoom, Shift+wheel to move along the day.'),
  );

  clear(main, page('Timeline',
    h('div', { class: 'toolbar tl-filters' }, cameraSelect, h('span', { class: 'tl-day' }, prevDay, dayInput, nextDay), multiButton),
    stage.el,
    controls,
    bar.el,
    legend,
    exporter.el,
    help,
  ));

  // --- behaviour --------------------------------------------------------------------------------

  function updateUrl() {
    const q = new URLSearchParams({ camera: state.camera, day: state.day });
    if (state.multi) q.set('multi', '1');
    history.replaceState(null, '', `#/timeline?${q}`);
  }

  async function fetchTimeline(camera) {
    const { from, to } = dayBounds(state.day);
    timelines.set(camera, await get(`/timeline?camera=${encodeURIComponent(camera)}&from=${from}&to=${to}`));
  }

  function showData() {
    const data = timelines.get(state.camera) ?? { spans: [], motion: [], events: [] };
    bar.surface.setAttribute('aria-label', `Timeline of ${state.camera} on ${state.day}`);
    dayEvents = data.events.map((e) => ({ ...e, label: e.label ?? 'event' })).sort((a, b) => a.start - b.start);
    bar.setData({ spans: data.spans, motion: data.motion, events: dayEvents });
    const labels = [...new Set(events().map((e) => e.label))].sort();
    clear(legend, labels.map((l) => {
      const swatch = h('span', { class: 'tl-swatch', 'aria-hidden': 'true' });
      swatch.style.background = labelColour(l);
      return h('li', {}, swatch, l);
    }));
    if (data.spans.length === 0) toast(`Nothing was recorded on ${state.camera} on ${state.day}.`);
  }

  /** Loads the day's timelines and puts every video at `at` (default: a minute before the last recording). */
  async function loadDay(at) {
    const { from, to } = dayBounds(state.day);
    bar.setDay(from, to);
    const wanted = state.multi ? names : [state.camera];
    timelines.clear();
    await Promise.all(wanted.map((c) => fetchTimeline(c).catch((err) => toast(`${c}: ${err.message}`))));
    showData();
    const spans = spansOf(state.camera);
    const start = at ?? (spans.length ? Math.max(spans.at(-1).start, spans.at(-1).end - 60_000) : from);
    state.at = start;
    bar.setPlayhead(start);
    stage.seek(start, { play: false });
  }

  /** Today's timeline grows: fetch it again (and go on playing when playback had reached its end). */
  async function refresh(resume = false) {
    if (state.day !== dayOf(Date.now())) return;
    await Promise.all([...timelines.keys()].map((c) => fetchTimeline(c).catch(() => {})));
    showData();
    if (resume && state.at !== null) stage.seek(state.at);
  }

  function seek(ms, { play = true } = {}) {
    state.at = ms;
    bar.setPlayhead(ms);
    clock.textContent = clockTime(ms);
    stage.seek(ms, { play });
  }

  function step(delta) {
    const { from, to } = dayBounds(state.day);
    seek(Math.min(to - 1, Math.max(from, (state.at ?? from) + delta)), { play: !stage.paused });
  }

  function jumpEvent(direction) {
    const list = events();
    const t = state.at ?? 0;
    const target = direction > 0 ? list.find((e) => e.start > t + 1000) : list.findLast((e) => e.start < t - 1000);
    if (target) seek(target.start);
    else toast(direction > 0 ? 'No later event on this day.' : 'No earlier event on this day.');
  }

  function togglePlay() {
    if (stage.paused) {
      if (stage.primary?.start === null || stage.primary?.start === undefined) seek(state.at ?? dayBounds(state.day).from);
      else stage.play();
    } else stage.pause();
  }

  async function setDay(day) {
    if (day > dayOf(Date.now())) return;
    state.day = day;
    dayInput.value = day;
    updateUrl();
    await loadDay();
  }

  async function selectCamera(camera) {
    state.camera = camera;
    cameraSelect.value = camera;
    updateUrl();
    offerExport();
    if (state.multi) {
      stage.setPrimary(camera);
      showData();
      return;
    }
    stage.setCameras([camera], camera);
    await loadDay(state.at ?? undefined);
  }

  async function setMulti(multi) {
    state.multi = multi;
    multiButton?.setAttribute('aria-pressed', String(multi));
    updateUrl();
    stage.setCameras(multi ? names : [state.camera], state.camera);
    await loadDay(state.at ?? undefined);
  }

  function setExporting(on) {
    state.exporting = on;
    exportButton.setAttribute('aria-pressed', String(on));
    bar.setMode(on ? 'export' : 'seek');
    exporter.el.hidden = !on;
    exporter.setRange(null);
  }

  /** Export is a right of its own: without it on the bar's camera there is no export mode. */
  function offerExport() {
    const allowed = canReview(reviewable.find((c) => c.name === state.camera), 'export');
    exportButton.hidden = !allowed;
    if (!allowed && state.exporting) setExporting(false);
  }

  function onKey(e) {
    if (e.target.closest?.('input, select, textarea, [contenteditable]') || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === ' ' && !e.target.closest?.('button, a, summary')) togglePlay();
    else if (e.key === 'ArrowLeft') e.shiftKey ? jumpEvent(-1) : step(-STEP_MS);
    else if (e.key === 'ArrowRight') e.shiftKey ? jumpEvent(1) : step(STEP_MS);
    else if (e.key === '+' || e.key === '=') bar.step(1);
    else if (e.key === '-' || e.key === '_') bar.step(-1);
    else return;
    e.preventDefault();
  }

  const ticker = setInterval(() => {
    const t = stage.primary?.wallTime();
    if (t !== null && t !== undefined && !stage.paused) {
      state.at = t;
      bar.setPlayhead(t);
    }
    if (state.at !== null) clock.textContent = clockTime(state.at);
    playButton.textContent = stage.paused ? 'Play' : 'Pause';
  }, 250);
  const refresher = setInterval(() => refresh(), REFRESH_MS);
  document.addEventListener('keydown', onKey);

  stage.setCameras(state.multi ? names : [state.camera], state.camera);
  updateUrl();
  offerExport();
  await loadDay(atParam ?? undefined);

  return () => {
    clearInterval(ticker);
    clearInterval(refresher);
    document.removeEventListener('keydown', onKey);
    exporter.stop();
    bar.destroy();
    stage.destroy();
  };
}
