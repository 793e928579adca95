// «Предзаказы»: upcoming preorder items (of the selected business), creating
// an item with its refund policy, adding price tiers, and an item's analytics
// (conversion, sales by tier, upgrades, cancellations and refunds).

import { h, mount, money, points, dateTime, toast, field, guarded, showError, clearErrors, pagedList, parseRubles, empty } from '/shared/ui.js';
import { section, async, table, localToIso, isoToLocal, businessName, businessOptions, UUID_RE, int, percent, stat } from './common.js';

export async function render(ctx, rest) {
  if (rest && UUID_RE.test(rest)) return itemPage(ctx, rest);
  const bizId = ctx.business && ctx.business.id;
  return section(
    'preorders',
    'Предзаказы',
    h('p', { class: 'muted' }, 'Новые коллекции, сезонные боксы и наборы, которые участницы покупают заранее.'),
    h('details', { class: 'card' }, h('summary', {}, h('strong', {}, 'Новый предзаказ')), itemForm(ctx)),
    h('h2', {}, 'Предстоящие'),
    pagedList({
      fetchPage: async (cursor) => {
        const page = await ctx.api.get('/preorders/items', { cursor, limit: 50 });
        // The members' list is club-wide; the dashboard shows the chosen partner's.
        return bizId ? { ...page, items: page.items.filter((i) => i.business_id === bizId) } : page;
      },
      render: (i) =>
        h(
          'li',
          {},
          h('a', { href: `#/preorders/${i.id}` }, h('strong', {}, i.title)),
          h('p', { class: 'muted' }, `${businessName(ctx, i.business_id)} · выход ${dateTime(i.release_at)} · вариантов: ${i.tiers.length}`),
        ),
      emptyText: 'Предстоящих предзаказов нет.',
    }),
  );
}

function itemForm(ctx) {
  const form = h('form', { novalidate: true });
  const biz = ctx.isAdmin ? field('Партнёр', { name: 'business_id', tag: 'select', options: [['', 'Выберите партнёра'], ...businessOptions(ctx)] }) : null;
  if (biz && ctx.business) biz.input.value = ctx.business.id;
  const title = field('Название', { name: 'title', maxlength: '200', required: true });
  const description = field('Описание', { name: 'description', tag: 'textarea', maxlength: '2000' });
  const release = field('Дата выхода', { name: 'release_at', type: 'datetime-local', required: true });
  const deadline = field('Отмена возможна до', { name: 'cancellation_deadline', type: 'datetime-local', required: true });
  const fullUntil = field('Полный возврат до', { name: 'refund_policy.full_until', type: 'datetime-local', required: true });
  const partial = field('Частичный возврат, %', { name: 'refund_policy.partial_percent', type: 'number', min: '0', max: '100', inputmode: 'numeric', required: true, value: '50' });
  const noneAfter = field('Без возврата после', { name: 'refund_policy.none_after', type: 'datetime-local', required: true });
  const limit = field('Штук в одни руки', { name: 'per_member_limit', type: 'number', min: '1', max: '100', inputmode: 'numeric', value: '1' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Создать предзаказ');
  mount(form, biz, title, description, h('div', { class: 'form-grid' }, release, deadline, fullUntil, noneAfter, partial, limit), save);
  const fail = (name, message) => showError(form, { message }, name);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(save, async () => {
      clearErrors(form);
      const businessId = biz ? biz.input.value : ctx.business && ctx.business.id;
      if (!businessId) return fail('business_id', 'Выберите партнёра.');
      const t = title.input.value.trim();
      if (!t) return fail('title', 'Введите название.');
      const rel = localToIso(release.input.value);
      if (!rel || new Date(rel) <= new Date()) return fail('release_at', 'Дата выхода — в будущем.');
      const dl = localToIso(deadline.input.value);
      if (!dl || dl > rel) return fail('cancellation_deadline', 'Срок отмены — не позже даты выхода.');
      const fu = localToIso(fullUntil.input.value);
      if (!fu) return fail('refund_policy.full_until', 'Укажите срок полного возврата.');
      const na = localToIso(noneAfter.input.value);
      if (!na || na < fu) return fail('refund_policy.none_after', 'Не раньше срока полного возврата.');
      const pp = Number(partial.input.value);
      if (!Number.isInteger(pp) || pp < 0 || pp > 100) return fail('refund_policy.partial_percent', 'Процент — от 0 до 100.');
      const lim = Number(limit.input.value || 1);
      if (!Number.isInteger(lim) || lim < 1 || lim > 100) return fail('per_member_limit', 'От 1 до 100.');
      const body = { business_id: businessId, title: t, release_at: rel, cancellation_deadline: dl, refund_policy: { full_until: fu, partial_percent: pp, none_after: na }, per_member_limit: lim };
      const d = description.input.value.trim();
      if (d) body.description = d;
      try {
        const item = await ctx.api.post('/admin/preorder-items', body);
        toast('Предзаказ создан. Добавьте варианты.', 'ok');
        ctx.navigate(`#/preorders/${item.id}`);
      } catch (err) {
        showError(form, err, err.field === 'full_until' || err.field === 'none_after' || err.field === 'partial_percent' ? `refund_policy.${err.field}` : undefined);
      }
    });
  });
  return form;
}

