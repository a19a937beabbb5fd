import type { ObjectEvent } from '../events/bus.ts';

/**
 * What a push service carries, encrypted end to end: exactly these five fields, in this order.
 * No image, face, crop or thumbnail ever leaves the house through a notification.
 */
export interface PushMessage {
  camera: string;
  label: string;
  /** ISO 8601 (UTC) start of the event. */
  time: string;
  eventId: string;
  url: string;
}

export type NotifiableEvent = Pick<ObjectEvent, 'id' | 'camera' | 'label' | 'start'>;

/** `<viewer base>/#/events/<id>`, whatever the trailing slashes of the configured base. */
export function eventUrl(viewerBaseUrl: string, eventId: string): string {
  return `${viewerBaseUrl.replace(/\/+$/, '')}/#/events/${encodeURIComponent(eventId)}`;
}

export function pushMessage(event: NotifiableEvent, viewerBaseUrl: string): PushMessage {
  return {
    camera: event.camera,
    label: event.label,
    time: new Date(event.start).toISOString(),
    eventId: event.id,
    url: eventUrl(viewerBaseUrl, event.id),
  };
}

/** The plaintext JSON that is encrypted for the browser. */
export function pushPayload(message: PushMessage): string {
  const { camera, label, time, eventId, url } = message;
  return JSON.stringify({ camera, label, time, eventId, url });
}

/** For ntfy and Gotify, which see plain text: camera, label and time, nothing else. */
export interface PlainTextMessage {
  title: string;
  body: string;
  /** Where tapping the notification leads (the event in the viewer). */
  click: string;
}

export function plainTextMessage(message: PushMessage, timeZone?: string): PlainTextMessage {
  return {
    title: `${message.label} at ${message.camera}`,
    body: `${message.label} at ${message.camera}, ${localDateTime(Date.parse(message.time), timeZone)}`,
    click: message.url,
  };
}

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

/** "2026-01-02 14:03:05 +01:00" in the given time zone (the host's when undefined). */
export function localDateTime(at: number, timeZone?: string): string {
  const key = timeZone ?? '';
  let format = dateTimeFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    dateTimeFormats.set(key, format);
  }
  const part: Record<string, string> = {};
  for (const { type, value } of format.formatToParts(at)) part[type] = value;
  const offset = part.timeZoneName === 'GMT' ? '+00:00' : (part.timeZoneName ?? '').replace('GMT', '');
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} ${offset}`;
}
