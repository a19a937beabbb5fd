import { del, get, post, upload } from '../api.js';
import { clear, field, form, formatTime, h, page, toast } from '../ui.js';

/**
 * Administrators: residents known by their face. Add a resident, enrol faces from photos (or from an
 * event's page: "This is…"), see them while the vault is unlocked, delete a face or a resident
 * with everything about them.
 */
export async function residents(main) {
  const [{ enabled, residents: list }, { unlocked }] = await Promise.all([get('/residents'), get('/vault')]);
  const notice = enabled
    ? null
    : h('p', { class: 'card' }, 'Face recognition is off (faces.enabled in volet.yml): residents can be listed and deleted, not enrolled.');
  const addForm = form({ class: 'inline', 'aria-label': 'Add a resident' }, [
    field('Name', h('input', { name: 'name', required: true, maxlength: 32, pattern: '[A-Za-z0-9_-]{1,32}' }), 'As in privacy.residents, for presence.'),
    h('button', { type: 'submit', class: 'primary' }, 'Add resident'),
  ], async (data) => {
    await post('/residents', { name: data.get('name') });
    toast('Resident added.');
    await residents(main);
  });
  const cards = list.length === 0 ? [h('p', {}, 'No resident yet.')] : list.map((r) => residentCard(main, r, { enabled, unlocked }));
  clear(main, page('Residents', notice, addForm, ...cards));
}

function residentCard(main, resident, { enabled, unlocked }) {
  const faces = h('ul', { class: 'faces', 'aria-label': `Faces of ${resident.name}` });
  const showFaces = async () => {
    const reply = await get(`/residents/${resident.id}/faces`);
    clear(faces, reply.faces.map((f) =>
      h('li', {},
        unlocked
          ? h('img', { src: `/api/residents/${resident.id}/faces/${f.id}/photo`, alt: `Face of ${resident.name}`, width: 96, height: 96, loading: 'lazy' })
          : h('span', { class: 'thumb-locked' }, 'sealed'),
        h('small', {}, `${f.source === 'event' ? 'from an event' : 'photo'}, ${formatTime(f.createdMs)}`),
        h('button', { type: 'button', onclick: async () => {
          await del(`/residents/${resident.id}/faces/${f.id}`);
          toast('Face removed.');
          await residents(main);
        } }, 'Remove'),
      ),
    ));
  };
  void showFaces();
  const fileInput = h('input', { name: 'photo', type: 'file', accept: 'image/jpeg,image/png', required: true });
  const enrol = enabled
    ? form({ class: 'inline', 'aria-label': `Add a face of ${resident.name}` }, [
        field('Photo (JPEG or PNG, one clear face)', fileInput),
        h('button', { type: 'submit' }, 'Add face'),
      ], async () => {
        const file = fileInput.files?.[0];
        if (!file) return;
        await upload(`/residents/${resident.id}/faces`, file);
        toast('Face enrolled.');
        await residents(main);
      })
    : null;
  const remove = h('button', { type: 'button', class: 'danger', onclick: async () => {
    if (!confirm(`Delete ${resident.name} and every face enrolled for them?`)) return;
    await del(`/residents/${resident.id}`);
    toast('Resident deleted, with their photos and face data.');
    await residents(main);
  } }, 'Delete resident');
  return h('section', { class: 'card', 'aria-label': resident.name },
    h('h2', {}, resident.name), h('p', {}, `${resident.faces} face${resident.faces === 1 ? '' : 's'} enrolled`), faces, enrol, remove);
}

/** On an event's page (administrators): enrol the face of the event's snapshot for a resident. */
export async function enrolFromEvent(eventId) {
  const reply = await get('/residents').catch(() => undefined);
  if (!reply?.enabled || reply.residents.length === 0) return null;
  const select = h('select', { name: 'resident', 'aria-label': 'Resident' }, reply.residents.map((r) => h('option', { value: r.id }, r.name)));
  return form({ class: 'inline', 'aria-label': 'This face is' }, [
    field('This face is', select),
    h('button', { type: 'submit' }, 'Add to resident'),
  ], async (data) => {
    await post(`/residents/${data.get('resident')}/faces/from-event`, { eventId });
    toast('Face enrolled from this event.');
  });
}
