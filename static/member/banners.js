// Club banners (GET /banners?placement=home|category:<slug>) as an accessible
// list of cards: title, text, an image and a link when they are safe to show.
// Loaded beside the screen that shows them: while they load, when there are
// none or when the request fails, the section stays hidden and the screen
// works as before. Impressions and clicks go to telemetry.

import { h, mount } from '/shared/ui.js';
import { track, trackWhenSeen } from './telemetry.js';

const STYLE = `
.banners { margin-bottom: 1rem; }
.banners > h2 { font-size: 1rem; color: var(--muted); margin: 0 0 .5rem; }
.banner-list { list-style: none; margin: 0; padding: 0; display: grid; gap: .75rem; }
.banner { position: relative; display: flex; flex-direction: column; margin: 0; padding: 0; overflow: hidden; }
.banner-img { display: block; width: 100%; aspect-ratio: 16 / 7; object-fit: cover; background: var(--bg); }
.banner-text { padding: .85rem 1rem; }
.banner-text h3 { margin: 0 0 .3rem; }
.banner-text p { margin: 0; color: var(--muted); white-space: pre-line; overflow-wrap: anywhere; }
.banner-link { color: var(--text); text-decoration: none; }
.banner-link::after { content: ''; position: absolute; inset: 0; border-radius: var(--radius); }
.banner-link:hover { text-decoration: underline; }
.banner-link:focus-visible { outline: none; }
.banner:focus-within { outline: 3px solid var(--accent); outline-offset: 2px; }
.banner-more { display: inline-block; margin-top: .45rem; color: var(--accent); font-weight: 600; }
@media (min-width: 700px) { .banner-list { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
`;

function addStyle() {
  if (document.querySelector('style[data-banners]')) return;
  const s = document.createElement('style');
  s.dataset.banners = '1';
  s.textContent = STYLE;
  document.head.append(s);
}

/**
 * Where a banner's link may go: an app route (`#/…`, or a path `/…` /
 * `/#/…` of this app, both mapped to the hash route) or an https page
 * opened in a new tab. Anything else (`//host`, `javascript:`…) is no link.
 */
export function bannerLink(url) {
  const u = String(url || '').trim();
  if (!u || /[\s\\]/.test(u)) return null;
  if (u.startsWith('#')) return { href: u, external: false };
  if (u.startsWith('/') && !u.startsWith('//')) {
    const route = u.startsWith('/#') ? u.slice(1) : `#${u}`;
    return { href: route, external: false };
  }
  if (/^https:\/\/[^/?#]+/i.test(u)) {
    try {
      return { href: new URL(u).href, external: true };
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * The banner's picture when it may be shown: https only (the API refuses
 * other image URLs, and the page's CSP loads no other remote images).
 */
export function bannerImage(url) {
  const u = String(url || '').trim();
  if (!/^https:\/\//i.test(u)) return null;
  try {
    return new URL(u).href;
  } catch {
    return null;
  }
}

// The API shows only live banners; a stale cached answer might not.
function live(b, now) {
  if (b.active === false) return false;
  if (b.starts_at && Date.parse(b.starts_at) > now) return false;
  if (b.ends_at && Date.parse(b.ends_at) <= now) return false;
  return !!(b.title && b.id);
}

function bannerCard(b, position, placement) {
  const link = bannerLink(b.link_url);
  const image = bannerImage(b.image_url);
  const ids = { banner_id: b.id, placement, position };
  let title = b.title;
  if (link) {
    title = h(
      'a',
      {
        class: 'banner-link',
        href: link.href,
        target: link.external ? '_blank' : null,
        rel: link.external ? 'noopener' : null,
      },
      b.title,
      link.external ? h('span', { class: 'visually-hidden' }, ' (откроется в новой вкладке)') : null,
    );
    title.addEventListener('click', () => track('banner_click', ids));
  }
  const img = image ? h('img', { class: 'banner-img', src: image, alt: '', loading: 'lazy', decoding: 'async' }) : null;
  // A picture that fails to load is left out rather than shown broken.
  if (img) img.addEventListener('error', () => img.remove());
  const li = h(
    'li',
    { class: 'banner card', dataset: { bannerId: b.id } },
    img,
    h(
      'div',
      { class: 'banner-text' },
      h('h3', {}, title),
      b.body ? h('p', {}, b.body) : null,
      link ? h('span', { class: 'banner-more', 'aria-hidden': 'true' }, link.external ? 'Перейти на сайт ↗' : 'Подробнее →') : null,
    ),
  );
  trackWhenSeen(li, 'banner_impression', ids);
  return li;
}

/**
 * A hidden section that fills itself with the placement's banners. Create
 * it before awaiting the screen's own data so both load at once.
 */
export function bannerSection(ctx, placement = 'home', heading = 'Акции и новости') {
  addStyle();
  const headingId = `banners-${placement.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  const list = h('ul', { class: 'banner-list' });
  const section = h('section', { class: 'banners', 'aria-labelledby': headingId, hidden: true, 'data-testid': 'banners' }, h('h2', { id: headingId }, heading), list);
  ctx.api
    .get('/banners', { placement })
    .then((body) => {
      const now = Date.now();
      const items = ((body && body.items) || []).filter((b) => live(b, now)).slice(0, 20);
      if (!items.length) return;
      mount(list, items.map((b, i) => bannerCard(b, i + 1, placement)));
      section.hidden = false;
    })
    .catch(() => {
      /* no banners: the screen is the same without them */
    });
  return section;
}
