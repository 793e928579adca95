// «Комиссии» (admins): the platform's commission rates per business from a
// date; without a rate: 0 % for six months after joining, then 2 %.

import { h, field, guarded, clearErrors, date, dateTime, toast } from '/shared/ui.js';
import { head, card, pagedTable, showApiError, fieldError, businessName } from './common.js';

const pct = (bp) => `${String(bp / 100).replace('.', ',')} %`;

function setForm(ctx) {
  const biz = field('Партнёр', { name: 'business_id', tag: 'select', options: [['', 'Выберите партнёра'], ...ctx.businesses.map((b) => [b.id, b.name])] });
  if (ctx.business) biz.input.value = ctx.business.id;
  const rate = field('Комиссия, %', { name: 'rate_bp', inputmode: 'decimal', placeholder: '2,5' }, 'От 0 до 100, до двух знаков после запятой.');
  const today = new Date();
  const p2 = (n) => String(n).padStart(2, '0');
  const from = field('Действует с', { name: 'effective_from', type: 'date', value: `${today.getFullYear()}-${p2(today.getMonth() + 1)}-${p2(today.getDate())}` });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Установить ставку');
  const form = h('form', { novalidate: true }, h('div', { class: 'form-grid' }, biz, rate, from), submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(submit, async () => {
      clearErrors(form);
      if (!biz.input.value) return fieldError(form, 'business_id', 'Выберите партнёра.');
      const rv = rate.input.value.trim().replace(',', '.');
      if (!/^\d+(\.\d{1,2})?$/.test(rv) || Number(rv) > 100) return fieldError(form, 'rate_bp', 'Процент от 0 до 100, например 2,5.');
      if (!from.input.value) return fieldError(form, 'effective_from', 'Укажите дату.');
      // The date starts at local midnight.
      const eff = new Date(`${from.input.value}T00:00:00`);
      try {
        await ctx.api.post('/admin/commission-rates', { business_id: biz.input.value, rate_bp: Math.round(Number(rv) * 100), effective_from: eff.toISOString() });
        toast('Ставка установлена.', 'ok');
        ctx.refresh();
      } catch (e) {
        showApiError(form, e);
      }
    });
  });
  return form;
}

export const commissions = {
  id: 'commissions',
  title: 'Комиссии',
  group: 'Клуб',
  roles: ['admin'],
  async render(ctx) {
    const biz = ctx.business;
    const list = pagedTable({
      caption: 'Ставки комиссии',
      headers: ['Партнёр', 'Ставка', 'Действует с', 'Установлена'],
      emptyText: biz ? `Для «${biz.name}» ставок нет: действует ставка по умолчанию.` : 'Ставок пока нет: действуют ставки по умолчанию.',
      fetchPage: (cursor) => ctx.api.get('/admin/commission-rates', { limit: 50, cursor, business_id: biz ? biz.id : undefined }),
      row: (r) => [businessName(ctx, r.business_id), pct(r.rate_bp), date(r.effective_from), dateTime(r.created_at)],
    });
    return h(
      'div',
      {},
      head(biz ? `Комиссии · ${biz.name}` : 'Комиссии'),
      card('Новая ставка', h('p', { class: 'muted' }, 'Комиссия берётся с продаж, пришедших через экосистему. Без ставки: 0 % первые полгода после подключения, затем 2 %.'), setForm(ctx)),
      card(biz ? 'Ставки партнёра' : 'Все ставки', list),
    );
  },
};
