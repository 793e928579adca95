// The member app's usage events (screen views, banner and coupon impressions
// and clicks, shares, FAQ searches) for POST /ingest/events: queued in memory,
// sent in one batch every ~10 s, at 50 queued and when the page is hidden.
// Best effort by design: a refused or lost batch waits for the next flush
// (each event keeps its UUID, so a resend is stored once), nothing is sent
// while signed out, and nothing here shows, logs or throws an error.
// Properties carry ids and counts only, never personal data.

import { newIdempotencyKey } from '/shared/api.js';

const TYPES = new Set(['screen_view', 'banner_impression', 'banner_click', 'coupon_impression', 'coupon_click', 'share', 'search']);
const FLUSH_MS = 10_000;
const MAX_BACKOFF_MS = 300_000;
const FLUSH_AT = 50;
const MAX_QUEUE = 500;
const MAX_BATCH = 1000;
// Browsers refuse keepalive bodies over 64 KiB (in flight together).
const KEEPALIVE_BYTES = 60_000;
const NAME = /^[A-Za-z0-9_]{1,64}$/;
const MAX_PROPS = 20;
const MAX_VALUE = 200;
// Answers that will never change on a resend: the batch is dropped.
const HOPELESS = new Set([400, 403, 413, 415, 422]);

let api = null;
let queue = [];
let timer = null;
let inFlight = 0;
let delay = FLUSH_MS;

/** The API's shape for properties: flat, ≤ 20 names of [A-Za-z0-9_], short values. */
function clean(properties) {
  const out = {};
  let n = 0;
  for (const [k, v] of Object.entries(properties || {})) {
    if (n >= MAX_PROPS) break;
    if (!NAME.test(k)) continue;
    if (v === null || typeof v === 'boolean') out[k] = v;
    else if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    else if (typeof v === 'string') out[k] = v.slice(0, MAX_VALUE);
    else continue;
    n++;
  }
  return out;
}

const signedIn = () => {
  try {
    return !!api && api.isSignedIn();
  } catch {
    return false;
  }
};

function forget() {
  queue = [];
  clearTimeout(timer);
  timer = null;
  delay = FLUSH_MS;
}

function schedule() {
  if (timer || !queue.length) return;
  timer = setTimeout(() => {
    timer = null;
    flush();
  }, delay);
}

/** Takes the next batch off the queue; a keepalive batch stays under the browser's size cap. */
function take(keepalive) {
  if (!keepalive) return queue.splice(0, MAX_BATCH);
  let bytes = 20;
  let n = 0;
  while (n < queue.length && n < MAX_BATCH) {
    bytes += JSON.stringify(queue[n]).length + 1;
    if (bytes > KEEPALIVE_BYTES && n > 0) break;
    n++;
  }
  return queue.splice(0, n);
}

async function send(batch, keepalive) {
  inFlight++;
  try {
    await api.post('/ingest/events', { events: batch }, { keepalive });
    delay = FLUSH_MS;
  } catch (e) {
    // Signed out meanwhile: the events go with the session.
    if (!signedIn() || HOPELESS.has(e && e.status)) return;
    // Kept for the next flush, ahead of newer events; the oldest go first
    // when the queue is full. A refusing API is asked less and less often.
    queue = batch.concat(queue);
    if (queue.length > MAX_QUEUE) queue.splice(0, queue.length - MAX_QUEUE);
    delay = Math.min(delay * 2, MAX_BACKOFF_MS);
  } finally {
    inFlight--;
    schedule();
  }
}

/**
 * Sends what is queued now. `keepalive` lets the request outlive the page
 * (the page is being hidden or closed): then every queued event goes, in
 * as many batches as the size cap needs, even beside a batch in flight.
 */
export function flush({ keepalive = false } = {}) {
  try {
    if (!signedIn()) {
      forget();
      return;
    }
    clearTimeout(timer);
    timer = null;
    if (!queue.length) return;
    if (!keepalive) {
      // One ordinary batch at a time; what arrives meanwhile waits its turn.
      if (inFlight) return schedule();
      send(take(false), false);
      return;
    }
    while (queue.length) send(take(true), true);
  } catch {
    /* best effort */
  }
}

/** Queues one event; `properties` are ids and counts, never personal data. */
export function track(type, properties) {
  try {
    if (!TYPES.has(type) || !signedIn()) return;
    queue.push({ id: newIdempotencyKey(), type, occurred_at: new Date().toISOString(), properties: clean(properties) });
    if (queue.length > MAX_QUEUE) queue.splice(0, queue.length - MAX_QUEUE);
    if (queue.length >= FLUSH_AT && !inFlight) flush();
    else schedule();
  } catch {
    /* a screen never breaks over its analytics */
  }
}

/**
 * Tracks `type` once, when `el` is first at least half on screen (right
 * away where the browser cannot tell). The element may be observed before
 * the router mounts it.
 */
export function trackWhenSeen(el, type, properties) {
  try {
    if (!('IntersectionObserver' in window)) {
      track(type, properties);
      return;
    }
    const io = new IntersectionObserver(
      (entries) => {
        if (!entries.some((e) => e.isIntersecting)) return;
        io.disconnect();
        track(type, properties);
      },
      { threshold: 0.5 },
    );
    io.observe(el);
  } catch {
    /* best effort */
  }
}

const ID = /^[0-9a-fA-F-]{32,36}$/;

/**
 * The route as a screen name without ids (`#/events/<id>` → `events/detail`),
 * with the ids worth counting: the event of an event page and the item of a
 * preorder item page. Query strings (purchase ids) are dropped.
 */
export function screenOf(hash) {
  const path = String(hash || '')
    .replace(/^#\/?/, '')
    .split('?')[0]
    .replace(/\/+$/, '');
  if (!path) return { screen: 'card' };
  const parts = path.split('/');
  const props = {};
  const named = parts.map((p, i) => {
    if (!ID.test(p)) return p.replace(/[^A-Za-z0-9_-]/g, '');
    if (parts[0] === 'events' && i === 1) props.event_id = p;
    if (parts[0] === 'preorders' && parts[1] === 'items' && i === 2) props.item_id = p;
    return 'detail';
  });
  return { screen: named.join('/').slice(0, 64) || 'card', ...props };
}

/** Tracks a screen_view of the current route. */
export const trackScreen = (hash = location.hash) => track('screen_view', screenOf(hash));

/**
 * Starts telemetry for the app's API client: flushes when the page is
 * hidden or left, and forgets the queue when the member signs out.
 */
export function setupTelemetry(client) {
  api = client;
  const leave = () => flush({ keepalive: true });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') leave();
  });
  window.addEventListener('pagehide', leave);
  client.onSignedOut(forget);
}
