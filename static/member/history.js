// History: the points ledger and the purchases, two tabs of cursor-paged
// lists; a reviewable purchase links to the review form.

import { h, points, money, date, dateTime, pagedList } from '/shared/ui.js';
import { KINDS, STATUSES, CATEGORIES, describe } from './labels.js';

function tabs(current) {
  const link = (href, label, key) => h('a', { href, class: 'seg', 'aria-current': key === current ? 'page' : null }, label);
  return h('nav', { class: 'segmented', 'aria-label': 'Разделы истории' }, link('#/history', 'Баллы', 'ledger'), link('#/history/purchases', 'Покупки', 'purchases'));
}

/** "+112,5 балла" / "−40 баллов": the sign is in the text, not only the colour. */
export function signedPoints(amount) {
  const n = Number(amount) || 0;
  const sign = n > 0 ? '+' : n < 0 ? '−' : '';
  return h('span', { class: `amount ${n > 0 ? 'plus' : n < 0 ? 'minus' : ''}` }, `${sign}${points(Math.abs(n))}`);
}

function ledgerItem(e) {
  const text = describe(e.description);
  const credit = e.amount > 0;
  const status = STATUSES[e.status] || null;
  return h(
    'li',
    { class: 'entry', 'data-kind': e.kind },
    h('div', { class: 'spread' }, h('strong', {}, KINDS[e.kind] || 'Операция'), signedPoints(e.amount)),
    text ? h('p', { class: 'desc' }, text) : null,
    h(
      'p',
      { class: 'meta muted' },
      h('time', { datetime: e.created_at }, dateTime(e.created_at)),
      status ? [' · ', h('span', { class: `badge ${e.status === 'available' ? 'ok' : e.status === 'pending' ? 'warn' : ''}` }, status)] : null,
      credit && e.expires_at && (e.status === 'available' || e.status === 'pending') ? ` · сгорят ${date(e.expires_at)}` : null,
    ),
  );
}

function purchaseItem(p, ctx) {
  const refunded = p.refunded_amount || 0;
  const reviewsOn = ctx.flags.reviews !== false;
  return h(
    'li',
    { class: 'purchase' },
    h('div', { class: 'spread' }, h('strong', {}, p.business_name), h('span', { class: 'amount' }, money(p.amount))),
    h('p', { class: 'meta muted' }, h('time', { datetime: p.paid_at }, dateTime(p.paid_at)), CATEGORIES[p.category] ? ` · ${CATEGORIES[p.category]}` : null),
    refunded > 0 ? h('p', {}, h('span', { class: 'badge bad' }, refunded >= p.amount ? 'Возвращено полностью' : `Возврат: ${money(refunded)}`)) : null,
    (p.items || []).length
      ? h(
          'ul',
          { class: 'lines' },
          p.items.map((it) => h('li', {}, `${it.name || it.sku} × ${it.quantity}`, h('span', { class: 'muted' }, ` — ${money(it.unit_price * it.quantity)}`))),
        )
      : null,
    p.reviewable && reviewsOn
      ? h('a', { class: 'button small', href: `#/reviews/new?purchase=${encodeURIComponent(p.id)}&business=${encodeURIComponent(p.business_id)}` }, 'Оставить отзыв')
      : null,
  );
}

export async function ledgerView(match, ctx) {
  const list = pagedList({
    fetchPage: (cursor) => ctx.api.get('/wallet/ledger', { cursor, limit: 20 }),
    render: ledgerItem,
    emptyText: 'Начислений и списаний пока не было. Баллы появятся после первой покупки.',
  });
  return h('div', { class: 'wrap' }, h('h1', {}, 'История'), tabs('ledger'), h('section', { class: 'card', 'aria-label': 'Операции с баллами' }, list));
}

export async function purchasesView(match, ctx) {
  const list = pagedList({
    fetchPage: (cursor) => ctx.api.get('/wallet/purchases', { cursor, limit: 20 }),
    render: (p) => purchaseItem(p, ctx),
    emptyText: 'Покупок пока нет. Покажите карту на кассе партнёра клуба.',
  });
  return h('div', { class: 'wrap' }, h('h1', {}, 'История'), tabs('purchases'), h('section', { class: 'card', 'aria-label': 'Покупки' }, list));
}
