// The one way the app talks to the server: JSON over fetch with the session's CSRF token.

let csrfToken = null;

export function setCsrf(token) {
  csrfToken = token;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Called on any 401 so the app can show the sign-in page. */
let onSignedOut = () => {};
export function whenSignedOut(fn) {
  onSignedOut = fn;
}

export async function api(method, path, body, rawType) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = rawType ?? 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res;
  try {
    res = await fetch(`/api${path}`, {
      method,
      headers,
      body: body === undefined || rawType ? body : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'offline', 'Volet cannot be reached. Check that you are on your home network.');
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new ApiError(res.status, data?.error?.code ?? 'error', data?.error?.message ?? `HTTP ${res.status}`);
    if (res.status === 401 && !path.startsWith('/auth/login') && path !== '/auth/session') onSignedOut();
    throw err;
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);
export const put = (path, body) => api('PUT', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);
/** POSTs a file (a photo) as the raw body, with its own content type. */
export const upload = (path, file) => api('POST', path, file, file.type || 'application/octet-stream');
