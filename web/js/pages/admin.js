import { del, get, patch, post } from '../api.js';
import { clear, field, form, formatTime, h, page, toast } from '../ui.js';

const RIGHTS = [
  ['live', 'Live'],
  ['recordings', 'Recordings'],
  ['export', 'Export'],
  ['shutter', 'Shutter'],
];
const PRESETS = { none: [], live: ['live'], viewer: ['live', 'recordings', 'export', 'shutter'] };
const PRESET_LABELS = { inherit: 'as all cameras', none: 'no access', live: 'live only', viewer: 'everything', custom: 'chosen rights' };

const presetOf = (rights) =>
  Object.keys(PRESETS).find((p) => PRESETS[p].length === rights.length && PRESETS[p].every((r) => rights.includes(r))) ?? 'custom';

/**
 * Per camera (and '*' for all cameras): a preset picker plus one checkbox per right. A camera's own
 * entry replaces the all-cameras one; "as all cameras" leaves it out.
 */
function grantsEditor(cameras, grants = {}) {
  const rows = ['*', ...cameras.map((c) => c.name)].map((name) => {
    const all = name === '*';
    const title = all ? 'All cameras' : `Camera ${name}`;
    const own = grants[name];
    const choices = all ? ['none', 'live', 'viewer', 'custom'] : ['inherit', 'none', 'live', 'viewer', 'custom'];
    const initial = own === undefined ? (all ? 'none' : 'inherit') : presetOf(own);
    const select = h('select', { name: `grant:${name}`, 'aria-label': title },
      choices.map((c) => h('option', { value: c, selected: c === initial }, PRESET_LABELS[c])),
    );
    const boxes = RIGHTS.map(([right, label]) =>
      h('input', { type: 'checkbox', name: `right:${name}:${right}`, 'aria-label': `${label} on ${all ? 'all cameras' : name}`, checked: (own ?? []).includes(right) }),
    );
    const row = { name, select, boxes };
    row.rights = () => RIGHTS.filter((_, i) => boxes[i].checked).map(([right]) => right);
    row.show = (rights) => {
      boxes.forEach((box, i) => (box.checked = rights.includes(RIGHTS[i][0])));
    };
    row.el = h('div', { class: 'field row grant' },
      h('span', {}, all ? 'All cameras' : name),
      select,
      h('span', { class: 'rights' }, RIGHTS.map(([, label], i) => h('label', { class: 'check' }, boxes[i], ` ${label}`))),
    );
    return row;
  });
  const [allRow] = rows;
  const sync = () => {
    for (const row of rows) {
      const inherits = row.select.value === 'inherit';
      if (inherits) row.show(allRow.rights());
      row.boxes.forEach((box) => (box.disabled = inherits));
    }
  };
  for (const row of rows) {
    row.select.addEventListener('change', () => {
      if (row.select.value in PRESETS) row.show(PRESETS[row.select.value]);
      sync();
    });
    row.boxes.forEach((box) =>
      box.addEventListener('change', () => {
        row.select.value = presetOf(row.rights());
        sync();
      }),
    );
  }
  sync();
  const el = h('fieldset', { class: 'grants' },
    h('legend', {}, 'Access per camera'),
    h('p', { class: 'hint' }, 'Live: watch the camera. Recordings: events, clips and the timeline. Export: download footage. Shutter: open and close the privacy shutter. A camera set to anything but "as all cameras" ignores the all-cameras line.'),
    rows.map((row) => row.el),
  );
  el.read = () =>
    Object.fromEntries(
      rows
        .filter((row) => row.select.value !== 'inherit' && !(row.name === '*' && row.rights().length === 0))
        .map((row) => [row.name, row.rights()]),
    );
  return el;
}

export async function users(main, ctx) {
  const [{ users: list }, { cameras }] = await Promise.all([get('/users'), get('/cameras')]);
  const createGrants = grantsEditor(cameras, { '*': ['live'] });
  const createForm = form({ 'aria-label': 'Add a user' }, [
    field('Name', h('input', { name: 'username', required: true, autocomplete: 'off', autocapitalize: 'none', maxlength: 64 })),
    field('Password', h('input', { name: 'password', type: 'password', required: true, minlength: 10, autocomplete: 'new-password' }), 'At least 10 characters; they can change it later.'),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'admin' }), ' Administrator (everything: users, settings, all cameras)'),
    createGrants,
    h('button', { type: 'submit', class: 'primary' }, 'Add user'),
  ], async (data) => {
    await post('/users', { username: data.get('username'), password: data.get('password'), admin: data.get('admin') === 'on', grants: createGrants.read() });
    toast(`User ${data.get('username')} added`);
    users(main, ctx);
  });

  const rows = list.map((u) => {
    const editor = grantsEditor(cameras, u.grants);
    const isMe = u.username === ctx.session.user.username;
    return h('li', { class: 'card user' },
      h('h2', {}, u.username, u.admin ? h('span', { class: 'badge' }, 'admin') : null, u.totpEnabled ? h('span', { class: 'badge' }, '2-step') : null),
      h('p', { class: 'hint' }, `Since ${formatTime(u.createdAt)}`),
      u.admin ? null : editor,
      h('div', { class: 'toolbar' },
        u.admin ? null : h('button', { type: 'button', onclick: async () => {
          await patch(`/users/${encodeURIComponent(u.username)}`, { grants: editor.read() });
          toast(`Access of ${u.username} saved`);
        } }, 'Save access'),
        isMe ? null : h('button', { type: 'button', onclick: async () => {
          try {
            await patch(`/users/${encodeURIComponent(u.username)}`, { admin: !u.admin });
            users(main, ctx);
          } catch (err) { toast(err.message); }
        } }, u.admin ? 'Remove admin' : 'Make admin'),
        u.totpEnabled ? h('button', { type: 'button', onclick: async () => {
          if (!confirm(`Turn off two-step sign-in for ${u.username}?`)) return;
          await post(`/users/${encodeURIComponent(u.username)}/totp/reset`);
          users(main, ctx);
        } }, 'Reset 2-step') : null,
        isMe ? null : h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!confirm(`Delete ${u.username}? They are signed out at once.`)) return;
          try {
            await del(`/users/${encodeURIComponent(u.username)}`);
            users(main, ctx);
          } catch (err) { toast(err.message); }
        } }, 'Delete'),
      ),
    );
  });

  clear(main, page('Users', h('ul', { class: 'plain' }, rows), h('section', { class: 'card' }, h('h2', {}, 'Add a user'), createForm)));
}

export async function audit(main) {
  const { entries } = await get('/audit?limit=300');
  clear(
    main,
    page('Audit log',
      h('table', {},
        h('caption', {}, 'Most recent first'),
        h('thead', {}, h('tr', {}, ['When', 'What', 'Who', 'From', 'On', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {},
          entries.map((e) =>
            h('tr', { class: /failed|lockout/.test(e.action) ? 'warn' : '' },
              h('td', {}, formatTime(e.at)),
              h('td', {}, e.action.replaceAll('_', ' ')),
              h('td', {}, e.actor ?? ''),
              h('td', {}, e.ip ?? ''),
              h('td', {}, e.target ?? ''),
              h('td', {}, e.detail ? JSON.stringify(e.detail) : ''),
            ),
          ),
        ),
      ),
    ),
  );
}
