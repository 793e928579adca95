// The one way the web apps talk to Krug: the public JSON API under /api/v1,
// with the caller's tokens, refresh on expiry, idempotency keys for writes and
// errors as ApiError values carrying the API's code and details.field.

import { messageFor } from './errors.js';

const BASE = '/api/v1';

/** An error the API (or the network) answered; `message` is Russian. */
export class ApiError extends Error {
  constructor(status, code, message, field, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
    this.retryAfter = retryAfter || null;
  }
}

/**
 * A fresh random (v4) UUID: the key of one logical write (a retry of that
 * write reuses it) or the id of one app event.
 */
export function newIdempotencyKey() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  // Pages served over plain http (not localhost) lack randomUUID.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * Mirrors the server's phone rule: any Russian spelling (+7 999 123-45-67,
 * 8 (999) 1234567, 9991234567) → "+79991234567", anything else → null.
 */
export function normalizePhone(input) {
  const s = String(input || '').trim();
  if (!s || s.length > 32) return null;
  let digits = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c >= '0' && c <= '9') digits += c;
    else if (c === '+' && i === 0) continue;
    else if (' -().\u00a0'.includes(c)) continue;
    else return null;
  }
  const plus = s.startsWith('+');
  let national;
  if (plus && digits.length === 11 && digits[0] === '7') national = digits.slice(1);
  else if (!plus && digits.length === 11 && (digits[0] === '7' || digits[0] === '8')) national = digits.slice(1);
  else if (!plus && digits.length === 10) national = digits;
  else return null;
  if (!'3489'.includes(national[0])) return null;
  return '+7' + national;
}

/**
 * A client for one app. Tokens live in localStorage under `krug.<scope>` so
 * the member app, the till and the admin dashboard keep separate logins.
 */
export function createApi(scope) {
  const key = `krug.${scope}`;
  let refreshing = null;
  const listeners = new Set();

  const load = () => {
    try {
      return JSON.parse(localStorage.getItem(key) || 'null');
    } catch {
      return null;
    }
  };
  const save = (session) => {
    if (session) localStorage.setItem(key, JSON.stringify(session));
    else localStorage.removeItem(key);
  };

  function storeTokens(body) {
    save({
      access_token: body.access_token,
      refresh_token: body.refresh_token,
      expires_at: Date.now() + (body.expires_in || 900) * 1000,
    });
  }

  function signedOut() {
    save(null);
    listeners.forEach((f) => f());
  }

  async function refresh() {
    const session = load();
    if (!session || !session.refresh_token) throw new ApiError(401, 'UNAUTHORIZED', messageFor('UNAUTHORIZED'));
    if (!refreshing) {
      refreshing = raw('POST', '/auth/refresh', { body: { refresh_token: session.refresh_token } })
        .then((body) => storeTokens(body))
        .catch((e) => {
          if (e.status === 401) signedOut();
          throw e;
        })
        .finally(() => {
          refreshing = null;
        });
    }
    return refreshing;
  }

  async function raw(method, path, opts = {}) {
    const headers = { accept: 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
    const keepalive = !!opts.keepalive;
    let body;
    if (opts.rawBody !== undefined) {
      // Files as they are (a CSV upload): the caller names the type.
      headers['content-type'] = opts.contentType || 'application/octet-stream';
      body = opts.rawBody;
    } else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    let url = BASE + path;
    if (opts.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query)) {
        if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
      }
      const qs = q.toString();
      if (qs) url += (url.includes('?') ? '&' : '?') + qs;
    }
    let resp;
    try {
      resp = await fetch(url, { method, headers, body, cache: 'no-store', keepalive });
    } catch {
      throw new ApiError(0, 'NETWORK', messageFor('NETWORK'));
    }
    if (resp.status === 204) return null;
    const type = resp.headers.get('content-type') || '';
    if (opts.text && resp.ok) return resp.text();
    let parsed = null;
    if (type.includes('json')) {
      try {
        parsed = await resp.json();
      } catch {
        parsed = null;
      }
    }
    if (resp.ok) return parsed;
    const err = (parsed && parsed.error) || {};
    const code = err.code || `HTTP_${resp.status}`;
    const field = err.details && err.details.field;
    throw new ApiError(resp.status, code, messageFor(code, resp.status), field, resp.headers.get('retry-after'));
  }

  /** Sends one request as the signed-in user; refreshes once on expiry. */
  async function request(method, path, opts = {}) {
    let session = load();
    if (session && session.expires_at && session.expires_at - Date.now() < 10_000) {
      try {
        await refresh();
      } catch {
        /* the request below reports the failure */
      }
      session = load();
    }
    try {
      return await raw(method, path, { ...opts, token: session && session.access_token });
    } catch (e) {
      if (e.status === 401 && session && session.refresh_token && !opts.noRetry) {
        await refresh();
        return raw(method, path, { ...opts, token: load().access_token });
      }
      if (e.status === 401 && session) signedOut();
      throw e;
    }
  }

  return {
    request,
    get: (path, query) => request('GET', path, { query }),
    post: (path, body, opts = {}) => request('POST', path, { ...opts, body }),
    patch: (path, body, opts = {}) => request('PATCH', path, { ...opts, body }),
    put: (path, body, opts = {}) => request('PUT', path, { ...opts, body }),
    del: (path, opts = {}) => request('DELETE', path, opts),
    /** Sends `data` (a File, Blob or string) as it is, with `contentType`. */
    upload: (path, data, contentType, opts = {}) => request('POST', path, { ...opts, rawBody: data, contentType }),
    /** Text bodies (CSV exports). */
    getText: (path, query) => request('GET', path, { query, text: true }),
    /** Asks for a one-time code; resolves to {expires_in}. */
    requestCode: (phone) => raw('POST', '/auth/otp', { body: { phone } }),
    /** Exchanges the code for tokens and keeps them; resolves to the verify body. */
    async verify(body) {
      const out = await raw('POST', '/auth/verify', { body });
      storeTokens(out);
      return out;
    },
    async logout() {
      const session = load();
      if (session && session.refresh_token) {
        try {
          await raw('POST', '/auth/logout', { body: { refresh_token: session.refresh_token } });
        } catch {
          /* signed out locally either way */
        }
      }
      signedOut();
    },
    isSignedIn: () => !!(load() && load().refresh_token),
    /** `f` runs when the session ends (logout, revoked refresh token). */
    onSignedOut: (f) => listeners.add(f),
  };
}