function itemPage(ctx, id) {
  const body = h('div');
  const sec = section('preorder', 'Предзаказ', h('p', {}, h('a', { href: '#/preorders' }, '← Все предзаказы')), body);
  async(body, async () => {
    const item = await ctx.api.get(`/preorders/items/${id}`);
    sec.querySelector('h1').textContent = `Предзаказ: ${item.title}`;
    const tiersBox = h('div');
    const drawTiers = () =>
      mount(
        tiersBox,
        item.tiers.length
          ? table('Варианты предзаказа', ['Вариант', 'Цена', 'Скидка', 'Итог', 'Осталось', 'Продажи', 'Ранний доступ', 'Бонусы'], item.tiers.map((t) => [
              t.name,
              money(t.base_price),
              `${t.discount_percent} %`,
              money(t.final_price),
              t.remaining === null ? 'без лимита' : int(t.remaining),
              `${dateTime(t.available_from)} — ${dateTime(t.available_until)}${t.on_sale ? ' (в продаже)' : ''}`,
              `за ${t.early_access_days} дн.`,
              t.bonuses.map(bonusText).join(', ') || '—',
            ]))
          : empty('Вариантов пока нет: добавьте хотя бы один, чтобы открыть продажи.'),
      );
    drawTiers();
    const analytics = h('div');
    const loadAnalytics = () => async(analytics, () => analyticsView(ctx, id));
    loadAnalytics();
    return h(
      'div',
      {},
      h('div', { class: 'card' }, h('p', {}, `${businessName(ctx, item.business_id)} · выход ${dateTime(item.release_at)} · отмена до ${dateTime(item.cancellation_deadline)}`), item.description ? h('p', {}, item.description) : null, h('p', { class: 'muted' }, `Возврат: полный до ${dateTime(item.refund_policy.full_until)}, ${item.refund_policy.partial_percent} % до ${dateTime(item.refund_policy.none_after)}, потом без возврата. В одни руки: ${item.per_member_limit}.`)),
      h('h2', {}, 'Варианты'),
      tiersBox,
      h('details', { class: 'card' }, h('summary', {}, h('strong', {}, 'Добавить вариант')), tierForm(ctx, item, (t) => {
        item.tiers.push(t);
        item.tiers.sort((a, b) => b.priority - a.priority);
        drawTiers();
        loadAnalytics();
      })),
      h('h2', {}, 'Аналитика предзаказа'),
      analytics,
    );
  });
  return sec;
}

const BONUS = { points: 'баллы', coupon: 'купон', activation_code: 'код активации', gift: 'подарок' };
const DELIVERY = { automatic: 'автоматически', activation_code: 'кодом', pickup: 'при получении' };
function bonusText(b) {
  const v = b.type === 'points' ? points(b.value) : b.type === 'coupon' ? `+${b.value} %` : b.value;
  return `${BONUS[b.type] || b.type}: ${v} (${DELIVERY[b.delivery] || b.delivery})`;
}

