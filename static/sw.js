// The member app's service worker: keeps the app shell (HTML, scripts,
// styles, icons, manifest) in a versioned cache and serves it when the network
// is gone. API traffic (/api/, /internal/, /webhooks/) is never touched or
// cached: the worker does not even answer those requests, so they go straight
// to the network. The till (/pos/) and the dashboard (/admin/) are left alone.

const VERSION = 'v3';
const CACHE = `krug-member-${VERSION}`;

const SHELL = [
  '/',
  '/manifest.webmanifest',
  '/icons/icon.svg',
  '/icons/icon-maskable.svg',
  '/shared/base.css',
  '/shared/api.js',
  '/shared/ui.js',
  '/shared/errors.js',
  '/member/app.css',
  '/member/app.js',
  '/member/login.js',
  '/member/card.js',
  '/shared/ean13.js',
  '/member/history.js',
  '/member/coupons.js',
  '/member/more.js',
  '/member/labels.js',
  '/member/icons.js',
  '/member/community/index.js',
  '/shared/labels.js',
  '/member/banners.js',
  '/member/telemetry.js',
  '/member/community/budget.js',
  '/member/community/common.js',
  '/member/community/community.css',
  '/member/community/events.js',
  '/member/community/preorders.js',
  '/member/community/proposals.js',
  '/member/community/reviews.js',
  '/member/community/support.js',
];

/** Whether this worker handles `url` at all: only the member app's own files. */
function isShell(url) {
  if (url.origin !== self.location.origin) return false;
  const p = url.pathname;
  if (p.startsWith('/api/') || p.startsWith('/internal/') || p.startsWith('/webhooks/')) return false;
  return p === '/' || p === '/index.html' || p === '/manifest.webmanifest' || p.startsWith('/member/') || p.startsWith('/shared/') || p.startsWith('/icons/');
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // One missing file must not stop the rest from being cached.
      await Promise.all(SHELL.map((path) => cache.add(new Request(path, { cache: 'reload' })).catch(() => {})));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((n) => n.startsWith('krug-member-') && n !== CACHE).map((n) => caches.delete(n)));
      await self.clients.claim();
    })(),
  );
});

// Network first, so a new release shows at once; the cached copy when offline.
self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (!isShell(url)) return;
  // The page (with ?ref= or any hash) is always the one app shell at "/".
  const key = req.mode === 'navigate' || url.pathname === '/index.html' ? '/' : url.pathname;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const resp = await fetch(req);
        if (resp.ok && resp.type === 'basic') await cache.put(key, resp.clone());
        return resp;
      } catch (err) {
        const hit = await cache.match(key);
        if (hit) return hit;
        throw err;
      }
    })(),
  );
});
