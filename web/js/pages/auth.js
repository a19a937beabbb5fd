import { post } from '../api.js';
import { clear, field, form, h } from '../ui.js';

const input = (name, type, attrs = {}) => h('input', { name, type, required: true, ...attrs });

export function setup(main, { signedIn, vaultInitialised }) {
  clear(
    main,
    h('section', { class: 'card narrow' },
      h('h1', { tabindex: '-1' }, 'Welcome to Volet'),
      h('p', {}, 'Create the administrator account. Only people with an account can see your cameras.'),
      form({ 'aria-label': 'First set-up' }, [
        field(
          'Setup code',
          input('setupCode', 'text', { autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', maxlength: 64, placeholder: 'XXXX-XXXX-XXXX' }),
          'Proves you own this box: Volet prints it in its log at start ("setup code: …"), and "volet setup-code" shows it.',
        ),
        field('Administrator name', input('username', 'text', { autocomplete: 'username', autocapitalize: 'none', maxlength: 64 })),
        field('Password', input('password', 'password', { autocomplete: 'new-password', minlength: 10, maxlength: 256 }), 'At least 10 characters.'),
        field('Repeat password', input('password2', 'password', { autocomplete: 'new-password' })),
        vaultInitialised
          ? null
          : h('fieldset', {},
              h('legend', {}, 'Recording passphrase'),
              h('p', { class: 'hint' },
                'Recordings are encrypted with this passphrase. You will need it to watch them. ',
                h('strong', {}, 'Without it nobody, not even you, can ever open them again.'),
                ' Write it down and keep it somewhere safe.'),
              field('Passphrase', input('vaultPassphrase', 'password', { autocomplete: 'new-password', minlength: 10, maxlength: 256 })),
              field('Repeat passphrase', input('vaultPassphrase2', 'password', { autocomplete: 'new-password' })),
            ),
        h('button', { type: 'submit', class: 'primary' }, 'Create account'),
      ], async (data) => {
        if (data.get('password') !== data.get('password2')) throw new Error('The two passwords differ.');
        const body = { setupCode: String(data.get('setupCode')).trim(), username: data.get('username'), password: data.get('password') };
        if (!vaultInitialised) {
          if (data.get('vaultPassphrase') !== data.get('vaultPassphrase2')) throw new Error('The two passphrases differ.');
          body.vaultPassphrase = data.get('vaultPassphrase');
        }
        await signedIn(await post('/setup', body));
      }),
    ),
  );
}

export function login(main, { signedIn }) {
  const passwordStep = form({ 'aria-label': 'Sign in' }, [
    field('Name', input('username', 'text', { autocomplete: 'username', autocapitalize: 'none' })),
    field('Password', input('password', 'password', { autocomplete: 'current-password' })),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  ], async (data) => {
    const reply = await post('/auth/login', { username: data.get('username'), password: data.get('password') });
    if (reply.totpRequired) return showCodeStep(reply.ticket);
    await signedIn(reply);
  });

  const card = h('section', { class: 'card narrow' }, h('h1', { tabindex: '-1' }, 'Sign in to Volet'), passwordStep);
  clear(main, card);

  function showCodeStep(ticket) {
    const codeInput = input('code', 'text', {
      autocomplete: 'one-time-code',
      inputmode: 'numeric',
      autocapitalize: 'none',
      maxlength: 32,
    });
    const codeStep = form({ 'aria-label': 'Second step' }, [
      field('Code from your authenticator app', codeInput, 'Or one of your recovery codes.'),
      h('button', { type: 'submit', class: 'primary' }, 'Continue'),
    ], async (data) => {
      await signedIn(await post('/auth/login/totp', { ticket, code: String(data.get('code')).trim() }));
    });
    passwordStep.replaceWith(codeStep);
    codeInput.focus();
  }
}
