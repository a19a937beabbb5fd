// The timeline bar of one camera and one day: recorded spans, motion shading, event markers, a
// playhead to drag, zoom from 24 h to a minute (wheel, pinch, buttons) and, in export mode, a range
// selection. Spans and motion are drawn on a canvas; markers are buttons, so they can be tabbed to.
import { h } from '../ui.js';
import { clockTime, labelColour } from './format.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The spans the zoom buttons and +/- step through. */
export const ZOOM_LEVELS = [24 * HOUR, 6 * HOUR, HOUR, 15 * MINUTE, 5 * MINUTE, MINUTE];
const TICK_STEPS = [10_000, 30_000, MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR];
const MIN_TICK_PX = 72;
const TRACK_TOP = 0.66;

export class TimelineBar {
  /**
   * onSeek(ms) when the user clicks or lets go of the playhead; onSelect({from, to}) when a range is
   * drawn in export mode; thumbnail(ms) → { src, alt } of the nearest snapshot, or null.
   */
  constructor({ label, onSeek, onSelect = () => {}, thumbnail = () => null }) {
    this.onSeek = onSeek;
    this.onSelect = onSelect;
    this.thumbnail = thumbnail;
    this.data = { spans: [], motion: [], events: [] };
    this.day = { from: 0, to: 1 };
    this.view = { from: 0, to: 1 };
    this.mode = 'seek';
    this.selection = null;
    this.playhead = null;
    this.pointers = new Map();
    this.pointerOver = false;

    this.canvas = h('canvas', { class: 'tl-canvas', 'aria-hidden': 'true' });
    this.markers = h('div', { class: 'tl-markers' });
    this.selectionEl = h('div', { class: 'tl-selection', hidden: true });
    this.playheadEl = h('div', { class: 'tl-playhead', 'aria-hidden': 'true' });
    this.tipTime = h('span', { class: 'tl-tip-time' });
    this.tipImg = h('img', { class: 'tl-tip-img', alt: '', hidden: true, width: 96, height: 96 });
    this.tipImg.addEventListener('error', () => (this.tipImg.hidden = true));
    this.tip = h('div', { class: 'tl-tip', hidden: true, 'aria-hidden': 'true' }, this.tipImg, this.tipTime);
    this.surface = h('div', {
      class: 'tl-surface',
      role: 'slider',
      tabindex: '0',
      'aria-label': label,
      'aria-valuemin': '0',
      'aria-valuemax': '86400',
    }, this.canvas, this.selectionEl, this.playheadEl);
    this.el = h('div', { class: 'tl-bar' }, this.surface, this.markers, this.tip);

    this.surface.addEventListener('pointerdown', (e) => this.pointerDown(e));
    this.surface.addEventListener('pointermove', (e) => this.pointerMove(e));
    this.surface.addEventListener('pointerup', (e) => this.pointerUp(e, true));
    this.surface.addEventListener('pointercancel', (e) => this.pointerUp(e, false));
    this.surface.addEventListener('pointerleave', (e) => {
      if (!this.drag && e.pointerType === 'mouse') this.tip.hidden = true;
    });
    this.surface.addEventListener('wheel', (e) => this.wheel(e), { passive: false });
    this.el.addEventListener('pointerenter', (e) => (this.pointerOver = e.pointerType === 'mouse'));
    this.el.addEventListener('pointerleave', () => (this.pointerOver = false));
    this.resize = new ResizeObserver(() => this.render());
    this.resize.observe(this.surface);
  }

  destroy() {
    this.resize.disconnect();
  }

  /** Shows the day [from, to); the same day again (another camera, all cameras) keeps the zoom. */
  setDay(from, to) {
    const sameDay = this.day.from === from && this.day.to === to;
    this.day = { from, to };
    if (!sameDay) this.view = { from, to };
    this.selection = null;
    this.render();
  }

  setData(data) {
    this.data = data;
    this.render();
  }

  setMode(mode) {
    this.mode = mode;
    this.selection = null;
    this.el.classList.toggle('exporting', mode === 'export');
    this.render();
  }

  setSelection(selection) {
    this.selection = selection;
    this.renderOverlay();
  }

  /**
   * Moves the playhead; a playhead that runs off the right edge turns the page, unless the mouse is
   * on the bar (the page would move under the pointer).
   */
  setPlayhead(ms) {
    const wasVisible = this.playhead !== null && this.inView(this.playhead);
    this.playhead = ms;
    if (!this.drag && !this.pointerOver && wasVisible && !this.inView(ms) && ms >= this.day.from && ms < this.day.to) {
      const span = this.view.to - this.view.from;
      this.setView(ms - span * 0.1, span);
    } else this.renderOverlay();
    const seconds = Math.round((ms - this.day.from) / 1000);
    this.surface.setAttribute('aria-valuenow', String(Math.max(0, Math.min(86400, seconds))));
    this.surface.setAttribute('aria-valuetext', clockTime(ms));
  }

