// Recorded video from any instant: GET /api/playback/<camera>?at=<ms> answers fragmented MP4 whose
// media time 0 is the wall-clock time in X-Playback-Start. The stream is fed to Media Source
// Extensions as it arrives (read no further than a minute ahead, older buffer dropped); without MSE
// the same URL plays in a plain <video src>.
import { codecsOf, initSegmentEnd } from './mp4-codecs.js';

const MediaSourceImpl = globalThis.ManagedMediaSource ?? globalThis.MediaSource;
const AHEAD_SECONDS = 60;
const BEHIND_SECONDS = 30;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const once = (target, name) => new Promise((r) => target.addEventListener(name, r, { once: true }));

export class PlaybackError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class RecordingPlayer {
  /** onState(state, message) with state loading | playing | paused | error; onEnd(wallMs) when the stream runs out. */
  constructor(video, camera, { onState = () => {}, onEnd = () => {} } = {}) {
    this.video = video;
    this.camera = camera;
    this.onState = onState;
    this.onEnd = onEnd;
    this.start = null;
    this.loads = 0;
    this.rate = 1;
    video.muted = true;
    video.playsInline = true;
    video.disableRemotePlayback = true;
    video.addEventListener('ended', () => {
      if (this.start !== null) this.onEnd(this.wallTime());
    });
    video.addEventListener('playing', () => this.onState('playing'));
    video.addEventListener('pause', () => {
      if (!video.ended) this.onState('paused');
    });
    video.addEventListener('error', () => {
      if (video.getAttribute('src')) this.onState('error', 'This recording cannot be decoded.');
    });
    this.watchFrames();
  }

  /** The wall-clock time of the frame on screen (or of the current position before the first frame). */
  wallTime() {
    if (this.start === null) return null;
    return this.start + this.video.currentTime * 1000;
  }

  get paused() {
    return this.video.paused;
  }

  play() {
    this.video.play().catch(() => {});
  }

  pause() {
    this.video.pause();
  }

  setRate(rate) {
    this.rate = rate;
    this.video.defaultPlaybackRate = rate;
    this.video.playbackRate = rate;
  }

  /** Plays from `at` (wall-clock ms): within what is buffered it only moves, otherwise it asks again. */
  async seek(at, { play = true } = {}) {
    const target = this.start === null ? -1 : (at - this.start) / 1000;
    const b = this.video.buffered;
    for (let i = 0; i < b.length; i++) {
      if (target >= b.start(i) && target < b.end(i) - 0.5) {
        this.mark(at);
        this.video.currentTime = target;
        this.positioned = true;
        if (play) this.play();
        return;
      }
    }
    await this.load(at, { play });
  }

  async load(at, { play = true } = {}) {
    const load = ++this.loads;
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    this.start = null;
    delete this.video.dataset.playbackStart;
    this.mark(at);
    this.onState('loading');
    const url = `/api/playback/${encodeURIComponent(this.camera)}?at=${Math.round(at)}`;
    try {
      const res = await fetch(url, { credentials: 'same-origin', cache: 'no-store', signal: abort.signal });
      if (!res.ok) {
        const data = await res.json().catch(() => null);
        throw new PlaybackError(data?.error?.code ?? `http_${res.status}`, data?.error?.message ?? `Playback failed (HTTP ${res.status}).`);
      }
      const start = Number(res.headers.get('x-playback-start'));
      if (!Number.isFinite(start)) throw new PlaybackError('bad_reply', 'The server did not say where this recording starts.');
      const offset = Math.max(0, (at - start) / 1000);
      if (MediaSourceImpl) await this.stream(res, load, { start, offset, play });
      else {
        abort.abort();
        this.useStart(start);
        this.video.src = url;
        await once(this.video, 'loadedmetadata');
        if (load !== this.loads) return;
        this.video.currentTime = offset;
        this.positioned = true;
        if (play) this.play();
      }
    } catch (err) {
      if (load !== this.loads || err.name === 'AbortError') return;
      this.onState('error', err.message, err.code);
    }
  }

