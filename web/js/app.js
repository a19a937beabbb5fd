// Volet's viewer: a hash-routed single page. Each page module exports render(main, ctx) and may
// return a cleanup function, called when the person leaves the page.
import { ApiError, get, setCsrf, whenSignedOut } from './api.js';
import { clear, h } from './ui.js';
import * as authPages from './pages/auth.js';
import * as livePages from './pages/live.js';
import * as eventPages from './pages/events.js';
import * as timelinePage from './pages/timeline.js';
import * as statusPage from './pages/status.js';
import * as adminPages from './pages/admin.js';
import * as accountPage from './pages/account.js';
import * as residentsPage from './pages/residents.js';

const main = document.getElementById('main');
const header = document.querySelector('header.top');
const nav = document.getElementById('nav');

export const session = { user: null, vault: null };
let cleanup = null;

const isViewer = (user) => user.admin || Object.values(user.grants).some((rights) => rights.includes('recordings'));

const routes = [
  { path: /^\/live$/, page: livePages.grid, title: 'Live' },
  { path: /^\/camera\/([a-z0-9_-]+)$/, page: livePages.camera, title: 'Camera' },
  { path: /^\/timeline$/, page: timelinePage.render, title: 'Timeline', needs: isViewer },
  { path: /^\/events$/, page: eventPages.timeline, title: 'Events', needs: isViewer },
  { path: /^\/events?\/([A-Za-z0-9_-]+)$/, page: eventPages.clip, title: 'Event', needs: isViewer },
  { path: /^\/status$/, page: statusPage.render, title: 'Status' },
  { path: /^\/users$/, page: adminPages.users, title: 'Users', needs: (u) => u.admin },
  { path: /^\/audit$/, page: adminPages.audit, title: 'Audit log', needs: (u) => u.admin },
  { path: /^\/residents$/, page: residentsPage.residents, title: 'Residents', needs: (u) => u.admin },
  { path: /^\/account$/, page: accountPage.render, title: 'Account' },
];

function renderNav() {
  const path = (location.hash.slice(1) || '/live').split('?')[0];
  const here = path.startsWith('/camera/') ? '/live' : path.startsWith('/event/') ? '/events' : path;
  const links = [
    ['/live', 'Live'],
    ...(isViewer(session.user) ? [['/timeline', 'Timeline'], ['/events', 'Events']] : []),
    ['/status', 'Status'],
    ...(session.user.admin ? [['/users', 'Users'], ['/residents', 'Residents'], ['/audit', 'Audit']] : []),
    ['/account', session.user.username],
  ];
  clear(
    nav,
    links.map(([link, label]) =>
      h('li', {}, h('a', { href: `#${link}`, 'aria-current': here === link ? 'page' : undefined }, label)),
    ),
  );
}

async function route() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  if (!session.user) return;
  const [path, search] = (location.hash.slice(1) || '/live').split('?');
  const match = routes.map((r) => ({ r, m: r.path.exec(path) })).find((x) => x.m);
  header.hidden = false;
  renderNav();
  if (!match || (match.r.needs && !match.r.needs(session.user))) {
    location.hash = '#/live';
    return;
  }
  document.title = `${match.r.title} · Volet`;
  clear(main);
  try {
    const result = await match.r.page(main, { session, params: match.m.slice(1), query: new URLSearchParams(search ?? ''), refreshSession });
    if (typeof result === 'function') cleanup = result;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    clear(main, h('h1', {}, 'Something went wrong'), h('p', { class: 'error' }, err.message));
  }
  main.querySelector('h1')?.focus({ preventScroll: true });
}

export async function refreshSession() {
  const s = await get('/auth/session');
  session.user = s.user;
  session.vault = s.vault;
  setCsrf(s.csrfToken);
  return s;
}

/** Called by the login and setup pages once a session exists. */
export async function signedIn(reply) {
  setCsrf(reply.csrfToken);
  await refreshSession();
  if (!location.hash || location.hash === '#/login' || location.hash === '#/setup') location.hash = '#/live';
  await route();
}

/** Shows the sign-in page; `next` is where to go after signing in again (default: stay). */
export function signedOut(next) {
  session.user = null;
  if (next) history.replaceState(null, '', next);
  setCsrf(null);
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  header.hidden = true;
  document.title = 'Sign in · Volet';
  authPages.login(main, { signedIn });
  main.querySelector('h1')?.focus({ preventScroll: true });
}

async function boot() {
  whenSignedOut(signedOut);
  try {
    const setup = await get('/setup');
    if (setup.needed) {
      document.title = 'Set up · Volet';
      return authPages.setup(main, { signedIn, vaultInitialised: setup.vaultInitialised });
    }
    await refreshSession();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signedOut();
    clear(main, h('h1', {}, 'Volet is not reachable'), h('p', {}, err.message));
    return;
  }
  await route();
}

window.addEventListener('hashchange', route);
if ('serviceWorker' in navigator && window.isSecureContext) {
  navigator.serviceWorker.register('/sw.js').catch(() => {});
}
boot();
