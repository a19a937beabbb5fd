import { api, get, post, put } from '../api.js';
import { clear, field, form, h, toast } from '../ui.js';

/** The browser's push key as the Push API wants it. */
function keyBytes(base64url) {
  const b64 = base64url.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(base64url.length / 4) * 4, '=');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function deviceSubscription() {
  if (!('serviceWorker' in navigator) || !('PushManager' in window)) return { supported: false };
  const registration = await navigator.serviceWorker.register('/sw.js');
  return { supported: true, registration, subscription: await registration.pushManager.getSubscription() };
}

async function subscribeDevice(registration) {
  if ((await Notification.requestPermission()) !== 'granted') throw new Error('Notifications are blocked for this site in the browser settings.');
  const { publicKey } = await get('/notifications/vapid-public-key');
  const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) });
  await post('/notifications/subscriptions', subscription.toJSON());
}

/** Account section: push on this device, a test message, and the rule for every camera. */
export async function notificationsSection() {
  const slot = h('div');
  const rules = await get('/notifications/rules').catch(() => undefined);
  if (!rules) return h('section', { class: 'card' }, h('h2', {}, 'Notifications'), h('p', {}, 'Notifications are not available on this server.'));
  const anyCamera = rules.find((r) => r.camera === '*') ?? { labels: ['person'], zones: [], cooldownSeconds: null, awayOnly: false, unknownOnly: false, arrivals: [], quietHours: null };
  const residents = (await get('/residents/names').catch(() => ({ residents: [] }))).residents;

  const showDevice = async () => {
    const device = await deviceSubscription().catch(() => ({ supported: false }));
    if (!device.supported) {
      clear(slot, h('p', {}, 'This browser cannot receive push notifications (on iPhone, add Volet to the home screen first).'));
      return;
    }
    if (device.subscription) {
      // Idempotent: keeps the server's copy in step with the browser's.
      await post('/notifications/subscriptions', device.subscription.toJSON()).catch(() => {});
      clear(slot,
        h('p', {}, 'This device receives notifications.'),
        h('div', { class: 'toolbar' },
          h('button', { type: 'button', onclick: async () => {
            const result = await post('/notifications/test');
            toast(result.sent > 0 ? 'Test notification sent.' : 'No device accepted the test notification.');
          } }, 'Send test notification'),
          h('button', { type: 'button', onclick: async () => {
            await api('DELETE', '/notifications/subscriptions', { endpoint: device.subscription.endpoint }).catch(() => {});
            await device.subscription.unsubscribe();
            await showDevice();
          } }, 'Stop on this device'),
        ),
      );
      return;
    }
    clear(slot, h('button', { type: 'button', class: 'primary', onclick: async () => {
      try {
        await subscribeDevice(device.registration);
        toast('Notifications are on for this device.');
      } catch (err) {
        toast(err.message);
      }
      await showDevice();
    } }, 'Notify me on this device'));
  };
  await showDevice();

  const ruleForm = form({ 'aria-label': 'Notification rule' }, [
    field('Objects', h('input', { name: 'labels', value: anyCamera.labels.join(', '), placeholder: 'person, dog' }), 'Empty: any object.'),
    field('Zones', h('input', { name: 'zones', value: anyCamera.zones.join(', ') }), 'Only when the object entered one of these zones. Empty: anywhere.'),
    field('Quiet from', h('input', { name: 'quietFrom', type: 'time', value: anyCamera.quietHours?.start ?? '' })),
    field('Quiet until', h('input', { name: 'quietTo', type: 'time', value: anyCamera.quietHours?.end ?? '' })),
    h('label', { class: 'check' }, h('input', { name: 'awayOnly', type: 'checkbox', checked: anyCamera.awayOnly }), ' Only when everyone is away'),
    h('label', { class: 'check' }, h('input', { name: 'unknownOnly', type: 'checkbox', checked: anyCamera.unknownOnly ?? false }), ' People: only unknown faces (told when the event ends)'),
    ...residents.map((r) =>
      h('label', { class: 'check' }, h('input', { name: 'arrivals', value: r.id, type: 'checkbox', checked: (anyCamera.arrivals ?? []).includes(r.id) }), ` Tell me when ${r.name} arrives`)),
    h('button', { type: 'submit' }, 'Save'),
  ], async (data) => {
    const list = (v) => String(v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const from = data.get('quietFrom');
    const to = data.get('quietTo');
    await put('/notifications/rules/*', {
      labels: list(data.get('labels')),
      zones: list(data.get('zones')),
      awayOnly: data.get('awayOnly') === 'on',
      unknownOnly: data.get('unknownOnly') === 'on',
      arrivals: data.getAll('arrivals'),
      quietHours: from && to ? { start: from, end: to, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone } : null,
    });
    toast('Notification rule saved.');
  });

  return h('section', { class: 'card' }, h('h2', {}, 'Notifications'), slot, h('h3', {}, 'For every camera'), ruleForm);
}
