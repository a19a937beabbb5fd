// Per-label masks ("not a dog" here): the proposal on an event's page, the list on a camera's page.
// Polygons are in detect-size pixels; an SVG whose viewBox is the detect frame scales them to
// whatever size the picture under it is shown at.
import { del, get, post } from './api.js';
import { clear, formatTime, h, toast } from './ui.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** The polygon drawn over a frame of `frame.width` × `frame.height`, stretched to its container. */
function polygonLayer(polygon, frame, className) {
  const layer = svg('svg', { viewBox: `0 0 ${frame.width} ${frame.height}`, preserveAspectRatio: 'none', class: className, 'aria-hidden': 'true' });
  layer.append(svg('polygon', { points: polygon.map(([x, y]) => `${x},${y}`).join(' '), class: 'mask-shape' }));
  return layer;
}

/** A picture (or a black frame) with the polygon over it, at the detect frame's aspect ratio. */
function maskStage(polygon, frame, { imageUrl, alt, className = 'mask-stage' }) {
  const stage = h('div', { class: className });
  stage.style.aspectRatio = `${frame.width} / ${frame.height}`;
  if (imageUrl) stage.append(h('img', { src: imageUrl, alt, decoding: 'async' }));
  stage.append(polygonLayer(polygon, frame, 'mask-layer'));
  return stage;
}

/**
 * "Not a <label>" on an event: asks for the proposed mask around the event's box, shows it over the
 * full-frame snapshot, and stores it on Confirm. `slot` is where the panel goes.
 */
export function notALabelButton(event, slot, { withSnapshot }) {
  const button = h('button', { type: 'button' }, `Not a ${event.label}`);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const proposal = await get(`/events/${encodeURIComponent(event.id)}/mask-proposal`);
      clear(slot, proposalPanel(event, proposal, { withSnapshot, close: () => { clear(slot); button.disabled = false; } }));
      slot.scrollIntoView({ block: 'start' });
      slot.querySelector('h2')?.focus({ preventScroll: true });
    } catch (err) {
      toast(err.message);
      button.disabled = false;
    }
  });
  return button;
}

function proposalPanel(event, proposal, { withSnapshot, close }) {
  const { camera, label, polygon, frame } = proposal;
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const confirm = h('button', { type: 'button', class: 'primary' }, 'Confirm');
  const cancel = h('button', { type: 'button' }, 'Cancel');
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    error.hidden = true;
    try {
      await post(`/cameras/${encodeURIComponent(camera)}/label-masks`, { label, polygon, eventId: event.id });
      toast(`From now on, no ${label} events on ${camera} inside the outlined area.`);
      close();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      confirm.disabled = false;
    }
  });
  cancel.addEventListener('click', close);
  return h('section', { class: 'card mask-proposal', 'aria-labelledby': 'mask-proposal-title' },
    h('h2', { id: 'mask-proposal-title', tabindex: '-1' }, `Not a ${label}: ignore ${label} here?`),
    h('p', {},
      `Volet will no longer make ${label} events on ${camera} for objects inside the outlined area. Other objects there still count. `,
      'You can remove the mask on ', h('a', { href: `#/camera/${camera}` }, `the ${camera} page`), '.'),
    maskStage(polygon, frame, {
      imageUrl: withSnapshot ? `/api/events/${encodeURIComponent(event.id)}/snapshot?kind=frame` : null,
      alt: `Whole frame of the ${label} event on ${camera}, the proposed mask outlined`,
    }),
    error,
    h('div', { class: 'toolbar' }, confirm, cancel),
  );
}

/** The camera's label masks with a small preview each, and Remove for administrators. */
export function labelMaskSection(cam) {
  const list = h('ul', { class: 'masks', 'aria-label': `Label masks of ${cam.name}` });
  const section = h('section', { class: 'card', 'aria-labelledby': 'label-masks-title' },
    h('h2', { id: 'label-masks-title' }, 'Label masks'),
    h('p', { class: 'hint' }, 'Areas where one kind of object never makes an event, e.g. a fire hydrant taken for a dog. Add one from an event with “Not a …”.'),
    list,
  );

  async function load() {
    let masks;
    try {
      ({ masks } = await get(`/cameras/${encodeURIComponent(cam.name)}/label-masks`));
    } catch (err) {
      clear(list, h('li', { class: 'empty' }, err.message));
      return;
    }
    if (masks.length === 0) {
      clear(list, h('li', { class: 'empty' }, 'No label masks on this camera.'));
      return;
    }
    clear(list, masks.map((m) => maskItem(m)));
  }

  function maskItem(m) {
    const remove = cam.role === 'admin'
      ? h('button', { type: 'button', class: 'danger', 'aria-label': `Remove the ${m.label} mask made by ${m.createdBy}` }, 'Remove')
      : null;
    remove?.addEventListener('click', async () => {
      if (!window.confirm(`Remove this ${m.label} mask? ${m.label} events inside it will be made again.`)) return;
      remove.disabled = true;
      try {
        await del(`/label-masks/${encodeURIComponent(m.id)}`);
        toast(`The ${m.label} mask on ${cam.name} is removed.`);
        await load();
      } catch (err) {
        toast(err.message);
        remove.disabled = false;
      }
    });
    return h('li', { class: 'mask' },
      maskStage(m.polygon, cam.detect, { className: 'mask-preview' }),
      h('div', { class: 'mask-text' },
        h('strong', {}, `Not a ${m.label}`), h('br'),
        h('span', { class: 'hint' }, `by ${m.createdBy}, `, h('time', { datetime: new Date(m.createdMs).toISOString() }, formatTime(m.createdMs)),
          m.eventId ? [' · ', h('a', { href: `#/event/${m.eventId}` }, 'event')] : null),
      ),
      remove,
    );
  }

  load();
  return section;
}
