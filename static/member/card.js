// The card (balance, tier ring, expiring points, badges) and the full-screen
// QR view shown at the till, with the card number as an EAN-13 barcode.

import { h, points, money, date, plural } from '/shared/ui.js';
import { tierName, badgeName } from './labels.js';
import { ean13Svg, isValidEan13 } from '/shared/ean13.js';
import { icon } from './icons.js';
import { bannerSection } from './banners.js';

const NS = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The tier ring: a circle drawn to `percent`, the percentage in the middle. */
export function tierRing(percent, label) {
  const p = Math.max(0, Math.min(100, Number(percent) || 0));
  const r = 52;
  const c = 2 * Math.PI * r;
  const svg = svgEl('svg', { viewBox: '0 0 120 120', class: 'ring', role: 'img', 'aria-label': label });
  svg.append(svgEl('circle', { cx: 60, cy: 60, r, class: 'ring-track', fill: 'none', 'stroke-width': 12 }));
  const arc = svgEl('circle', {
    cx: 60,
    cy: 60,
    r,
    class: 'ring-value',
    fill: 'none',
    'stroke-width': 12,
    'stroke-linecap': 'round',
    'stroke-dasharray': `${((c * p) / 100).toFixed(2)} ${c.toFixed(2)}`,
    transform: 'rotate(-90 60 60)',
    'data-percent': p,
  });
  // A round cap would draw a dot at 0 %.
  if (p > 0) svg.append(arc);
  svg.append(svgEl('text', { x: 60, y: 66, 'text-anchor': 'middle', class: 'ring-text', 'aria-hidden': 'true' }, `${p}%`));
  return svg;
}

function tierSection(w) {
  const pr = w.progress || {};
  const next = pr.next_tier;
  const facts = [];
  let label;
  if (next) {
    label = `До статуса «${tierName(next)}»: ${pr.percent}%`;
    facts.push(h('li', {}, 'Потрачено за 12 месяцев: ', h('strong', {}, money(pr.spent_12m)), ` из ${money(pr.spent_required)}`));
    facts.push(h('li', {}, 'Категорий: ', h('strong', {}, String(pr.categories_12m)), ` из ${pr.categories_required}`));
    const moneyLeft = Math.max(0, pr.spent_required - pr.spent_12m);
    const catsLeft = Math.max(0, pr.categories_required - pr.categories_12m);
    const left = [];
    if (catsLeft) left.push(`${catsLeft} ${plural(catsLeft, 'категория', 'категории', 'категорий')}`);
    if (moneyLeft) left.push(money(moneyLeft));
    if (left.length) facts.push(h('li', { class: 'muted' }, `Осталось: ${left.join(' и ')}`));
  } else {
    label = 'Высший статус клуба';
    facts.push(h('li', {}, 'Потрачено за 12 месяцев: ', h('strong', {}, money(pr.spent_12m))));
    facts.push(h('li', {}, 'Категорий: ', h('strong', {}, String(pr.categories_12m))));
    facts.push(h('li', { class: 'muted' }, 'У вас высший статус клуба.'));
  }
  return h(
    'section',
    { class: 'card tier', 'aria-labelledby': 'tier-title' },
    h('h2', { id: 'tier-title' }, 'Статус: ', h('span', { 'data-testid': 'tier' }, tierName(w.tier))),
    h(
      'div',
      { class: 'tier-body' },
      tierRing(pr.percent, label),
      h('div', {}, next ? h('p', { class: 'tier-next' }, `Следующий статус — ${tierName(next)}`) : null, h('ul', { class: 'facts' }, facts)),
    ),
  );
}

export async function cardView(match, ctx) {
  // Asked for beside the wallet; shown (or not) whenever it answers.
  const banners = bannerSection(ctx, 'home');
  const w = await ctx.api.get('/wallet');
  const name = ctx.me && ctx.me.first_name;
  const b = w.balance || {};
  const showCard = h('button', { type: 'button', class: 'primary block show-card' }, icon('qr'), 'Показать карту');
  showCard.addEventListener('click', () => ctx.navigate('#/qr'));

  const expiring = (w.expiring || []).length
    ? h(
        'ul',
        { class: 'list' },
        w.expiring.map((x) => h('li', { class: 'spread' }, h('span', {}, points(x.amount)), h('span', { class: 'muted' }, `сгорят ${date(x.expires_at)}`))),
      )
    : h('p', { class: 'empty' }, 'Ближайших сгораний нет.');

  const badges = (w.badges || []).length
    ? h(
        'ul',
        { class: 'badges' },
        w.badges.map((x) => h('li', { class: 'badge-item' }, h('span', { class: 'badge-mark', 'aria-hidden': 'true' }, '★'), h('span', {}, badgeName(x.code)), h('small', { class: 'muted' }, date(x.awarded_at)))),
      )
    : h('p', { class: 'empty' }, 'Наград пока нет.');

  return h(
    'div',
    { class: 'wrap card-screen' },
    h('h1', {}, name ? `Здравствуйте, ${name}!` : 'Моя карта'),
    h(
      'section',
      { class: 'card balance', 'aria-labelledby': 'balance-title' },
      h('h2', { id: 'balance-title', class: 'label' }, 'Доступно баллов'),
      h('p', { class: 'big', 'data-testid': 'balance-available' }, points(b.available)),
      h('p', { class: 'pending' }, 'Ожидают начисления: ', h('strong', { 'data-testid': 'balance-pending' }, points(b.pending))),
      b.debt > 0 ? h('p', { class: 'debt' }, 'Долг по возвратам: ', h('strong', {}, points(b.debt))) : null,
      showCard,
    ),
    banners,
    tierSection(w),
    h('section', { class: 'card', 'aria-labelledby': 'expiring-title' }, h('h2', { id: 'expiring-title' }, 'Скоро сгорят'), expiring),
    h('section', { class: 'card', 'aria-labelledby': 'badges-title' }, h('h2', { id: 'badges-title' }, 'Награды'), badges),
  );
}

