// «Партнёры» (admins): the list of businesses, the create form and a
// business's details.

import { h, field, guarded, clearErrors, date, toast } from '/shared/ui.js';
import { CATEGORIES, categoryName, head, card, pagedTable, showApiError, fieldError, REQUIRED } from './common.js';

function createForm(ctx) {
  const name = field('Название', { name: 'name', required: true, maxlength: 200, autocomplete: 'organization' });
  const category = field('Категория', { name: 'category', tag: 'select', required: true, options: [['', 'Выберите категорию'], ...CATEGORIES] });
  const tz = field('Часовой пояс', { name: 'timezone', value: 'Europe/Moscow', list: 'tz-list' }, 'Например, Europe/Moscow или Asia/Yekaterinburg.');
  const tzList = h('datalist', { id: 'tz-list' }, ['Europe/Kaliningrad', 'Europe/Moscow', 'Europe/Samara', 'Asia/Yekaterinburg', 'Asia/Omsk', 'Asia/Novosibirsk', 'Asia/Krasnoyarsk', 'Asia/Irkutsk', 'Asia/Yakutsk', 'Asia/Vladivostok', 'Asia/Magadan', 'Asia/Kamchatka'].map((z) => h('option', { value: z })));
  const mult = field('Множитель баллов', { name: 'points_multiplier', inputmode: 'decimal', value: '1' }, 'От 0,1 до 10, например 1,5.');
  const medId = 'biz-medical';
  const medical = h('input', { type: 'checkbox', id: medId, name: 'medical' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Создать партнёра');
  const form = h(
    'form',
    { novalidate: true },
    h('div', { class: 'form-grid' }, name, category, tz, mult),
    tzList,
    h('div', { class: 'field' }, h('label', { class: 'check', for: medId }, medical, 'Медицинский партнёр'), h('small', { class: 'hint' }, 'Состав покупок не хранится, только сумма и категория.')),
    submit,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(submit, async () => {
      clearErrors(form);
      const body = { name: name.input.value.trim(), category: category.input.value };
      if (!body.name) return fieldError(form, 'name', REQUIRED);
      if (!body.category) return fieldError(form, 'category', 'Выберите категорию.');
      const tzv = tz.input.value.trim();
      if (tzv) body.timezone = tzv;
      const mv = mult.input.value.trim().replace(',', '.');
      if (mv) {
        const m = Number(mv);
        if (!/^\d+(\.\d{1,2})?$/.test(mv) || m < 0.1 || m > 10) return fieldError(form, 'points_multiplier', 'Множитель — число от 0,1 до 10, не больше двух знаков после запятой.');
        body.points_multiplier = m;
      }
      if (medical.checked) body.medical = true;
      try {
        const biz = await ctx.api.post('/admin/businesses', body);
        toast(`Партнёр «${biz.name}» создан.`, 'ok');
        await ctx.reloadBusinesses();
        ctx.navigate(`#/businesses/${biz.id}`);
      } catch (e) {
        showApiError(form, e);
      }
    });
  });
  return form;
}

async function details(ctx, id) {
  const b = await ctx.api.get(`/admin/businesses/${encodeURIComponent(id)}`);
  const pick = h('button', { type: 'button', class: 'primary' }, 'Выбрать в шапке');
  pick.addEventListener('click', () => {
    ctx.setBusiness(b.id);
    ctx.navigate('#/staff');
  });
  return h(
    'div',
    {},
    head(b.name, h('a', { href: '#/businesses', class: 'button' }, 'Все партнёры')),
    card(
      'Данные партнёра',
      h('dl', { class: 'props' },
        h('dt', {}, 'Категория'), h('dd', {}, categoryName(b.category)),
        h('dt', {}, 'Часовой пояс'), h('dd', {}, b.timezone),
        h('dt', {}, 'Множитель баллов'), h('dd', {}, `× ${String(b.points_multiplier).replace('.', ',')}`),
        h('dt', {}, 'Медицинский'), h('dd', {}, b.medical ? 'да' : 'нет'),
        h('dt', {}, 'Подключён'), h('dd', {}, date(b.created_at)),
        h('dt', {}, 'Идентификатор'), h('dd', { class: 'mono' }, b.id)),
    ),
    card('Управление', h('p', {}, 'Сотрудники, API-ключи, акции и интеграция настраиваются для партнёра, выбранного в шапке.'), h('div', { class: 'actions' }, pick)),
  );
}

export const businesses = {
  id: 'businesses',
  title: 'Партнёры',
  group: 'Клуб',
  roles: ['admin'],
  async render(ctx, rest) {
    if (rest[0]) return details(ctx, rest[0]);
    const list = pagedTable({
      caption: 'Партнёры клуба',
      headers: ['Название', 'Категория', 'Часовой пояс', 'Множитель', 'С нами с'],
      emptyText: 'Партнёров пока нет — создайте первого.',
      fetchPage: (cursor) => ctx.api.get('/admin/businesses', { limit: 50, cursor }),
      row: (b) => [h('a', { href: `#/businesses/${b.id}` }, b.name), categoryName(b.category) + (b.medical ? ' (мед.)' : ''), b.timezone, `× ${String(b.points_multiplier).replace('.', ',')}`, date(b.created_at)],
    });
    return h('div', {}, head('Партнёры'), card('Новый партнёр', createForm(ctx)), card('Все партнёры', list));
  },
};