  inView(ms) {
    return ms >= this.view.from && ms <= this.view.to;
  }

  /** Zooms by `factor` (< 1 is in) keeping `center` where it is on screen. */
  zoom(factor, center = this.focus()) {
    const span = this.view.to - this.view.from;
    const next = Math.min(this.day.to - this.day.from, Math.max(MINUTE, span * factor));
    this.setView(center - (center - this.view.from) * (next / span), next);
  }

  /** Steps to the next preset zoom level, in (+1) or out (-1), around the playhead. */
  step(direction) {
    const span = this.view.to - this.view.from;
    const level =
      direction > 0 ? ZOOM_LEVELS.find((l) => l < span * 0.99) ?? MINUTE : [...ZOOM_LEVELS].reverse().find((l) => l > span * 1.01) ?? ZOOM_LEVELS[0];
    this.zoom(level / span);
  }

  focus() {
    return this.playhead !== null && this.inView(this.playhead) ? this.playhead : (this.view.from + this.view.to) / 2;
  }

  setView(from, span) {
    const daySpan = this.day.to - this.day.from;
    const clamped = Math.min(Math.max(from, this.day.from), this.day.to - Math.min(span, daySpan));
    this.view = { from: clamped, to: clamped + Math.min(span, daySpan) };
    this.render();
  }

  msAt(clientX) {
    const rect = this.surface.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
    return this.view.from + f * (this.view.to - this.view.from);
  }

  x(ms) {
    return ((ms - this.view.from) / (this.view.to - this.view.from)) * this.surface.clientWidth;
  }

  // --- pointer, touch and wheel -----------------------------------------------------------------

  pointerDown(e) {
    if (e.button > 0) return;
    e.preventDefault();
    this.surface.focus({ preventScroll: true });
    this.surface.setPointerCapture(e.pointerId);
    this.pointers.set(e.pointerId, e.clientX);
    if (this.pointers.size === 2) {
      const [a, b] = [...this.pointers.values()];
      this.pinch = { distance: Math.abs(a - b) || 1, view: { ...this.view }, center: this.msAt((a + b) / 2) };
      this.drag = null;
      this.tip.hidden = true;
      return;
    }
    if (this.pointers.size > 2) return;
    const ms = this.msAt(e.clientX);
    this.drag = { ms };
    if (this.mode === 'export') this.setSelection({ from: ms, to: ms });
    else this.preview(ms, e.clientX);
  }

  pointerMove(e) {
    if (this.pointers.has(e.pointerId)) this.pointers.set(e.pointerId, e.clientX);
    if (this.pinch && this.pointers.size === 2) {
      const [a, b] = [...this.pointers.values()];
      this.view = { ...this.pinch.view };
      this.zoom(this.pinch.distance / (Math.abs(a - b) || 1), this.pinch.center);
      return;
    }
    const ms = this.msAt(e.clientX);
    if (this.drag && this.mode === 'export') this.setSelection({ from: this.drag.ms, to: ms });
    else if (this.drag || e.pointerType === 'mouse') this.preview(ms, e.clientX);
  }

  pointerUp(e, commit) {
    const wasPinch = Boolean(this.pinch);
    this.pointers.delete(e.pointerId);
    if (this.pointers.size < 2) this.pinch = null;
    if (!this.drag || wasPinch) return;
    const ms = this.msAt(e.clientX);
    const start = this.drag.ms;
    this.drag = null;
    if (e.pointerType !== 'mouse') this.tip.hidden = true;
    if (!commit) return this.renderOverlay();
    if (this.mode === 'export') {
      const range = { from: Math.min(start, ms), to: Math.max(start, ms) };
      this.setSelection(range.to - range.from >= 1000 ? range : null);
      this.onSelect(this.selection);
    } else this.onSeek(ms);
  }

