// Live video: fragmented MP4 (H.264 or H.265, with AAC audio when the camera has it) over an
// authenticated WebSocket into Media Source Extensions. Without MSE: MPEG-1 over /ws/mpeg1 to JSMpeg
// (the @cycjimmy/jsmpeg-player package's browser build, served by Volet at /vendor/jsmpeg.min.js).

const MediaSourceImpl = globalThis.ManagedMediaSource ?? globalThis.MediaSource;
export const hasMse = Boolean(MediaSourceImpl);

const wsUrl = (path) => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
const isHevc = (codec) => /^(hev1|hvc1)\./.test(codec ?? '');

/**
 * Keeps `video` playing the camera's live stream (variant 'main', or 'sub': the camera's lower
 * resolution stream), reconnecting until stop(). Muted until the user unmutes it; onAudio(true)
 * tells when the stream has sound.
 */
export class LivePlayer {
  constructor(video, camera, { onState = () => {}, onAudio = () => {}, variant = 'main' } = {}) {
    this.video = video;
    this.camera = camera;
    this.variant = variant;
    this.onState = onState;
    this.onAudio = onAudio;
    this.queue = [];
    this.stopped = false;
    this.retryMs = 1000;
    video.muted = true;
    video.playsInline = true;
    video.autoplay = true;
    video.disableRemotePlayback = true;
  }

  start() {
    this.stopped = false;
    if (!hasMse || this.fallback) return this.startFallback();
    this.connect(`/ws/live/${encodeURIComponent(this.camera)}${this.variant === 'sub' ? '/sub' : ''}`, (data) => {
      if (typeof data === 'string') this.onControl(JSON.parse(data));
      else this.onMedia(data);
    });
  }

  /** Opens the camera's socket and reopens it with backoff when it drops, until stop(). */
  connect(path, onMessage) {
    if (this.stopped) return;
    this.onState('connecting');
    const ws = new WebSocket(wsUrl(path));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (m) => onMessage(m.data);
    ws.onclose = (e) => {
      if (this.stopped || this.ws !== ws) return;
      if (e.code === 4401 || e.code === 1008) return this.onState('signed-out');
      if (e.code === 4403) return this.onState('shutter');
      this.onState('reconnecting');
      this.retryTimer = setTimeout(() => this.connect(path, onMessage), this.retryMs);
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
      this.stop();
      // Decoding H.265 into MPEG-1 on the server would cost more than the recording itself.
      if (isHevc(codec)) return this.onState('unsupported', `This browser cannot play H.265 from ${this.camera}.`);
      this.fallback = true;
      return this.start();
    }
    this.onAudio(/mp4a|opus/.test(codec ?? ''));
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

  /** MPEG-1 decoded by JSMpeg into a canvas that takes the video's place; no sound. */
  async startFallback() {
    const JSMpeg = await loadJsmpeg();
    if (this.stopped) return;
    if (!JSMpeg) {
      this.onState('unsupported', 'This browser has no Media Source Extensions, and the MPEG-1 fallback player could not be loaded.');
      return;
    }
    this.onAudio(false);
    // A destroyed JSMpeg player has lost its canvas's WebGL context: each start gets a new canvas.
    const canvas = document.createElement('canvas');
    canvas.className = this.video.className;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', this.video.getAttribute('aria-label') ?? 'Live video');
    (this.canvas ?? this.video).replaceWith(canvas);
    this.canvas = canvas;
    // No WebAssembly decoder: compiling it would need 'wasm-unsafe-eval' in the page's CSP.
    this.jsmpeg = new JSMpeg.Player(wsUrl(`/ws/mpeg1/${encodeURIComponent(this.camera)}`), {
      canvas,
      audio: false,
      disableWebAssembly: true,
      // Its visibility listener would outlive destroy(); a hidden tab gets no animation frames anyway.
      pauseWhenHidden: false,
      source: mpeg1Source(this),
    });
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.ws?.close();
    this.ws = undefined;
    this.jsmpeg?.destroy();
    this.jsmpeg = undefined;
    this.mediaSource = undefined;
    this.sourceBuffer = undefined;
    if (this.video.src) URL.revokeObjectURL(this.video.src);
    this.video.removeAttribute('src');
  }
}

/**
 * JSMpeg's source interface (start, resume, destroy, established…) over the player's own socket:
 * the session cookie authenticates it, its close codes mean what they mean for the MSE path, and
 * the hub's text messages are not fed to the MPEG-TS demuxer.
 */
function mpeg1Source(player) {
  return class {
    constructor(url) {
      this.path = new URL(url).pathname;
      this.streaming = true;
      this.established = false;
      this.completed = false;
      this.progress = 0;
      this.destination = null;
    }
    connect(destination) {
      this.destination = destination;
    }
    start() {
      player.connect(this.path, (data) => {
        if (typeof data === 'string') {
          if (JSON.parse(data).type === 'reconnecting') player.onState('reconnecting');
          return;
        }
        if (this.socket !== player.ws) {
          // The first picture data on this connection (the first ever, or after a reconnect).
          this.socket = player.ws;
          this.established = true;
          this.progress = 1;
          player.retryMs = 1000;
          player.onState('playing');
        }
        this.destination?.write(data);
      });
    }
    resume() {}
    destroy() {
      player.ws?.close();
    }
  };
}

let jsmpeg;
/** Loads JSMpeg once, the first time a player needs it; resolves to undefined if it cannot be loaded. */
function loadJsmpeg() {
  jsmpeg ??= new Promise((resolve) => {
    const s = document.createElement('script');
    s.src = '/vendor/jsmpeg.min.js';
    s.onload = () => resolve(globalThis.JSMpeg);
    s.onerror = () => {
      jsmpeg = undefined;
      resolve(undefined);
    };
    document.head.append(s);
  });
  return jsmpeg;
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