  /** For whoever checks what is on screen: the instant asked for, and the frames shown since. */
  mark(at) {
    this.positioned = false;
    delete this.video.dataset.frameAt;
    delete this.video.dataset.firstFrameAt;
    this.video.dataset.requestedAt = String(Math.round(at));
  }

  useStart(start) {
    this.start = start;
    this.video.dataset.playbackStart = String(start);
  }

  async stream(res, load, { start, offset, play }) {
    const reader = res.body.getReader();
    let head = new Uint8Array(0);
    while (initSegmentEnd(head) < 0) {
      const { done, value } = await reader.read();
      if (load !== this.loads) return reader.cancel();
      if (done) throw new PlaybackError('no_video', 'Nothing was recorded at this time.');
      const joined = new Uint8Array(head.length + value.length);
      joined.set(head);
      joined.set(value, head.length);
      head = joined;
    }
    const mime = `video/mp4; codecs="${codecsOf(head).join(',')}"`;
    if (!MediaSourceImpl.isTypeSupported(mime)) throw new PlaybackError('unsupported', `This browser cannot play this recording (${mime}).`);
    const ms = new MediaSourceImpl();
    const opened = once(ms, 'sourceopen');
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = URL.createObjectURL(ms);
    this.video.src = this.objectUrl;
    await opened;
    if (load !== this.loads) return reader.cancel();
    const sb = ms.addSourceBuffer(mime);
    this.useStart(start);
    this.video.playbackRate = this.rate;
    const metadata = once(this.video, 'loadedmetadata');
    await this.append(sb, head);
    // Set before the metadata, currentTime only becomes the start position and no seek happens.
    if (this.video.readyState < HTMLMediaElement.HAVE_METADATA) await metadata;
    if (load !== this.loads) return reader.cancel();
    this.video.currentTime = offset;
    this.positioned = true;
    if (play) this.play();
    else this.onState('paused');
    for (;;) {
      const { done, value } = await reader.read();
      if (load !== this.loads) return reader.cancel();
      if (done) break;
      await this.append(sb, value);
      await this.trim(sb, load);
    }
    if (load === this.loads && ms.readyState === 'open') ms.endOfStream();
  }

  async append(sb, bytes) {
    if (sb.updating) await once(sb, 'updateend');
    sb.appendBuffer(bytes);
    await once(sb, 'updateend');
  }

  /** Keeps the buffer to a minute ahead and half a minute behind the playhead. */
  async trim(sb, load) {
    const v = this.video;
    const end = () => (v.buffered.length ? v.buffered.end(v.buffered.length - 1) : 0);
    while (load === this.loads && end() - v.currentTime > AHEAD_SECONDS) await sleep(500);
    if (load !== this.loads || !v.buffered.length) return;
    const behind = v.currentTime - BEHIND_SECONDS;
    if (behind > v.buffered.start(0) + 5) {
      sb.remove(0, behind);
      await once(sb, 'updateend');
    }
  }

  /** Tracks the timestamp of the frame presented (data-frame-at; data-first-frame-at since the last load). */
  watchFrames() {
    const v = this.video;
    if (!('requestVideoFrameCallback' in v)) return;
    const tick = (_now, meta) => {
      if (this.start !== null) {
        v.dataset.frameAt = String(Math.round(this.start + meta.mediaTime * 1000));
        // A frame presented while a seek is under way still shows the old position.
        if (this.positioned && !v.seeking) v.dataset.firstFrameAt ??= v.dataset.frameAt;
      }
      this.frameCallback = v.requestVideoFrameCallback(tick);
    };
    this.frameCallback = v.requestVideoFrameCallback(tick);
  }

  /** Stops streaming and forgets the position; load() starts again. */
  stop() {
    this.loads += 1;
    this.abort?.abort();
    this.start = null;
    delete this.video.dataset.playbackStart;
    this.video.removeAttribute('src');
    this.video.load();
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = undefined;
  }

  destroy() {
    this.stop();
    if (this.frameCallback !== undefined) this.video.cancelVideoFrameCallback?.(this.frameCallback);
  }
}