function tierForm(ctx, item, added) {
  const form = h('form', { novalidate: true });
  const now = new Date();
  const name = field('Название варианта', { name: 'name', maxlength: '100', required: true });
  const price = field('Цена, ₽', { name: 'base_price', inputmode: 'decimal', required: true });
  const discount = field('Скидка, %', { name: 'discount_percent', type: 'number', min: '0', max: '100', inputmode: 'numeric', value: '0' });
  const max = field('Сколько штук', { name: 'max_quantity', type: 'number', min: '1', inputmode: 'numeric' }, 'Пусто — без ограничения');
  const early = field('Ранний доступ, дней до выхода', { name: 'early_access_days', type: 'number', min: '0', max: '365', inputmode: 'numeric', value: '0' });
  const from = field('Продажи с', { name: 'available_from', type: 'datetime-local', required: true, value: isoToLocal(now.toISOString()) });
  const until = field('Продажи до', { name: 'available_until', type: 'datetime-local', required: true, value: isoToLocal(item.release_at) });
  const priority = field('Приоритет показа', { name: 'priority', type: 'number', min: '0', max: '1000', inputmode: 'numeric', value: '0' }, 'Выше — раньше в списке');
  const bonusType = field('Бонус', { name: 'bonus_type', tag: 'select', options: [['', 'Без бонуса'], ['points', 'Баллы'], ['coupon', 'Купон (+% баллов)'], ['activation_code', 'Код активации'], ['gift', 'Подарок']] });
  const bonusValue = field('Размер или описание бонуса', { name: 'bonus_value' }, 'Баллы — в рублях; купон — процент; подарок — что это');
  const bonusDelivery = field('Как выдаётся бонус', { name: 'bonus_delivery', tag: 'select', options: Object.entries(DELIVERY) });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Добавить вариант');
  form.append(h('div', { class: 'form-grid' }, name, price, discount, max, early, priority, from, until, bonusType, bonusValue, bonusDelivery), save);
  const fail = (n, message) => showError(form, { message }, n);
  const num = (input) => (input.value === '' ? null : Number(input.value));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(save, async () => {
      clearErrors(form);
      const body = { name: name.input.value.trim() };
      if (!body.name) return fail('name', 'Введите название.');
      body.base_price = parseRubles(price.input.value);
      if (body.base_price === null) return fail('base_price', 'Введите цену в рублях, например 4900.');
      body.discount_percent = num(discount.input) ?? 0;
      if (!Number.isInteger(body.discount_percent) || body.discount_percent < 0 || body.discount_percent > 100) return fail('discount_percent', 'От 0 до 100.');
      const m = num(max.input);
      if (m !== null && (!Number.isInteger(m) || m < 1)) return fail('max_quantity', 'Целое число от 1 или пусто.');
      if (m !== null) body.max_quantity = m;
      body.early_access_days = num(early.input) ?? 0;
      if (!Number.isInteger(body.early_access_days) || body.early_access_days < 0 || body.early_access_days > 365) return fail('early_access_days', 'От 0 до 365.');
      body.priority = num(priority.input) ?? 0;
      if (!Number.isInteger(body.priority) || body.priority < 0 || body.priority > 1000) return fail('priority', 'От 0 до 1000.');
      body.available_from = localToIso(from.input.value);
      if (!body.available_from) return fail('available_from', 'Укажите начало продаж.');
      body.available_until = localToIso(until.input.value);
      if (!body.available_until || body.available_until <= body.available_from) return fail('available_until', 'Конец продаж — позже начала.');
      const bt = bonusType.input.value;
      if (bt) {
        const raw = bonusValue.input.value.trim();
        let value = raw;
        if (bt === 'points') value = parseRubles(raw);
        else if (bt === 'coupon') value = Number(raw);
        if (bt === 'points' && !value) return fail('bonus_value', 'Баллы — сумма в рублях, например 500.');
        if (bt === 'coupon' && !(Number.isInteger(value) && value >= 1 && value <= 100)) return fail('bonus_value', 'Процент — от 1 до 100.');
        if ((bt === 'gift' || bt === 'activation_code') && !raw) return fail('bonus_value', 'Опишите бонус.');
        body.bonuses = [{ type: bt, value, delivery: bonusDelivery.input.value }];
      }
      try {
        const t = await ctx.api.post(`/admin/preorder-items/${item.id}/tiers`, body);
        toast('Вариант добавлен.', 'ok');
        form.reset();
        added(t);
      } catch (err) {
        showError(form, err);
      }
    });
  });
  return form;
}

async function analyticsView(ctx, id) {
  const a = await ctx.api.get(`/admin/preorder-items/${id}/analytics`);
  const c = a.conversion;
  const rate = (x) => (x === null || x === undefined ? '—' : percent(x));
  return h(
    'div',
    {},
    h('div', { class: 'grid' }, stat('Просмотры', int(c.views), c.views ? null : 'Просмотры считаются по событиям приложения; пока их нет.'), stat('Предзаказы', int(c.preorders), `из просмотров: ${rate(c.view_to_preorder)}`), stat('Оплачено', int(c.paid), `из предзаказов: ${rate(c.preorder_to_paid)}`)),
    a.by_tier.length
      ? table('Продажи по вариантам', ['Вариант', 'Цена', 'Лимит', 'Предзаказов', 'Оплачено', 'Ждут оплаты'], a.by_tier.map((t) => [t.name, money(t.final_price), t.max_quantity === null ? 'без лимита' : int(t.max_quantity), int(t.preorders), int(t.sold), int(t.held)]))
      : empty('Продаж по вариантам пока нет.'),
    table('Повышения и возвраты', ['Показатель', 'Значение'], [
      ['Запрошено повышений', int(a.upgrades.requested)],
      ['Оплачено повышений', int(a.upgrades.paid)],
      ['Отмен', int(a.refunds.cancellations)],
      ['Истёкших броней', int(a.refunds.expired_holds)],
      ['Возвратов', int(a.refunds.refunded)],
      ['К возврату', money(a.refunds.amount_due)],
      ['Возвращено', money(a.refunds.amount_settled)],
      ['Возвращено баллов', points(a.refunds.points_returned)],
    ]),
  );
}