const svgUrl = (svg) => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;

/** The card number as a barcode, or just digits when it is not a valid EAN-13. */
function cardNumber(num) {
  if (!num) return h('p', { class: 'muted' }, 'Номер карты появится после первой покупки.');
  const grouped = `${num[0]} ${num.slice(1, 7)} ${num.slice(7)}`;
  return h(
    'figure',
    { class: 'barcode', 'data-testid': 'card-number', 'data-number': num },
    isValidEan13(num) ? ean13Svg(num, `Штрихкод номера карты ${num}`) : null,
    h('figcaption', {}, h('span', { class: 'visually-hidden' }, 'Номер карты: '), grouped),
  );
}

export async function qrView(match, ctx) {
  let token = await ctx.api.get('/wallet/qr');
  const num = (ctx.me && ctx.me.card_number) || null;

  const img = h('img', { 'data-testid': 'qr', alt: 'QR-код карты участника', src: svgUrl(token.svg), width: 270, height: 270 });
  const countdown = h('p', { class: 'countdown', role: 'timer', 'aria-live': 'off' });
  const status = h('p', { class: 'qr-status', role: 'status' });
  const close = h('button', { type: 'button', class: 'qr-close' }, icon('close'), 'Закрыть');
  close.addEventListener('click', () => ctx.navigate('#/'));

  const root = h(
    'section',
    { class: 'qr-screen', 'aria-labelledby': 'qr-title' },
    h(
      'div',
      { class: 'qr-inner' },
      h('div', { class: 'qr-top' }, h('h1', { id: 'qr-title' }, 'Карта участника'), close),
      h('p', { class: 'qr-hint' }, 'Покажите код на кассе партнёра клуба'),
      h('div', { class: 'qr-frame' }, img),
      countdown,
      status,
      cardNumber(num),
      ctx.me ? h('p', { class: 'qr-who' }, ctx.me.first_name || '', ' · ', h('span', { class: 'badge' }, tierName(ctx.me.tier))) : null,
    ),
  );

  // The token lives about a minute; a new one is fetched ~10 s before it
  // expires. The expiry is read relative to this device's clock, so a skewed
  // clock falls back to the nominal 60 s lifetime.
  let refreshAt = 0;
  let timer = null;
  const schedule = () => {
    let left = Date.parse(token.expires_at) - Date.now();
    if (!(left > 0 && left <= 180_000)) left = 60_000;
    const wait = Math.max(left - 10_000, 3_000);
    refreshAt = Date.now() + wait;
    clearTimeout(timer);
    timer = setTimeout(refresh, wait);
  };
  const refresh = async () => {
    if (shown && !root.isConnected) return;
    try {
      token = await ctx.api.get('/wallet/qr');
      img.src = svgUrl(token.svg);
      status.textContent = '';
      schedule();
    } catch (err) {
      status.textContent = `${err.message} Пробуем снова…`;
      clearTimeout(timer);
      refreshAt = Date.now() + 5_000;
      timer = setTimeout(refresh, 5_000);
    }
  };
  // The view is built before the router mounts it: it stops only once it
  // has been on screen and is gone again.
  let shown = false;
  const tick = () => {
    if (root.isConnected) shown = true;
    else if (shown) return stop();
    const s = Math.max(0, Math.ceil((refreshAt - Date.now()) / 1000));
    countdown.textContent = `Код обновится через ${s} с`;
    return undefined;
  };
  const onVisible = () => {
    if (document.visibilityState === 'visible' && Date.now() >= refreshAt) refresh();
  };
  let wake = null;
  const stop = () => {
    clearTimeout(timer);
    clearInterval(ticker);
    document.removeEventListener('visibilitychange', onVisible);
    if (wake) wake.release().catch(() => {});
  };
  const ticker = setInterval(tick, 1000);
  document.addEventListener('visibilitychange', onVisible);
  schedule();
  tick();
  // Keep the screen on while the cashier scans, where the browser allows it.
  if (navigator.wakeLock && navigator.wakeLock.request) {
    navigator.wakeLock
      .request('screen')
      .then((lock) => {
        wake = lock;
      })
      .catch(() => {});
  }
  return root;
}