  wheel(e) {
    e.preventDefault();
    const span = this.view.to - this.view.from;
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      // Some systems turn shift+wheel into deltaX themselves.
      const px = Math.abs(e.deltaX) > Math.abs(e.deltaY) ? e.deltaX : e.deltaY;
      this.setView(this.view.from + (px / this.surface.clientWidth) * span, span);
    } else this.zoom(e.deltaY < 0 ? 1 / 1.25 : 1.25, this.msAt(e.clientX));
  }

  /** The time under the finger or mouse, with the nearest event's snapshot. */
  preview(ms, clientX) {
    this.tipTime.textContent = clockTime(ms);
    const thumb = this.thumbnail(ms, this.view.to - this.view.from);
    if (thumb) {
      if (this.tipImg.getAttribute('src') !== thumb.src) this.tipImg.src = thumb.src;
      this.tipImg.alt = thumb.alt;
      this.tipImg.hidden = false;
    } else this.tipImg.hidden = true;
    this.tip.hidden = false;
    const rect = this.surface.getBoundingClientRect();
    const half = this.tip.offsetWidth / 2;
    this.tip.style.left = `${Math.min(rect.width - half, Math.max(half, clientX - rect.left))}px`;
    if (this.drag && this.mode !== 'export') {
      this.playheadEl.style.left = `${this.x(ms)}px`;
      this.playheadEl.hidden = false;
    }
  }

  // --- drawing ----------------------------------------------------------------------------------

  render() {
    this.surface.dataset.from = String(Math.round(this.view.from));
    this.surface.dataset.to = String(Math.round(this.view.to));
    this.drawCanvas();
    this.renderMarkers();
    this.renderOverlay();
  }

  renderOverlay() {
    const width = this.surface.clientWidth;
    if (!this.drag || this.mode === 'export') {
      const x = this.playhead === null ? -1 : this.x(this.playhead);
      this.playheadEl.hidden = x < 0 || x > width;
      this.playheadEl.style.left = `${x}px`;
    }
    const sel = this.selection;
    this.selectionEl.hidden = !sel;
    if (sel) {
      const left = Math.max(0, this.x(Math.min(sel.from, sel.to)));
      const right = Math.min(width, this.x(Math.max(sel.from, sel.to)));
      this.selectionEl.style.left = `${left}px`;
      this.selectionEl.style.width = `${Math.max(2, right - left)}px`;
    }
  }

  renderMarkers() {
    const width = this.surface.clientWidth;
    const buttons = [];
    for (const e of this.data.events) {
      const x = this.x(e.start);
      if (x < -8 || x > width + 8) continue;
      const b = h('button', {
        type: 'button',
        class: 'tl-event',
        title: `${e.label} · ${clockTime(e.start)}`,
        'aria-label': `Play ${e.label} at ${clockTime(e.start)}`,
        dataset: { id: e.id, start: String(e.start) },
      });
      b.style.left = `${x}px`;
      b.style.setProperty('--label', labelColour(e.label));
      b.addEventListener('pointerdown', (ev) => ev.stopPropagation());
      b.addEventListener('click', () => this.onSeek(e.start, e));
      buttons.push(b);
    }
    this.markers.replaceChildren(...buttons);
  }

  drawCanvas() {
    const { canvas } = this;
    const width = this.surface.clientWidth;
    const height = this.surface.clientHeight;
    if (!width || !height) return;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const css = getComputedStyle(this.el);
    const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
    const trackHeight = Math.round(height * TRACK_TOP);
    g.clearRect(0, 0, width, height);
    g.fillStyle = colour('--tl-gap', '#0b0e12');
    g.fillRect(0, 0, width, trackHeight);

    g.fillStyle = colour('--tl-span', '#3a5a7a');
    for (const s of this.data.spans) this.fillRange(g, s.start, s.end, 0, trackHeight, width);

    const peak = Math.max(1e-9, ...this.data.motion.map((m) => m.level));
    g.fillStyle = colour('--tl-motion', '#e8b04a');
    for (const m of this.data.motion) {
      g.globalAlpha = 0.25 + 0.75 * Math.min(1, m.level / peak);
      const top = trackHeight * 0.45;
      this.fillRange(g, m.start, m.end, top, trackHeight - top, width);
    }
    g.globalAlpha = 1;
    this.drawTicks(g, width, trackHeight, colour('--muted', '#a4adb8'));
  }

  fillRange(g, start, end, top, height, width) {
    const a = Math.max(0, this.x(start));
    const b = Math.min(width, this.x(end));
    if (b <= 0 || a >= width) return;
    g.fillRect(a, top, Math.max(1, b - a), height);
  }

  drawTicks(g, width, top, colour) {
    const span = this.view.to - this.view.from;
    const step = TICK_STEPS.find((s) => (width * s) / span >= MIN_TICK_PX) ?? TICK_STEPS.at(-1);
    const offset = new Date(this.view.from).getTimezoneOffset() * MINUTE;
    const first = Math.ceil((this.view.from - offset) / step) * step + offset;
    g.fillStyle = colour;
    g.font = '12px system-ui, sans-serif';
    g.textAlign = 'center';
    g.textBaseline = 'top';
    for (let t = first; t <= this.view.to; t += step) {
      const x = this.x(t);
      g.fillRect(Math.round(x), top, 1, 4);
      const text = clockTime(t, step < MINUTE);
      const w = g.measureText(text).width / 2;
      g.fillText(text, Math.min(width - w, Math.max(w, x)), top + 5);
    }
    g.fillRect(0, top, width, 1);
  }
}
