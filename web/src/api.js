// The scheduler's API from the browser: the session cookie (HttpOnly, SameSite=Strict) is sent
// by fetch with credentials 'same-origin'; changes carry the session's CSRF token.
let csrf = '';
let onLoggedOut = () => {};

// Called when a /v1/ request answers 401: the session expired or its token was revoked.
export function whenLoggedOut(fn) { onLoggedOut = fn; }

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
  }
}

export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = {};
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, {
    method, headers, signal, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (r.status === 401 && path.startsWith('/v1/')) onLoggedOut();
  if (!r.ok) throw new ApiError(r.status, data?.error?.code, data?.error?.message ?? text);
  return data;
}

// The session: {account, role, csrf} or null when not logged in.
export async function currentSession() {
  try {
    const s = await api('/ui/api/session');
    csrf = s.csrf;
    return s;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export async function login(token) {
  const s = await api('/ui/api/session', { method: 'POST', body: { token } });
  csrf = s.csrf;
  return s;
}

export async function logout() {
  try { await api('/ui/api/session', { method: 'DELETE' }); } finally { csrf = ''; }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}
