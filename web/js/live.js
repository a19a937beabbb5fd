// Live video: fragmented MP4 over an authenticated WebSocket into Media Source Extensions.
// Fallback without MSE: MPEG-1 over /ws/mpeg1 to JSMpeg, when /vendor/jsmpeg.min.js is installed.

const MediaSourceImpl = globalThis.ManagedMediaSource ?? globalThis.MediaSource;
export const hasMse = Boolean(MediaSourceImpl);

const wsUrl = (path) => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;

/** Keeps `video` playing the camera's live stream, reconnecting until stop(). */
export class LivePlayer {
  constructor(video, camera, { onState = () => {} } = {}) {
    this.video = video;
    this.camera = camera;
    this.onState = onState;
    this.queue = [];
    this.stopped = false;
    this.retryMs = 1000;
    video.muted = true;
    video.playsInline = true;
    video.autoplay = true;
    video.disableRemotePlayback = true;
  }

  start() {
    if (!hasMse) return this.startFallback();
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    this.onState('connecting');
    const ws = new WebSocket(wsUrl(`/ws/live/${encodeURIComponent(this.camera)}`));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (m) => {
      if (typeof m.data === 'string') this.onControl(JSON.parse(m.data));
      else this.onMedia(m.data);
    };
    ws.onclose = (e) => {
      if (this.stopped || this.ws !== ws) return;
      if (e.code === 4401 || e.code === 1008) return this.onState('signed-out');
      if (e.code === 4403) return this.onState('shutter');
      this.onState('reconnecting');
      this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 15000);
    };
  }

  onControl(msg) {
    if (msg.type === 'init') this.reset(msg.codec);
    else if (msg.type === 'reconnecting') this.onState('reconnecting');
  }

  reset(codec) {
    this.queue = [];
    this.started = false;
    const mime = `video/mp4; codecs="${codec ?? 'avc1.42E01E'}"`;
    if (!MediaSourceImpl.isTypeSupported(mime)) {
      this.onState('unsupported', `This browser cannot play ${codec} video.`);
      this.ws?.close();
      this.stopped = true;
      return this.startFallback();
    }
    if (this.video.src) URL.revokeObjectURL(this.video.src);
    const ms = new MediaSourceImpl();
    this.mediaSource = ms;
    this.sourceBuffer = undefined;
    this.video.src = URL.createObjectURL(ms);
    ms.addEventListener('sourceopen', () => {
      if (this.mediaSource !== ms) return;
      const sb = ms.addSourceBuffer(mime);
      sb.mode = 'segments';
      sb.addEventListener('updateend', () => this.afterAppend());
      this.sourceBuffer = sb;
      this.pump();
    });
  }

  onMedia(data) {
    this.queue.push(data);
    // A tab in the background stops playing: never let the queue grow without bound.
    if (this.queue.length > 120) this.queue.splice(1, this.queue.length - 60);
    this.pump();
  }

  pump() {
    const sb = this.sourceBuffer;
    if (!sb || sb.updating || this.queue.length === 0 || this.mediaSource.readyState !== 'open') return;
    try {
      sb.appendBuffer(this.queue.shift());
    } catch (err) {
      if (err.name === 'QuotaExceededError') this.trim(true);
      else this.onState('error', err.message);
    }
  }

  afterAppend() {
    const v = this.video;
    const b = v.buffered;
    if (b.length > 0) {
      const end = b.end(b.length - 1);
      if (!this.started) {
        this.started = true;
        v.currentTime = b.start(b.length - 1);
        v.play().catch(() => {});
        this.retryMs = 1000;
        this.onState('playing');
      } else if (end - v.currentTime > 3) {
        v.currentTime = end - 0.5; // stay near the live edge
      } else if (v.paused && !document.hidden) {
        v.play().catch(() => {});
      }
    }
    this.trim(false);
    this.pump();
  }

  trim(force) {
    const sb = this.sourceBuffer;
    const v = this.video;
    if (!sb || sb.updating || sb.buffered.length === 0) return;
    const start = sb.buffered.start(0);
    if (force || v.currentTime - start > 30) {
      const until = v.currentTime - 10;
      if (until > start) sb.remove(start, until);
    }
  }

  startFallback() {
    const JSMpeg = globalThis.JSMpeg;
    if (!JSMpeg) {
      this.onState('unsupported', 'This browser has no Media Source Extensions, and the MPEG-1 fallback player is not installed.');
      return;
    }
    const canvas = document.createElement('canvas');
    canvas.className = this.video.className;
    canvas.setAttribute('aria-label', this.video.getAttribute('aria-label') ?? 'Live video');
    this.video.replaceWith(canvas);
    this.jsmpeg = new JSMpeg.Player(wsUrl(`/ws/mpeg1/${encodeURIComponent(this.camera)}`), { canvas, audio: false });
    this.onState('playing');
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.ws?.close();
    this.jsmpeg?.destroy();
    if (this.video.src) URL.revokeObjectURL(this.video.src);
    this.video.removeAttribute('src');
  }
}

/** Loads the optional JSMpeg client once, only when MSE is missing. */
export async function loadFallback() {
  if (hasMse || globalThis.JSMpeg) return;
  await new Promise((resolve) => {
    const s = document.createElement('script');
    s.src = '/vendor/jsmpeg.min.js';
    s.onload = resolve;
    s.onerror = resolve;
    document.head.append(s);
  });
}

/** Detection boxes over a live picture, from /ws/events; coordinates are detect-size pixels. */
export class BoxOverlay {
  constructor(layer, detect) {
    this.layer = layer;
    this.detect = detect;
    this.boxes = new Map();
  }

  show(event) {
    let el = this.boxes.get(event.id);
    if (!el) {
      el = document.createElement('div');
      el.className = 'box';
      el.append(document.createElement('span'));
      this.layer.append(el);
      this.boxes.set(event.id, el);
    }
    clearTimeout(el._expire);
    const { x, y, width, height } = event.box;
    el.style.left = `${(x / this.detect.width) * 100}%`;
    el.style.top = `${(y / this.detect.height) * 100}%`;
    el.style.width = `${(width / this.detect.width) * 100}%`;
    el.style.height = `${(height / this.detect.height) * 100}%`;
    el.firstChild.textContent = `${event.label} ${Math.round(event.score * 100)}%`;
    // A box that is never updated again fades out by itself.
    el._expire = setTimeout(() => this.hide(event.id), 10_000);
  }

  hide(id) {
    const el = this.boxes.get(id);
    if (!el) return;
    clearTimeout(el._expire);
    el.remove();
    this.boxes.delete(id);
  }

  clear() {
    for (const id of [...this.boxes.keys()]) this.hide(id);
  }
}

/** One shared /ws/events connection for the page; listeners get every message. */
export class EventFeed {
  constructor() {
    this.listeners = new Set();
    this.stopped = false;
    this.connect();
  }
  connect() {
    if (this.stopped) return;
    this.ws = new WebSocket(wsUrl('/ws/events'));
    this.ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      for (const fn of this.listeners) fn(msg);
    };
    this.ws.onclose = (e) => {
      if (!this.stopped && e.code !== 4401) this.timer = setTimeout(() => this.connect(), 3000);
    };
  }
  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }
}
