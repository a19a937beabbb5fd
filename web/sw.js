// Volet's minimal service worker: keeps the app shell available offline so the installed app opens
// (and says Volet is unreachable) instead of showing the browser's error page. API calls, live
// video and recordings are never cached. The notifications module's worker replaces this one.
const CACHE = 'volet-shell-v2';
const SHELL = ['/', '/index.html', '/app.css', '/js/api.js', '/js/app.js', '/js/live.js',
  '/js/masks.js', '/js/pages/account.js', '/js/pages/admin.js', '/js/pages/auth.js',
  '/js/pages/events.js', '/js/pages/live.js', '/js/pages/notifications.js',
  '/js/pages/residents.js', '/js/pages/status.js', '/js/pages/timeline.js', '/js/timeline/bar.js',
  '/js/timeline/export.js', '/js/timeline/format.js', '/js/timeline/mp4-codecs.js',
  '/js/timeline/player.js', '/js/timeline/stage.js', '/js/ui.js', '/manifest.webmanifest',
  '/icons/icon.svg', '/icons/icon-192.png'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))).then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/ws/')) return;
  // Network first, so an update is seen at once; the cached shell only when offline.
  event.respondWith(
    fetch(event.request)
      .then((res) => {
        if (res.ok && SHELL.includes(url.pathname)) {
          const copy = res.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return res;
      })
      .catch(() => caches.match(event.request).then((hit) => hit ?? caches.match('/index.html'))),
  );
});
