import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventUrl, localDateTime, plainTextMessage, pushMessage, pushPayload } from '../../src/notify/message.ts';

const event = { id: 'ev-42', camera: 'porch', label: 'person', start: Date.UTC(2026, 0, 2, 3, 4, 5, 678) };

test('the push payload is exactly camera, label, ISO time, event id and viewer link — nothing else', () => {
  const payload = pushPayload(pushMessage(event, 'https://nvr.home.arpa:8443'));
  assert.equal(
    payload,
    '{"camera":"porch","label":"person","time":"2026-01-02T03:04:05.678Z","eventId":"ev-42","url":"https://nvr.home.arpa:8443/#/events/ev-42"}',
  );
});

test('extra fields on the event (box, score, zones) never reach the payload', () => {
  const full = { ...event, score: 0.9, zones: ['door'], box: { x: 1, y: 2, width: 3, height: 4 }, snapshot: 'jpeg' };
  assert.deepEqual(Object.keys(JSON.parse(pushPayload(pushMessage(full, 'https://v')))), ['camera', 'label', 'time', 'eventId', 'url']);
});

test('event links ignore trailing slashes of the viewer base and escape the id', () => {
  assert.equal(eventUrl('https://v.example/volet/', 'a b'), 'https://v.example/volet/#/events/a%20b');
  assert.equal(eventUrl('https://v.example', 'x'), 'https://v.example/#/events/x');
});

test('plain-text messages say label, camera and local time only', () => {
  const text = plainTextMessage(pushMessage(event, 'https://v'), 'Europe/Paris');
  assert.deepEqual(text, {
    title: 'person at porch',
    body: 'person at porch, 2026-01-02 04:04:05 +01:00',
    click: 'https://v/#/events/ev-42',
  });
});

test('local date-time follows the time zone, daylight saving included', () => {
  assert.equal(localDateTime(Date.UTC(2026, 6, 1, 12, 0, 0), 'America/New_York'), '2026-07-01 08:00:00 -04:00');
  assert.equal(localDateTime(Date.UTC(2026, 0, 1, 12, 0, 0), 'UTC'), '2026-01-01 12:00:00 +00:00');
});
