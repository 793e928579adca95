// The member app's shell: sign-in, header, tab bar and the hash router that
// mounts the app's own screens and the community screens (each counted as a
// screen_view), plus the service worker that keeps the app shell available
// offline.

import { createApi } from '/shared/api.js';
import { h, mount, router, loading, failed, empty } from '/shared/ui.js';
import { routes as communityRoutes, menu as communityMenu } from './community/index.js';
import { loginView } from './login.js';
import { cardView, qrView } from './card.js';
import { ledgerView, purchasesView } from './history.js';
import { couponsView } from './coupons.js';
import { moreView, referralView, profileView } from './more.js';
import { icon, logo } from './icons.js';
import { tierName } from './labels.js';
import { setupTelemetry, trackScreen } from './telemetry.js';

const api = createApi('member');
setupTelemetry(api);

const ctx = {
  api,
  me: null,
  flags: {},
  navigate: (hash) => {
    location.hash = hash;
  },
  reloadMe,
  // The «Ещё» screen lists these next to the app's own entries.
  communityMenu: () => (communityMenu || []).filter((e) => !e.flag || ctx.flags[e.flag] !== false),
};

const outlet = document.getElementById('main');
const header = document.getElementById('topbar');
const tabs = document.getElementById('tabs');

const TABS = [
  { href: '#/', label: 'Карта', icon: 'card', match: (hash) => hash === '#/' || hash.startsWith('#/qr') },
  { href: '#/history', label: 'История', icon: 'history', match: (hash) => hash.startsWith('#/history') },
  { href: '#/coupons', label: 'Купоны', icon: 'coupon', match: (hash) => hash.startsWith('#/coupons') },
  { href: '#/more', label: 'Ещё', icon: 'more', match: () => true },
];

// Every render gets a number; a slow screen that resolves after the member
// has moved on is dropped instead of replacing the newer one.
let seq = 0;
function screen(view, title) {
  return async (match) => {
    const mine = ++seq;
    trackScreen(location.hash);
    if (title) document.title = `${title} — Круг`;
    const slow = setTimeout(() => mine === seq && mount(outlet, h('div', { class: 'wrap' }, loading())), 150);
    try {
      const node = await view(match, ctx);
      return mine === seq ? node : null;
    } finally {
      clearTimeout(slow);
    }
  };
}

const own = [
  [/^#\/?$/, cardView, 'Карта'],
  [/^#\/qr\/?$/, qrView, 'Карта участника'],
  [/^#\/history\/?$/, ledgerView, 'История баллов'],
  [/^#\/history\/purchases\/?$/, purchasesView, 'Покупки'],
  [/^#\/coupons\/?$/, couponsView, 'Купоны'],
  [/^#\/more\/?$/, moreView, 'Ещё'],
  [/^#\/referral\/?$/, referralView, 'Пригласить друга'],
  [/^#\/profile\/?$/, profileView, 'Профиль'],
];

function signedInRoutes() {
  return [
    ...own.map(([re, view, title]) => [re, screen(view, title)]),
    ...(communityRoutes || []).map(([re, view]) => [re, screen(view, 'Клуб')]),
  ];
}

// The router reads this array on every render, so swapping its contents
// switches between the login flow and the app.
const active = [];
const render = router(active, outlet, async () => {
  seq++;
  if (ctx.me) trackScreen('#/not_found');
  document.title = 'Страница не найдена — Круг';
  return h(
    'section',
    { class: 'wrap' },
    h('h1', {}, 'Страница не найдена'),
    empty('Такого раздела нет.'),
    h('a', { class: 'button primary', href: '#/' }, 'На главную'),
  );
});

// Tab state and the full-screen QR mode follow the hash; this listener is
// added after the router's, which is fine: it only touches the chrome.
window.addEventListener('hashchange', updateChrome);

function updateChrome() {
  const hash = location.hash || '#/';
  const signedIn = !!ctx.me;
  document.body.classList.toggle('signed-in', signedIn);
  document.body.classList.toggle('immersive', signedIn && /^#\/qr\/?$/.test(hash));
  tabs.hidden = !signedIn;
  const current = TABS.find((t) => t.match(hash));
  for (const a of tabs.querySelectorAll('a')) {
    if (a.getAttribute('href') === current.href) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function drawHeader() {
  const me = ctx.me;
  mount(
    header,
    h('a', { class: 'brand', href: '#/' }, logo(28), h('span', {}, 'Круг')),
    me ? h('span', { class: 'who' }, h('span', { class: 'who-name' }, me.first_name || 'Участник'), h('span', { class: 'badge tier-badge' }, tierName(me.tier))) : null,
  );
}

function drawTabs() {
  mount(
    tabs,
    h(
      'ul',
      {},
      TABS.map((t) => h('li', {}, h('a', { href: t.href }, icon(t.icon), h('span', {}, t.label)))),
    ),
  );
}

async function reloadMe() {
  ctx.me = await api.get('/me');
  drawHeader();
  return ctx.me;
}

async function loadFlags() {
  try {
    const body = await api.get('/flags');
    ctx.flags = (body && body.flags) || {};
  } catch (e) {
    // Without flags every entry shows; the screens themselves answer
    // FEATURE_DISABLED when a capability is off.
    if (e.status === 401) throw e;
    ctx.flags = {};
  }
}

function showLogin() {
  ctx.me = null;
  ctx.flags = {};
  seq++;
  // One login flow per sign-out: a hash change while signing in keeps the
  // step the member is on instead of starting over.
  let flow = null;
  active.splice(0, active.length, [/.*/, () => flow || (flow = loginView(ctx, signedIn))]);
  drawHeader();
  updateChrome();
  return render();
}

async function signedIn() {
  mount(outlet, h('div', { class: 'wrap' }, loading('Открываем клуб…')));
  try {
    await Promise.all([reloadMe(), loadFlags()]);
  } catch (e) {
    if (!api.isSignedIn()) return showLogin();
    mount(outlet, h('div', { class: 'wrap' }, failed(e, signedIn)));
    return undefined;
  }
  // A referral link has done its job once the member is in.
  if (new URLSearchParams(location.search).has('ref')) history.replaceState(null, '', `${location.pathname}${location.hash}`);
  active.splice(0, active.length, ...signedInRoutes());
  drawHeader();
  updateChrome();
  return render();
}

api.onSignedOut(() => {
  // Back to the start: the next member to sign in lands on the card.
  if (location.hash && location.hash !== '#/') history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  showLogin();
});

drawTabs();
drawHeader();
if (api.isSignedIn()) signedIn();
else showLogin();

if ('serviceWorker' in navigator) {
  const register = () =>
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
      /* the app works without offline support */
    });
  if (document.readyState === 'complete') register();
  else window.addEventListener('load', register);
}
