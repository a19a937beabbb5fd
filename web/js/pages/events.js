import { get, post, put } from '../api.js';
import { notALabelButton } from '../masks.js';
import { enrolFromEvent } from './residents.js';
import { clear, field, form, formatTime, h, lockIcon, page, toast } from '../ui.js';

/** The "vault locked — enter passphrase" state, with the form that unlocks it. */
export function vaultLockedNotice(onUnlocked) {
  return h('section', { class: 'card locked', 'aria-labelledby': 'vault-locked-title' },
    h('h2', { id: 'vault-locked-title' }, lockIcon(), 'Vault locked — enter passphrase'),
    h('p', {}, 'Recording goes on while the vault is locked. To see snapshots and clips, unlock it with the recording passphrase.'),
    form({ class: 'inline', 'aria-label': 'Unlock the vault' }, [
      field('Recording passphrase', h('input', { name: 'passphrase', type: 'password', required: true, autocomplete: 'current-password' })),
      h('button', { type: 'submit', class: 'primary' }, 'Unlock'),
    ], async (data) => {
      await post('/vault/unlock', { passphrase: data.get('passphrase') });
      toast('Vault unlocked');
      onUnlocked();
    }),
  );
}

/** What face recognition made of an event, in words ('' when nothing). */
function faceText(face, names) {
  if (!face) return '';
  if (face.resident) return names.get(face.resident) ?? 'a deleted resident';
  if (face.unknown) return 'unknown face';
  return face.unchecked ? `faces not checked: ${face.unchecked}` : '';
}

async function residentNames() {
  const reply = await get('/residents/names').catch(() => ({ residents: [] }));
  return new Map(reply.residents.map((r) => [r.id, r.name]));
}

const dayBounds = (day) => {
  const from = new Date(`${day}T00:00:00`).getTime();
  return { from, to: from + 86_400_000 };
};

