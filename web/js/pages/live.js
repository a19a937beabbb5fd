import { get, put } from '../api.js';
import { BoxOverlay, EventFeed, LivePlayer } from '../live.js';
import { labelMaskSection } from '../masks.js';
import { clear, h, page, toast } from '../ui.js';

const STATE_TEXT = {
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  playing: '',
  shutter: 'Privacy shutter closed',
  'signed-out': 'Signed out',
  unsupported: '',
  error: 'Playback error',
};

/** Grid tiles play the sub stream when there is one (less to download and decode); the camera page plays the main stream. */
function liveTile(cam, { large = false } = {}) {
  const frame = h('div', { class: `frame${large ? ' large' : ''}` });
  frame.style.aspectRatio = `${cam.detect.width} / ${cam.detect.height}`;
  const note = h('p', { class: 'frame-note', role: 'status' });
  if (cam.shutter === 'closed') {
    note.textContent = STATE_TEXT.shutter;
    frame.append(note);
    return { frame, player: null, layer: null };
  }
  if (!cam.live) {
    note.textContent = 'Live view is not available for this camera.';
    frame.append(note);
    return { frame, player: null, layer: null };
  }
  const video = h('video', { class: 'live', 'aria-label': `Live video of ${cam.name}`, muted: true, playsinline: true, autoplay: true });
  const layer = h('div', { class: 'boxes', 'aria-hidden': 'true' });
  // Only the camera's own page has a sound control: grid tiles are links, and many cameras at once would be noise.
  const sound = large ? soundButton(video) : null;
  frame.append(video, layer, note);
  if (sound) frame.append(sound);
  const offerSub = h('button', { type: 'button', class: 'offer-sub', hidden: true, onclick: () => switchTo('sub') }, 'Watch the sub stream');
  const player = new LivePlayer(video, cam.name, {
    variant: large || !cam.liveSub ? 'main' : 'sub',
    onState: (state, detail) => {
      note.textContent = detail ?? STATE_TEXT[state] ?? '';
      note.hidden = !note.textContent;
      offerSub.hidden = !(state === 'unsupported' && cam.liveSub && player.variant === 'main');
      frame.dataset.state = state;
    },
    onAudio: (hasAudio) => {
      if (sound) sound.hidden = !hasAudio;
    },
  });
  const switchTo = (variant) => {
    player.stop();
    player.variant = variant;
    player.start();
    frame.dataset.variant = variant;
  };
  frame.dataset.variant = player.variant;
  if (cam.liveSub) frame.append(offerSub);
  return { frame, player, layer, switchTo };
}

/** Live video starts muted (browsers only autoplay it so, and a camera may hear a room); this unmutes it. */
function soundButton(video) {
  const button = h('button', { type: 'button', class: 'sound', hidden: true }, 'Unmute');
  button.addEventListener('click', () => {
    video.muted = !video.muted;
    if (!video.muted) video.play().catch(() => {});
    button.textContent = video.muted ? 'Unmute' : 'Mute';
  });
  return button;
}

function stateBadge(cam) {
  const text = cam.shutter === 'closed' ? 'shutter closed' : cam.state === 'streaming' ? `${cam.fps} fps` : cam.state;
  return h('span', { class: `badge ${cam.state}` }, text);
}

export async function grid(main) {
  const { cameras } = await get('/cameras');
  const tiles = cameras.map((cam) => ({ cam, ...liveTile(cam) }));
  clear(
    main,
    page(
      'Live',
      cameras.length === 0 ? h('p', {}, 'No cameras are shared with your account.') : null,
      h('ul', { class: 'grid' },
        tiles.map(({ cam, frame }) =>
          h('li', { class: 'tile' },
            h('a', { href: `#/camera/${cam.name}`, class: 'tile-link', 'aria-label': `Open ${cam.name}` }, frame),
            h('div', { class: 'tile-caption' }, h('a', { href: `#/camera/${cam.name}` }, cam.name), stateBadge(cam)),
          ),
        ),
      ),
    ),
  );
  // Only tiles on screen stream: a phone scrolling a long grid does not pull every camera at once.
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const tile = tiles.find((t) => t.frame === entry.target);
      if (!tile?.player) continue;
      if (entry.isIntersecting && !tile.running) {
        tile.player.stopped = false;
        tile.player.start();
        tile.running = true;
      } else if (!entry.isIntersecting && tile.running) {
        tile.player.stop();
        tile.running = false;
      }
    }
  });
  tiles.forEach((t) => observer.observe(t.frame));
  return () => {
    observer.disconnect();
    tiles.forEach((t) => t.player?.stop());
  };
}

export async function camera(main, { params: [name] }) {
  const { cameras } = await get('/cameras');
  const cam = cameras.find((c) => c.name === name);
  if (!cam) {
    clear(main, page('Camera not found', h('p', {}, `There is no camera "${name}" on your account.`)));
    return;
  }
  const { frame, player, layer, switchTo } = liveTile(cam, { large: true });
  const quality = cam.liveSub && player
    ? h('label', {}, 'Stream ',
        h('select', { 'aria-label': 'Live stream', onchange: (e) => switchTo(e.target.value) },
          h('option', { value: 'main', selected: true }, 'Main (full resolution)'),
          h('option', { value: 'sub' }, 'Sub (low bandwidth)'),
        ))
    : null;
  const overlay = layer ? new BoxOverlay(layer, cam.detect) : null;
  const status = h('span', {}, stateBadge(cam));
  const canView = cam.role === 'admin' || cam.role === 'viewer';

  const shutterSwitch =
    cam.shutter !== null && cam.rights.includes('shutter')
      ? h('label', { class: 'switch' },
          h('input', {
            type: 'checkbox',
            role: 'switch',
            checked: cam.shutter === 'closed',
            onchange: async (e) => {
              const state = e.target.checked ? 'closed' : 'open';
              e.target.disabled = true;
              try {
                await put(`/cameras/${cam.name}/shutter`, { state });
                toast(state === 'closed' ? `${cam.name}: privacy shutter closed` : `${cam.name}: camera watching again`);
                location.reload();
              } catch (err) {
                e.target.checked = !e.target.checked;
                toast(err.message);
              } finally {
                e.target.disabled = false;
              }
            },
          }),
          ' Privacy shutter (camera stops watching and recording)',
        )
      : null;

  clear(
    main,
    page(
      cam.name,
      frame,
      h('div', { class: 'toolbar' },
        status,
        quality,
        canView ? h('a', { class: 'button', href: `#/events?camera=${cam.name}` }, 'Events') : null,
        canView ? h('a', { class: 'button', href: `#/timeline?camera=${cam.name}` }, 'Timeline') : null,
        shutterSwitch,
      ),
      h('p', { class: 'hint' }, 'Boxes show what is being detected right now.'),
      canView ? labelMaskSection(cam) : null,
    ),
  );
  player?.start();
  const feed = new EventFeed();
  feed.on((msg) => {
    if (msg.type === 'camera:status' && msg.status.camera === cam.name) {
      clear(status, stateBadge({ ...cam, state: msg.status.state, fps: Math.round(msg.status.fps * 10) / 10 }));
    }
    if (!overlay || !msg.event || msg.event.camera !== cam.name) return;
    if (msg.type === 'event:end') setTimeout(() => overlay.hide(msg.event.id), 1000);
    else overlay.show(msg.event);
  });
  return () => {
    player?.stop();
    feed.stop();
    overlay?.clear();
  };
}
