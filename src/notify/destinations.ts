/**
 * Where notifications may be sent. Anyone who can sign in to the viewer can store a push endpoint,
 * so without this the box would POST wherever they like: into the LAN, to a router's admin page,
 * to a cloud metadata address (server-side request forgery). Checked when a destination is saved
 * and again right before every send.
 */
export interface DestinationPolicy {
  /** notifications.pushServices: push service origins allowed besides the browser vendors' ones. */
  pushServices: readonly string[];
  /** notifications.allowedHosts: `host` (any port) or `host:port` where ntfy/Gotify servers may be. */
  allowedHosts: readonly string[];
}

/** The browser vendors' Web Push services, https on port 443 only. */
export const PUBLIC_PUSH_SERVICES: readonly { name: string; host: RegExp }[] = [
  { name: 'Google FCM (Chrome, Chromium browsers, Android)', host: /^fcm\.googleapis\.com$/ },
  { name: 'Mozilla autopush (Firefox)', host: /^updates\.push\.services\.mozilla\.com$/ },
  { name: 'Apple (Safari), *.push.apple.com', host: /^[a-z0-9-]+\.push\.apple\.com$/ },
  { name: 'Microsoft WNS (Edge on Windows), *.notify.windows.com', host: /^[a-z0-9-]+\.notify\.windows\.com$/ },
];

function parseUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    if (url.username !== '' || url.password !== '') return undefined;
    return url;
  } catch {
    return undefined;
  }
}

/** The origin of an http(s) URL, or undefined when it is not one. */
export function httpOrigin(text: string): string | undefined {
  return parseUrl(text)?.origin;
}

/** Why a push endpoint may not be used, or undefined when it may. */
export function pushEndpointProblem(endpoint: string, policy: DestinationPolicy): string | undefined {
  const url = parseUrl(endpoint);
  if (url) {
    if (policy.pushServices.some((allowed) => httpOrigin(allowed) === url.origin)) return undefined;
    if (url.protocol === 'https:' && url.port === '' && PUBLIC_PUSH_SERVICES.some((service) => service.host.test(url.hostname))) {
      return undefined;
    }
  }
  return 'must be an https:// URL of a browser push service (FCM, Mozilla, Apple, Microsoft) or of notifications.pushServices';
}

/** `host` or `host:port` (IPv6 in brackets), normalised the way URLs are: undefined when malformed. */
export function parseHostEntry(entry: string): { hostname: string; port?: number } | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]/?#@\s]+)(?::(\d{1,5}))?$/.exec(entry);
  if (!match) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  try {
    return { hostname: new URL(`http://${match[1]}`).hostname, port };
  } catch {
    return undefined;
  }
}

/** Why an ntfy/Gotify server URL may not be used, or undefined when its host is allowed. */
export function selfHostedProblem(serverUrl: string, policy: DestinationPolicy): string | undefined {
  const url = parseUrl(serverUrl);
  if (!url) return 'must be an http:// or https:// URL without user:password';
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  const allowed = policy.allowedHosts.some((entry) => {
    const host = parseHostEntry(entry);
    return host !== undefined && host.hostname === url.hostname && (host.port === undefined || host.port === port);
  });
  return allowed ? undefined : `host ${url.host} is not in notifications.allowedHosts`;
}
