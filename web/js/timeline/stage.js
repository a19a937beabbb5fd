// The videos of the timeline: one camera, or a grid of cameras all showing the same instant. Each
// tile jumps over the gaps between its camera's recorded spans on its own.
import { h } from '../ui.js';
import { clockTime } from './format.js';
import { RecordingPlayer } from './player.js';

/** `at` if it was recorded, else the start of the next recorded span, else null. */
export function recordedFrom(spans, at) {
  const span = spans.find((s) => s.end > at);
  if (!span) return null;
  return Math.max(at, span.start);
}

export class Stage {
  /** spansOf(camera) → that camera's spans for the day; onSelect(camera) when a tile is chosen in the grid. */
  constructor({ spansOf, onSelect, onEnd }) {
    this.spansOf = spansOf;
    this.onSelect = onSelect;
    this.onEnd = onEnd;
    this.tiles = [];
    this.rate = 1;
    this.el = h('div', { class: 'tl-stage' });
  }

  get primary() {
    return this.tiles.find((t) => t.primary)?.player ?? null;
  }

  setCameras(cameras, primary) {
    const keep = new Map(this.tiles.map((t) => [t.camera, t]));
    this.tiles = cameras.map((camera) => keep.get(camera) ?? this.tile(camera, cameras.length > 1));
    for (const [camera, tile] of keep) if (!cameras.includes(camera)) tile.player.destroy();
    this.el.classList.toggle('multi', cameras.length > 1);
    this.el.replaceChildren(...this.tiles.map((t) => t.el));
    this.setPrimary(primary);
  }

  setPrimary(camera) {
    for (const t of this.tiles) {
      t.primary = t.camera === camera;
      t.el.classList.toggle('primary', t.primary);
      t.pick?.setAttribute('aria-pressed', String(t.primary));
    }
  }

  tile(camera, grid) {
    const video = h('video', { class: 'playback', 'aria-label': `Recording of ${camera}`, dataset: { camera } });
    const note = h('p', { class: 'frame-note', role: 'status' });
    const frame = h('div', { class: 'frame' }, video, note);
    video.addEventListener('loadedmetadata', () => {
      if (video.videoWidth && video.videoHeight) frame.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
    });
    const pick = grid ? h('button', { type: 'button', class: 'tl-pick', 'aria-pressed': 'false' }, camera) : null;
    const tile = { camera, video, note, pick, primary: false, el: h('div', { class: 'tl-tile' }, frame, pick) };
    pick?.addEventListener('click', () => this.onSelect(camera));
    const say = (text) => {
      note.textContent = text;
      note.hidden = !text;
    };
    tile.player = new RecordingPlayer(video, camera, {
      onState: (state, message, code) => {
        frame.dataset.state = state;
        if (state === 'loading') say('Loading…');
        else if (state === 'error') {
          say(message);
          if (code === 'vault_locked') this.onEnd?.(camera, null, code);
        } else say('');
      },
      onEnd: (wall) => {
        const next = recordedFrom(this.spansOf(camera).filter((s) => s.end > wall + 1000), wall);
        if (next !== null) tile.player.load(next);
        else {
          say(`Recording ends at ${clockTime(wall)}`);
          this.onEnd?.(camera, wall);
        }
      },
    });
    tile.player.setRate(this.rate);
    tile.say = say;
    return tile;
  }

  /** Every tile to `at` (its next recorded instant when `at` falls in a gap). */
  seek(at, { play = true } = {}) {
    for (const t of this.tiles) {
      const from = recordedFrom(this.spansOf(t.camera), at);
      if (from === null) {
        t.player.stop();
        t.say(`Nothing recorded after ${clockTime(at)} this day`);
        continue;
      }
      t.player.seek(from, { play });
    }
  }

  get paused() {
    const p = this.primary ?? this.tiles[0]?.player;
    return !p || p.paused;
  }

  play() {
    this.tiles.forEach((t) => t.player.start !== null && t.player.play());
  }

  pause() {
    this.tiles.forEach((t) => t.player.pause());
  }

  setRate(rate) {
    this.rate = rate;
    this.tiles.forEach((t) => t.player.setRate(rate));
  }

  destroy() {
    this.tiles.forEach((t) => t.player.destroy());
  }
}
