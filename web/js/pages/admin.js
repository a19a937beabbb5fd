import { del, get, patch, post } from '../api.js';
import { clear, field, form, formatTime, h, page, toast } from '../ui.js';

/** camera → 'none' | 'live' | 'viewer' pickers, plus one for all cameras ('*'). */
function grantsEditor(cameras, grants = {}) {
  const names = ['*', ...cameras.map((c) => c.name)];
  const selects = names.map((name) =>
    h('select', { name: `grant:${name}`, 'aria-label': name === '*' ? 'All cameras' : `Camera ${name}` },
      ['none', 'live', 'viewer'].map((role) => h('option', { value: role, selected: (grants[name] ?? 'none') === role }, role === 'none' ? 'no access' : role === 'live' ? 'live only' : 'live + recordings')),
    ),
  );
  const el = h('fieldset', { class: 'grants' },
    h('legend', {}, 'Access per camera'),
    names.map((name, i) => h('div', { class: 'field row' }, h('span', {}, name === '*' ? 'All cameras' : name), selects[i])),
  );
  el.read = () => Object.fromEntries(names.map((n, i) => [n, selects[i].value]).filter(([, r]) => r !== 'none'));
  return el;
}

export async function users(main, ctx) {
  const [{ users: list }, { cameras }] = await Promise.all([get('/users'), get('/cameras')]);
  const createGrants = grantsEditor(cameras, { '*': 'live' });
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
