// Coupons from partner businesses: the list and activation, which gives a
// short code to type at the partner's till.

import { h, mount, date, dateTime, pagedList, guarded } from '/shared/ui.js';
import { COUPON_STATUSES } from './labels.js';
import { track, trackWhenSeen } from './telemetry.js';

function couponItem(c, ctx) {
  const usable = (c.status === 'issued' || c.status === 'activated') && Date.parse(c.expires_at) > Date.now();
  const result = h('div', { class: 'activation', 'aria-live': 'polite' });
  const btn = usable ? h('button', { type: 'button', class: c.status === 'issued' ? 'primary' : '' }, c.status === 'issued' ? 'Активировать' : 'Получить новый код') : null;
  const badge = h('span', { class: `badge ${c.status === 'activated' ? 'ok' : c.status === 'issued' ? '' : 'bad'}` }, COUPON_STATUSES[c.status] || c.status);
  if (btn) {
    btn.addEventListener('click', () =>
      guarded(btn, async () => {
        track('coupon_click', { coupon_id: c.id, status: c.status });
        try {
          const r = await ctx.api.post(`/wallet/coupons/${encodeURIComponent(c.id)}/activate`);
          badge.textContent = COUPON_STATUSES.activated;
          badge.className = 'badge ok';
          btn.textContent = 'Получить новый код';
          btn.className = '';
          mount(
            result,
            h('p', {}, 'Код для кассы: ', h('strong', { class: 'code', 'data-testid': 'activation-code' }, r.activation_code)),
            h('p', { class: 'muted' }, `Код действует до ${dateTime(r.valid_until)}`),
          );
        } catch (err) {
          mount(result, h('p', { class: 'field-error', role: 'alert' }, err.message));
        }
      }),
    );
  }
  const li = h(
    'li',
    { class: 'coupon' },
    h('div', { class: 'spread' }, h('strong', {}, c.title), badge),
    h('p', {}, `+${c.bonus_pct}% баллов к покупке у партнёра`),
    h('p', { class: 'muted' }, `Купон действует до ${date(c.expires_at)}`),
    c.status === 'activated' && c.valid_until
      ? h('p', { class: 'muted' }, Date.parse(c.valid_until) > Date.now() ? `Код действует до ${dateTime(c.valid_until)}` : 'Срок кода истёк — получите новый.')
      : null,
    result,
    btn,
  );
  trackWhenSeen(li, 'coupon_impression', { coupon_id: c.id, status: c.status });
  return li;
}

export async function couponsView(match, ctx) {
  const list = pagedList({
    fetchPage: (cursor) => ctx.api.get('/wallet/coupons', { cursor, limit: 20 }),
    render: (c) => couponItem(c, ctx),
    emptyText: 'Купонов пока нет. Они появляются после покупок у партнёров клуба.',
  });
  return h(
    'div',
    { class: 'wrap' },
    h('h1', {}, 'Купоны'),
    h('p', { class: 'muted' }, 'Купон даёт дополнительные баллы у партнёра. Активируйте его перед покупкой и назовите код на кассе.'),
    h('section', { class: 'card', 'aria-label': 'Мои купоны' }, list),
  );
}
