/*
 * Volet service worker: turns an end-to-end encrypted Web Push message into a notification.
 * The browser decrypts the message; its JSON is exactly
 *   { "camera": "porch", "label": "person", "time": "<ISO 8601>", "eventId": "...", "url": "<viewer>/#/events/<id>" }
 * (no image ever travels through the push service). Served by the web viewer at `/sw.js`.
 */
/* eslint-env serviceworker */
'use strict';

self.addEventListener('install', () => {
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('push', (event) => {
  event.waitUntil(showEventNotification(readMessage(event.data)));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  event.waitUntil(openViewer(typeof data.url === 'string' ? data.url : ''));
});

self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(renewSubscription(event.oldSubscription, event.newSubscription));
});

/** The decrypted JSON, or a neutral message when the push carried something unreadable. */
function readMessage(data) {
  let message = {};
  try {
    message = data ? data.json() : {};
  } catch {
    message = {};
  }
  if (!message || typeof message !== 'object') message = {};
  const text = (value, fallback) => (typeof value === 'string' && value.length > 0 ? value : fallback);
  return {
    camera: text(message.camera, 'a camera'),
    label: text(message.label, 'Activity'),
    time: text(message.time, new Date().toISOString()),
    eventId: text(message.eventId, ''),
    url: text(message.url, ''),
  };
}

async function showEventNotification(message) {
  const at = new Date(message.time);
  const valid = !Number.isNaN(at.getTime());
  await self.registration.showNotification(`${message.label} at ${message.camera}`, {
    body: valid ? describeTime(at) : message.time,
    tag: message.eventId ? `volet-event-${message.eventId}` : undefined,
    timestamp: valid ? at.getTime() : Date.now(),
    data: { url: message.url, eventId: message.eventId },
  });
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const client of windows) client.postMessage({ type: 'volet:push', message });
}

/** "14:03:22" today, "Mon 3 Jun, 14:03:22" otherwise, in the device's own locale and time zone. */
function describeTime(at) {
  const sameDay = at.toDateString() === new Date().toDateString();
  return sameDay
    ? at.toLocaleTimeString()
    : at.toLocaleString(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/**
 * Opens the event in the viewer. Only this worker's own origin is ever opened: the path and hash of
 * the message's URL are kept, so a viewer reached under another host name still works.
 */
async function openViewer(url) {
  let target = new URL(self.registration.scope);
  if (url) {
    try {
      const given = new URL(url, self.registration.scope);
      target = new URL(given.pathname + given.search + given.hash, self.location.origin);
    } catch {
      // keep the scope
    }
  }
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const existing = windows.find((client) => new URL(client.url).origin === target.origin);
  if (existing) {
    try {
      const focused = await existing.focus();
      focused.postMessage({ type: 'volet:open', url: target.href });
      try {
        await focused.navigate(target.href);
      } catch {
        // an uncontrolled window cannot be navigated: the page routes itself on 'volet:open'
      }
      return;
    } catch {
      // focus refused: open a new window instead
    }
  }
  await self.clients.openWindow(target.href);
}

/**
 * The push service rotated the subscription: register the new one with the viewer and drop the old
 * one. Needs a live session (the cookie) and its CSRF token; without them the page re-subscribes on
 * its next visit instead.
 */
async function renewSubscription(oldSubscription, newSubscription) {
  const api = (path) => new URL(`api/${path}`, self.registration.scope).href;
  const session = await fetch(api('auth/session'), { credentials: 'same-origin' });
  if (!session.ok) return;
  const { csrfToken } = await session.json();
  const headers = { 'content-type': 'application/json', 'x-csrf-token': csrfToken };
  let subscription = newSubscription;
  if (!subscription) {
    const response = await fetch(api('notifications/vapid-public-key'), { credentials: 'same-origin' });
    if (!response.ok) return;
    const { publicKey } = await response.json();
    subscription = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: publicKey });
  }
  await fetch(api('notifications/subscriptions'), {
    method: 'POST',
    credentials: 'same-origin',
    headers,
    body: JSON.stringify(subscription.toJSON()),
  });
  if (oldSubscription && oldSubscription.endpoint !== subscription.endpoint) {
    await fetch(api('notifications/subscriptions'), {
      method: 'DELETE',
      credentials: 'same-origin',
      headers,
      body: JSON.stringify({ endpoint: oldSubscription.endpoint }),
    });
  }
}