export async function timeline(main, { query }) {
  const { cameras } = await get('/cameras');
  const viewable = cameras.filter((c) => c.role === 'admin' || c.role === 'viewer');
  const filters = { camera: query.get('camera') ?? '', label: query.get('label') ?? '', resident: query.get('resident') ?? '', day: query.get('day') ?? '' };
  const names = await residentNames();

  const list = h('ol', { class: 'events', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', hidden: true }, 'Older events');
  const lockSlot = h('div');
  let oldest;

  async function load(reset) {
    if (reset) {
      clear(list);
      oldest = undefined;
    }
    const params = new URLSearchParams({ limit: '50' });
    if (filters.camera) params.set('camera', filters.camera);
    if (filters.label) params.set('label', filters.label);
    if (filters.resident) params.set('resident', filters.resident);
    if (filters.day) {
      const { from, to } = dayBounds(filters.day);
      params.set('from', String(from));
      params.set('to', String(to));
    }
    if (oldest) params.set('before', String(oldest));
    let reply;
    try {
      reply = await get(`/events?${params}`);
    } catch (err) {
      if (err.code === 'vault_locked') {
        // Event details are sealed in the vault too: nothing to list until it is unlocked.
        clear(lockSlot, vaultLockedNotice(() => load(true)));
        clear(list);
        more.hidden = true;
        return;
      }
      clear(list, h('li', { class: 'empty' }, err.message));
      return;
    }
    const unlocked = reply.vault.unlocked;
    clear(lockSlot, unlocked ? null : vaultLockedNotice(() => load(true)));
    if (reset && reply.events.length === 0) list.append(h('li', { class: 'empty' }, 'No events match.'));
    for (const e of reply.events) {
      list.append(
        h('li', { class: 'event' },
          h('a', { href: `#/event/${e.id}` },
            unlocked && e.hasSnapshot
              ? h('img', { src: `/api/events/${e.id}/snapshot?kind=crop`, alt: `${e.label} on ${e.camera}`, loading: 'lazy', width: 96, height: 96 })
              : h('div', { class: 'thumb-locked', 'aria-hidden': 'true' }, unlocked ? '—' : lockIcon()),
            h('div', {},
              h('strong', {}, `${e.label}`), ` on ${e.camera}`, e.kept ? h('span', { class: 'badge kept' }, 'kept') : null,
              e.face ? h('span', { class: 'badge face' }, faceText(e.face, names)) : null,
              h('br'),
              h('time', { datetime: new Date(e.start).toISOString() }, formatTime(e.start)),
              e.end ? ` · ${Math.max(1, Math.round((e.end - e.start) / 1000))} s` : ' · ongoing',
            ),
          ),
        ),
      );
    }
    if (reply.events.length > 0) oldest = reply.events.at(-1).start;
    more.hidden = reply.events.length < 50;
  }
  more.addEventListener('click', () => load(false));

  const cameraSelect = h('select', { name: 'camera' },
    h('option', { value: '' }, 'All cameras'),
    viewable.map((c) => h('option', { value: c.name, selected: c.name === filters.camera }, c.name)),
  );
  const filterForm = form({ class: 'filters', role: 'search', 'aria-label': 'Filter events' }, [
    field('Camera', cameraSelect),
    field('Object', h('input', { name: 'label', type: 'text', value: filters.label, placeholder: 'person, cat…', maxlength: 32, required: false })),
    names.size > 0
      ? field('Resident', h('select', { name: 'resident' },
          h('option', { value: '' }, 'Anyone'),
          [...names].map(([id, name]) => h('option', { value: id, selected: id === filters.resident }, name))))
      : null,
    field('Day', h('input', { name: 'day', type: 'date', value: filters.day, required: false })),
    h('button', { type: 'submit' }, 'Show'),
  ], async (data) => {
    filters.camera = String(data.get('camera') ?? '');
    filters.label = String(data.get('label') ?? '').trim();
    filters.resident = String(data.get('resident') ?? '');
    filters.day = String(data.get('day') ?? '');
    await load(true);
  });

  clear(main, page('Events', filterForm, lockSlot, list, more));
  await load(true);
}

export async function clip(main, { params: [id], session }) {
  let reply;
  try {
    reply = await get(`/events/${id}`);
  } catch (err) {
    if (err.code !== 'vault_locked') throw err;
    clear(main, page('Event', vaultLockedNotice(() => clip(main, { params: [id], session }))));
    return;
  }
  const { event: e, vault } = reply;
  const keep = h('button', { type: 'button', 'aria-pressed': String(e.kept) }, e.kept ? 'Kept ✓' : 'Keep');
  keep.addEventListener('click', async () => {
    const kept = keep.getAttribute('aria-pressed') !== 'true';
    await put(`/events/${id}/kept`, { kept });
    keep.setAttribute('aria-pressed', String(kept));
    keep.textContent = kept ? 'Kept ✓' : 'Keep';
    toast(kept ? 'This event will not be deleted by retention.' : 'This event follows retention again.');
  });
  const body = !vault.unlocked
    ? vaultLockedNotice(() => clip(main, { params: [id], session }))
    : e.hasClip
      ? h('video', { class: 'clip', controls: true, preload: 'metadata', playsinline: true, src: `/api/events/${id}/clip`, 'aria-label': `Clip of ${e.label} on ${e.camera}` })
      : h('p', {}, 'No clip was recorded for this event.');
  const maskSlot = h('div');
  const notA = session?.user.admin && e.box ? notALabelButton(e, maskSlot, { withSnapshot: vault.unlocked && e.hasSnapshot }) : null;
  const enrol = session?.user.admin && vault.unlocked && e.hasSnapshot && e.label === 'person' ? await enrolFromEvent(id) : null;
  const face = faceText(e.face, await residentNames());
  clear(
    main,
    page(
      `${e.label} on ${e.camera}`,
      h('p', {}, h('time', { datetime: new Date(e.start).toISOString() }, formatTime(e.start)), ` · score ${Math.round(e.score * 100)} %`,
        e.zones.length ? ` · zones: ${e.zones.join(', ')}` : '', face ? ` · ${face}` : ''),
      body,
      h('div', { class: 'toolbar' },
        h('a', { class: 'button', href: '#/events' }, '← Events'),
        vault.unlocked && e.hasClip ? h('a', { class: 'button', href: `/api/events/${id}/clip?download=1`, download: '' }, 'Download MP4') : null,
        keep,
        notA,
      ),
      maskSlot,
      enrol,
    ),
  );
}
