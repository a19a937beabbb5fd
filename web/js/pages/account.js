import { get, post } from '../api.js';
import { clear, field, form, formatTime, h, page, toast } from '../ui.js';
import { signedOut } from '../app.js';
import { notificationsSection } from './notifications.js';

const pw = (name, autocomplete = 'current-password') => h('input', { name, type: 'password', required: true, autocomplete });

function recoveryList(codes) {
  return h('div', { class: 'card codes' },
    h('h3', {}, 'Recovery codes'),
    h('p', {}, 'Each works once instead of a code from your phone. Keep them somewhere safe; they are not shown again.'),
    h('ol', {}, codes.map((c) => h('li', {}, h('code', {}, c)))),
  );
}

export async function render(main, ctx) {
  const user = ctx.session.user;
  const { sessions } = await get('/account/sessions');

  const passwordForm = form({ 'aria-label': 'Change password' }, [
    field('Current password', pw('current')),
    field('New password', pw('next', 'new-password'), 'At least 10 characters. Your other devices will be signed out.'),
    h('button', { type: 'submit' }, 'Change password'),
  ], async (data, el) => {
    await post('/account/password', { current: data.get('current'), next: data.get('next') });
    el.reset();
    toast('Password changed; other devices signed out.');
  });

  const totpSlot = h('div');
  const showTotp = () => {
    if (ctx.session.user.totpEnabled) {
      clear(totpSlot,
        h('p', {}, 'Two-step sign-in is on.'),
        form({ class: 'inline', 'aria-label': 'New recovery codes' }, [
          field('Password', pw('password')),
          h('button', { type: 'submit' }, 'New recovery codes'),
        ], async (data) => {
          const { recoveryCodes } = await post('/account/recovery-codes', { password: data.get('password') });
          totpSlot.append(recoveryList(recoveryCodes));
        }),
        form({ class: 'inline', 'aria-label': 'Turn off two-step sign-in' }, [
          field('Password', pw('password')),
          h('button', { type: 'submit', class: 'danger' }, 'Turn off'),
        ], async (data) => {
          await post('/account/totp/disable', { password: data.get('password') });
          await ctx.refreshSession();
          showTotp();
        }),
      );
      return;
    }
    clear(totpSlot,
      h('p', {}, 'Ask for a code from an authenticator app on your phone at each sign-in.'),
      form({ class: 'inline', 'aria-label': 'Set up two-step sign-in' }, [
        field('Password', pw('password')),
        h('button', { type: 'submit' }, 'Set up'),
      ], async (data) => {
        const enrol = await post('/account/totp/begin', { password: data.get('password') });
        clear(totpSlot,
          h('ol', {},
            h('li', {}, 'In your authenticator app, add an account with this key: ', h('code', { class: 'secret' }, enrol.secret.match(/.{1,4}/g).join(' '))),
            h('li', {}, 'Or, on this phone, open ', h('a', { href: enrol.otpauthUrl }, 'the set-up link'), '.'),
            h('li', {}, 'Enter the 6-digit code it shows:'),
          ),
          form({ class: 'inline', 'aria-label': 'Confirm two-step sign-in' }, [
            field('Code', h('input', { name: 'code', inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: 6, required: true, autocomplete: 'one-time-code' })),
            h('button', { type: 'submit', class: 'primary' }, 'Turn on'),
          ], async (d) => {
            const { recoveryCodes } = await post('/account/totp/confirm', { code: d.get('code') });
            await ctx.refreshSession();
            showTotp();
            totpSlot.append(recoveryList(recoveryCodes));
          }),
        );
      }),
    );
  };
  showTotp();

  clear(
    main,
    page(`Account: ${user.username}`,
      h('section', { class: 'card' }, h('h2', {}, 'Password'), passwordForm),
      h('section', { class: 'card' }, h('h2', {}, 'Two-step sign-in'), totpSlot),
      await notificationsSection(),
      h('section', { class: 'card' },
        h('h2', {}, 'Signed-in devices'),
        h('ul', {}, sessions.map((s) => h('li', {}, `${s.userAgent || 'unknown browser'} · ${s.ip} · last used ${formatTime(s.lastSeen)}`, s.current ? h('strong', {}, ' (this one)') : null))),
        h('div', { class: 'toolbar' },
          h('button', { type: 'button', onclick: async () => {
            await post('/auth/logout');
            signedOut('#/live');
          } }, 'Sign out'),
          h('button', { type: 'button', class: 'danger', onclick: async () => {
            if (!confirm('Sign out on every device, including this one?')) return;
            await post('/auth/logout-everywhere');
            signedOut('#/live');
          } }, 'Sign out everywhere'),
        ),
      ),
    ),
  );
}
