// «Кросс-акции» (admins): campaigns where a purchase at business A gives the
// member a coupon for business B. The API has no edit, so: list and create.

import { h, field, guarded, clearErrors, date, toast, money, parseRubles } from '/shared/ui.js';
import { head, card, pagedTable, showApiError, fieldError, REQUIRED, intOrNull, checkbox, badge, businessName } from './common.js';

function createForm(ctx) {
  const opts = [['', 'Выберите партнёра'], ...ctx.businesses.map((b) => [b.id, b.name])];
  const from = field('Где покупают (A)', { name: 'from_business_id', tag: 'select', options: opts });
  if (ctx.business) from.input.value = ctx.business.id;
  const to = field('Куда приглашаем (B)', { name: 'to_business_id', tag: 'select', options: opts });
  const title = field('Название купона', { name: 'title', required: true, maxlength: 120 }, 'Его видит участник в кошельке.');
  const bonus = field('Дополнительные баллы у B, %', { name: 'bonus_pct', inputmode: 'numeric', value: '10' }, 'От 1 до 100 % от оплаченной суммы.');
  const minAmount = field('Минимальная покупка у A, ₽', { name: 'min_amount', inputmode: 'decimal', value: '0' });
  const ttl = field('Срок купона, дней', { name: 'coupon_ttl_days', inputmode: 'numeric', value: '30' }, 'От 1 до 365.');
  const active = checkbox('Включена', 'active', true);
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Создать кросс-акцию');
  const form = h('form', { novalidate: true }, h('div', { class: 'form-grid' }, from, to, title, bonus, minAmount, ttl), active, submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(submit, async () => {
      clearErrors(form);
      const body = { from_business_id: from.input.value, to_business_id: to.input.value, title: title.input.value.trim() };
      if (!body.from_business_id) return fieldError(form, 'from_business_id', 'Выберите партнёра.');
      if (!body.to_business_id) return fieldError(form, 'to_business_id', 'Выберите партнёра.');
      if (body.to_business_id === body.from_business_id) return fieldError(form, 'to_business_id', 'Выберите другого партнёра, не A.');
      if (!body.title) return fieldError(form, 'title', REQUIRED);
      const bp = intOrNull(bonus.input.value);
      if (bp === null || Number.isNaN(bp) || bp < 1 || bp > 100) return fieldError(form, 'bonus_pct', 'Целое число от 1 до 100.');
      body.bonus_pct = bp;
      const ma = parseRubles(minAmount.input.value || '0');
      if (ma === null) return fieldError(form, 'min_amount', 'Сумма в рублях, например 1500.');
      body.min_amount = ma;
      const days = intOrNull(ttl.input.value);
      if (days === null || Number.isNaN(days) || days < 1 || days > 365) return fieldError(form, 'coupon_ttl_days', 'Целое число от 1 до 365.');
      body.coupon_ttl_days = days;
      body.active = active.input.checked;
      try {
        await ctx.api.post('/admin/cross-promos', body);
        toast('Кросс-акция создана.', 'ok');
        ctx.refresh();
      } catch (e) {
        showApiError(form, e);
      }
    });
  });
  return form;
}

export const crossPromos = {
  id: 'cross-promos',
  title: 'Кросс-акции',
  group: 'Маркетинг',
  roles: ['admin'],
  async render(ctx) {
    const list = pagedTable({
      caption: 'Кросс-акции',
      headers: ['Название', 'Покупка у', 'Купон к', 'Бонус', 'От суммы', 'Срок купона', 'Статус', 'Создана'],
      emptyText: 'Кросс-акций пока нет.',
      fetchPage: (cursor) => ctx.api.get('/admin/cross-promos', { limit: 50, cursor }),
      row: (c) => [c.title, businessName(ctx, c.from_business_id), businessName(ctx, c.to_business_id), `+${c.bonus_pct} %`, money(c.min_amount || 0), `${c.coupon_ttl_days} дн.`, c.active ? badge('Включена', 'ok') : badge('Выключена'), date(c.created_at)],
    });
    return h('div', {}, head('Кросс-акции'), ctx.businesses.length < 2 ? card(null, h('p', {}, 'Для кросс-акции нужны хотя бы два партнёра.')) : card('Новая кросс-акция', createForm(ctx)), card('Все кросс-акции', list));
  },
};
