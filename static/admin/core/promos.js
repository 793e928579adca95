// «Акции»: promo codes and automatic campaigns — the list with each one's
// status and the full create/edit form (kind, value, businesses, conditions,
// schedule with weekly windows, limits, stacking), money typed in rubles.

import { h, field, guarded, clearErrors, date, toast, money, parseRubles } from '/shared/ui.js';
import {
  CATEGORIES, CHANNELS, TIERS, head, card, pagedTable, showApiError, fieldError, REQUIRED, intOrNull, localToIso, isoToLocal,
  rublesText, checkGroup, checkbox, badge, businessName,
} from './common.js';

const KINDS = [
  ['percent', 'Скидка в процентах'],
  ['fixed', 'Скидка в рублях'],
  ['bogo', 'Товары в подарок (N + M)'],
  ['points_multiplier', 'Повышенные баллы'],
];
const DAYS = [[1, 'Пн'], [2, 'Вт'], [3, 'Ср'], [4, 'Чт'], [5, 'Пт'], [6, 'Сб'], [7, 'Вс']];

/** What the promo gives, in words. */
export function promoSummary(p) {
  switch (p.kind) {
    case 'percent':
      return `−${p.value} %${p.max_discount ? `, не больше ${money(p.max_discount)}` : ''}`;
    case 'fixed':
      return `−${money(p.value)}`;
    case 'bogo':
      return `${p.buy_qty} + ${p.free_qty} в подарок${p.max_discount ? `, не больше ${money(p.max_discount)}` : ''}`;
    case 'points_multiplier':
      return `баллы × ${String((p.value || 0) / 100).replace('.', ',')}`;
    default:
      return '—';
  }
}

/** Status as a badge: off, finished, scheduled, exhausted or running. */
export function promoStatus(p, now = Date.now()) {
  const s = (p.conditions && p.conditions.schedule) || {};
  if (!p.active) return badge('Выключена');
  if (s.ends_at && Date.parse(s.ends_at) <= now) return badge('Завершена');
  if (s.starts_at && Date.parse(s.starts_at) > now) return badge('Запланирована', 'warn');
  const l = p.limits || {};
  const u = p.usage || {};
  if (l.total && u.uses >= l.total) return badge('Лимит исчерпан', 'bad');
  if (l.budget && u.budget_spent >= l.budget) return badge('Бюджет исчерпан', 'bad');
  return badge('Действует', 'ok');
}

function listView(ctx) {
  const list = pagedTable({
    caption: 'Акции и промокоды',
    headers: ['Название', 'Промокод', 'Выгода', 'Где действует', 'Статус', 'Использований', ''],
    emptyText: 'Акций пока нет — создайте первую.',
    fetchPage: (cursor) => ctx.api.get('/admin/promos', { limit: 50, cursor }),
    row: (p) => [
      h('a', { href: `#/promos/${p.id}` }, p.name),
      p.code ? h('code', {}, p.code) : h('span', { class: 'muted' }, p.auto ? 'автоматически' : '—'),
      promoSummary(p),
      p.businesses && p.businesses.length ? p.businesses.map((id) => businessName(ctx, id)).join(', ') : 'Вся сеть',
      promoStatus(p),
      `${(p.usage && p.usage.uses) || 0}${p.limits && p.limits.total ? ` из ${p.limits.total}` : ''}`,
      h('a', { href: `#/promos/${p.id}`, 'aria-label': `Изменить акцию «${p.name}»` }, 'Изменить'),
    ],
  });
  return h('div', {}, head('Акции', h('a', { href: '#/promos/new', class: 'button primary' }, 'Новая акция')), card(null, list));
}

function weeklyEditor(windows) {
  const rows = h('div');
  const add = h('button', { type: 'button', class: 'small' }, 'Добавить окно');
  const fs = h(
    'fieldset',
    { name: 'conditions.schedule.weekly', id: 'promo-weekly', 'aria-describedby': 'promo-weekly-error' },
    h('legend', {}, 'Часы действия по дням недели'),
    h('small', { class: 'hint' }, 'Например, счастливые часы. Время партнёра; «до» раньше «с» — через полночь. Без окон — круглосуточно.'),
    rows,
    h('p', { id: 'promo-weekly-error', class: 'field-error', hidden: true, role: 'alert' }),
    add,
    h('p'),
  );
  const items = [];
  function renumber() {
    items.forEach((it, i) => {
      it.days.setAttribute('name', `conditions.schedule.weekly[${i}].days`);
      it.from.input.setAttribute('name', `conditions.schedule.weekly[${i}].from`);
      it.to.input.setAttribute('name', `conditions.schedule.weekly[${i}].to`);
      it.days.querySelector('legend').textContent = `Окно ${i + 1}: дни`;
    });
  }
  function addRow(w = { days: [1, 2, 3, 4, 5], from: '', to: '' }) {
    const days = checkGroup('Дни', 'w', DAYS.map(([v, t]) => [String(v), t]), (w.days || []).map(String));
    const from = field('С', { name: 'w-from', type: 'time', value: w.from || '' });
    const to = field('До', { name: 'w-to', type: 'time', value: w.to === '24:00' ? '23:59' : w.to || '' });
    const del = h('button', { type: 'button', class: 'danger small' }, 'Убрать окно');
    const row = h('div', { class: 'window-row' }, days, from, to, del);
    const it = { row, days, from, to };
    del.addEventListener('click', () => {
      items.splice(items.indexOf(it), 1);
      row.remove();
      renumber();
      add.focus();
    });
    items.push(it);
    rows.append(row);
    renumber();
    return it;
  }
  add.addEventListener('click', () => addRow().from.input.focus());
  (windows || []).forEach((w) => addRow(w));
  fs.read = (form) => {
    const out = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      const days = it.days.values().map(Number);
      if (!days.length) return fieldError(form, `conditions.schedule.weekly[${i}].days`, 'Отметьте хотя бы один день.'), null;
      if (!it.from.input.value) return fieldError(form, `conditions.schedule.weekly[${i}].from`, 'Укажите время начала.'), null;
      if (!it.to.input.value) return fieldError(form, `conditions.schedule.weekly[${i}].to`, 'Укажите время окончания.'), null;
      out.push({ days, from: it.from.input.value, to: it.to.input.value });
    }
    return out;
  };
  return fs;
}

function promoForm(ctx, p) {
  const editing = !!p;
  p = p || {};
  const c = p.conditions || {};
  const sch = c.schedule || {};
  const lim = p.limits || {};

  const name = field('Название', { name: 'name', required: true, maxlength: 200, value: p.name || '' }, 'Его видят участники в корзине.');
  const code = field('Промокод', { name: 'code', maxlength: 32, autocomplete: 'off', spellcheck: 'false', value: p.code || '' }, 'Латинские буквы, цифры, «_» и «-», от 3 до 32 знаков; регистр не важен. Не нужен для автоматической акции.');
  const kind = field('Тип акции', { name: 'kind', tag: 'select', options: KINDS });
  kind.input.value = p.kind || 'percent';
  const value = field('Скидка, %', { name: 'value', inputmode: 'decimal', autocomplete: 'off' });
  const maxDiscount = field('Максимальная скидка, ₽', { name: 'max_discount', inputmode: 'decimal', value: rublesText(p.max_discount) }, 'Необязательно.');
  const buyQty = field('Купить, шт.', { name: 'buy_qty', inputmode: 'numeric', value: p.buy_qty ?? '' });
  const freeQty = field('В подарок, шт.', { name: 'free_qty', inputmode: 'numeric', value: p.free_qty ?? '' }, 'Бесплатными становятся самые дешёвые подходящие единицы.');

  // The value's meaning depends on the kind: percent, rubles or percent of points.
  const valueHint = value.querySelector('.hint') || h('small', { class: 'hint', id: `${value.input.id}-hint` });
  if (!valueHint.parentNode) {
    value.input.after(valueHint);
    value.input.setAttribute('aria-describedby', `${value.input.id}-hint ${value.input.id}-error`);
  }
  let shownKind = null;
  function applyKind() {
    const k = kind.input.value;
    const label = value.querySelector('label');
    if (k === 'percent') {
      label.textContent = 'Скидка, %';
      valueHint.textContent = 'Целое число от 1 до 100.';
    } else if (k === 'fixed') {
      label.textContent = 'Скидка, ₽';
      valueHint.textContent = 'Сумма в рублях, например 500 или 249,90.';
    } else if (k === 'points_multiplier') {
      label.textContent = 'Баллы, % от обычных';
      valueHint.textContent = 'От 101 до 1000: 200 — вдвое больше баллов, 150 — в полтора раза.';
    }
    // Switching kinds clears the number: 15 % is not 15 ₽.
    if (shownKind !== null && shownKind !== k) value.input.value = '';
    shownKind = k;
    value.hidden = k === 'bogo';
    maxDiscount.hidden = !(k === 'percent' || k === 'bogo');
    buyQty.hidden = freeQty.hidden = k !== 'bogo';
  }
  kind.input.addEventListener('change', applyKind);
  applyKind();
  if (p.value !== null && p.value !== undefined) value.input.value = p.kind === 'fixed' ? rublesText(p.value) : String(p.value);

  // Businesses: admins choose (none = the whole network), an owner's promo is their own.
  let bizGroup = null;
  let bizNote = null;
  if (ctx.isAdmin) {
    const checked = editing ? p.businesses || [] : ctx.business ? [ctx.business.id] : [];
    bizGroup = checkGroup('Партнёры', 'businesses', ctx.businesses.map((b) => [b.id, b.name]), checked, 'Ничего не отмечено — акция действует во всей сети.');
  } else {
    bizNote = h('p', {}, 'Акция действует у партнёра ', h('strong', {}, ctx.business ? ctx.business.name : ''), '.');
  }

  const minSubtotal = field('Минимальная сумма заказа, ₽', { name: 'conditions.min_subtotal', inputmode: 'decimal', value: rublesText(c.min_subtotal) });
  const cats = checkGroup('Категории товаров', 'conditions.categories', CATEGORIES, c.categories || [], 'Ничего не отмечено — любые категории.');
  const skus = field('Артикулы (SKU)', { name: 'conditions.skus', value: (c.skus || []).join(', ') }, 'Через запятую; пусто — любые товары.');
  const firstOrder = checkbox('Только на первый заказ', 'conditions.first_order', c.first_order);
  const minTier = field('Минимальный статус участника', { name: 'conditions.min_tier', tag: 'select', options: [['', 'Любой статус'], ...TIERS] });
  minTier.input.value = c.min_tier || '';
  const channels = checkGroup('Каналы продаж', 'conditions.channels', CHANNELS, c.channels || [], 'Ничего не отмечено — все каналы.');
  const startsAt = field('Начало', { name: 'conditions.schedule.starts_at', type: 'datetime-local', value: isoToLocal(sch.starts_at) });
  const endsAt = field('Окончание', { name: 'conditions.schedule.ends_at', type: 'datetime-local', value: isoToLocal(sch.ends_at) });
  const weekly = weeklyEditor(sch.weekly);

  const total = field('Всего использований', { name: 'limits.total', inputmode: 'numeric', value: lim.total ?? '' });
  const perMember = field('На участника', { name: 'limits.per_member', inputmode: 'numeric', value: lim.per_member ?? '' });
  const perDay = field('На участника в день', { name: 'limits.per_member_per_day', inputmode: 'numeric', value: lim.per_member_per_day ?? '' });
  const budget = field('Бюджет скидок, ₽', { name: 'limits.budget', inputmode: 'decimal', value: rublesText(lim.budget) }, 'Сумма всех скидок по акции.');

  const stackable = checkbox('Суммируется с другими акциями', 'stackable', p.stackable);
  const priority = field('Приоритет', { name: 'priority', inputmode: 'numeric', value: p.priority ?? 0 }, 'От −1000 до 1000; выше — применяется раньше.');
  const auto = checkbox('Автоматическая (без промокода)', 'auto', p.auto);
  const active = checkbox('Включена', 'active', editing ? p.active : true);

  const submit = h('button', { type: 'submit', class: 'primary' }, editing ? 'Сохранить изменения' : 'Создать акцию');
  const form = h(
    'form',
    { novalidate: true },
    h('fieldset', {}, h('legend', {}, 'Основное'), h('div', { class: 'form-grid' }, name, code, kind, value, maxDiscount, buyQty, freeQty)),
    h('fieldset', {}, h('legend', {}, 'Где действует'), bizGroup || bizNote, channels),
    h('fieldset', {}, h('legend', {}, 'Условия'), h('div', { class: 'form-grid' }, minSubtotal, minTier, skus), cats, firstOrder),
    h('fieldset', {}, h('legend', {}, 'Срок и расписание'), h('div', { class: 'form-grid' }, startsAt, endsAt), weekly),
    h('fieldset', {}, h('legend', {}, 'Лимиты'), h('small', { class: 'hint' }, 'Пусто — без ограничения.'), h('div', { class: 'form-grid' }, total, perMember, perDay, budget)),
    h('fieldset', {}, h('legend', {}, 'Применение'), h('div', { class: 'form-grid' }, priority), stackable, auto, active),
    h('div', { class: 'actions' }, submit, h('a', { href: '#/promos', class: 'button' }, 'Отмена')),
  );

  /** Reads and checks the form → the API body, or null after showing an error. */
  function read() {
    const k = kind.input.value;
    const body = { name: name.input.value.trim(), kind: k };
    if (!body.name) return fieldError(form, 'name', REQUIRED), null;
    const codeV = code.input.value.trim();
    if (codeV) {
      if (!/^[A-Za-z0-9_-]{3,32}$/.test(codeV)) return fieldError(form, 'code', 'Промокод — от 3 до 32 латинских букв, цифр, «_» или «-».'), null;
      body.code = codeV;
    } else if (!auto.input.checked) {
      return fieldError(form, 'code', 'Укажите промокод или сделайте акцию автоматической.'), null;
    } else if (editing) body.code = null;

    // Fields that do not apply to the kind are refused by the API: send null on
    // an edit (to clear an old value) and nothing on a create.
    const clear = (key) => {
      if (editing) body[key] = null;
    };
    const v = value.input.value.trim();
    if (k === 'percent' || k === 'points_multiplier') {
      const n = intOrNull(v);
      const [lo, hi] = k === 'percent' ? [1, 100] : [101, 1000];
      if (n === null) return fieldError(form, 'value', REQUIRED), null;
      if (Number.isNaN(n) || n < lo || n > hi) return fieldError(form, 'value', `Нужно целое число от ${lo} до ${hi}.`), null;
      body.value = n;
    } else if (k === 'fixed') {
      if (!v) return fieldError(form, 'value', REQUIRED), null;
      const kop = parseRubles(v);
      if (kop === null || kop <= 0) return fieldError(form, 'value', 'Сумма в рублях больше нуля, например 500 или 249,90.'), null;
      body.value = kop;
    } else clear('value');
    if (k === 'percent' || k === 'bogo') {
      const md = maxDiscount.input.value.trim();
      if (md) {
        const kop = parseRubles(md);
        if (kop === null || kop <= 0) return fieldError(form, 'max_discount', 'Сумма в рублях больше нуля.'), null;
        body.max_discount = kop;
      } else clear('max_discount');
    } else clear('max_discount');
    if (k === 'bogo') {
      for (const [f, key] of [[buyQty, 'buy_qty'], [freeQty, 'free_qty']]) {
        const n = intOrNull(f.input.value);
        if (n === null) return fieldError(form, key, REQUIRED), null;
        if (Number.isNaN(n) || n < 1 || n > 100) return fieldError(form, key, 'Целое число от 1 до 100.'), null;
        body[key] = n;
      }
    } else {
      clear('buy_qty');
      clear('free_qty');
    }

    body.businesses = bizGroup ? bizGroup.values() : ctx.business ? [ctx.business.id] : [];

    const conditions = {};
    const ms = minSubtotal.input.value.trim();
    if (ms) {
      const kop = parseRubles(ms);
      if (kop === null) return fieldError(form, 'conditions.min_subtotal', 'Сумма в рублях, например 1500.'), null;
      conditions.min_subtotal = kop;
    }
    const catsV = cats.values();
    if (catsV.length) conditions.categories = catsV;
    const skuList = skus.input.value.split(',').map((s) => s.trim()).filter(Boolean);
    if (skuList.length) conditions.skus = skuList;
    if (firstOrder.input.checked) conditions.first_order = true;
    if (minTier.input.value) conditions.min_tier = minTier.input.value;
    const ch = channels.values();
    if (ch.length) conditions.channels = ch;
    const schedule = {};
    const sa = localToIso(startsAt.input.value);
    const ea = localToIso(endsAt.input.value);
    if (sa === undefined) return fieldError(form, 'conditions.schedule.starts_at', 'Неверная дата.'), null;
    if (ea === undefined) return fieldError(form, 'conditions.schedule.ends_at', 'Неверная дата.'), null;
    if (sa) schedule.starts_at = sa;
    if (ea) schedule.ends_at = ea;
    if (sa && ea && Date.parse(ea) <= Date.parse(sa)) return fieldError(form, 'conditions.schedule.ends_at', 'Окончание должно быть позже начала.'), null;
    const w = weekly.read(form);
    if (w === null) return null;
    if (w.length) schedule.weekly = w;
    if (Object.keys(schedule).length) conditions.schedule = schedule;
    body.conditions = conditions;

    const limits = {};
    for (const [f, key] of [[total, 'total'], [perMember, 'per_member'], [perDay, 'per_member_per_day']]) {
      const n = intOrNull(f.input.value);
      if (n === null) continue;
      if (Number.isNaN(n) || n < 1) return fieldError(form, `limits.${key}`, 'Целое число больше нуля.'), null;
      limits[key] = n;
    }
    const bv = budget.input.value.trim();
    if (bv) {
      const kop = parseRubles(bv);
      if (kop === null || kop <= 0) return fieldError(form, 'limits.budget', 'Сумма в рублях больше нуля.'), null;
      limits.budget = kop;
    }
    body.limits = limits;

    const pr = intOrNull(priority.input.value);
    if (pr !== null) {
      if (Number.isNaN(pr) || pr < -1000 || pr > 1000) return fieldError(form, 'priority', 'Целое число от −1000 до 1000.'), null;
      body.priority = pr;
    } else body.priority = 0;
    body.stackable = stackable.input.checked;
    body.auto = auto.input.checked;
    body.active = active.input.checked;
    return body;
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(submit, async () => {
      clearErrors(form);
      const body = read();
      if (!body) return;
      try {
        const saved = editing ? await ctx.api.patch(`/admin/promos/${p.id}`, body) : await ctx.api.post('/admin/promos', body);
        toast(editing ? `Акция «${saved.name}» сохранена.` : `Акция «${saved.name}» создана.`, 'ok');
        ctx.navigate('#/promos');
      } catch (e) {
        // A taken code belongs to the code field even when the API names no field.
        showApiError(form, e, e.code === 'PROMO_CODE_TAKEN' || e.code === 'INVALID_CODE_FORMAT' ? 'code' : null);
      }
    });
  });
  return form;
}

export const promos = {
  id: 'promos',
  title: 'Акции',
  group: 'Маркетинг',
  roles: ['admin', 'owner'],
  async render(ctx, rest) {
    if (rest[0] === 'new') return h('div', {}, head('Новая акция', h('a', { href: '#/promos', class: 'button' }, 'Все акции')), card(null, promoForm(ctx, null)));
    if (rest[0]) {
      const p = await ctx.api.get(`/admin/promos/${encodeURIComponent(rest[0])}`);
      const usage = p.usage || {};
      return h(
        'div',
        {},
        head(`Акция «${p.name}»`, h('a', { href: '#/promos', class: 'button' }, 'Все акции')),
        h('p', { class: 'row' }, promoStatus(p), h('span', {}, `Использований: ${usage.uses || 0}`), h('span', {}, `Скидок выдано: ${money(usage.budget_spent || 0)}`), h('span', { class: 'muted' }, `Создана ${date(p.created_at)}`)),
        card(null, promoForm(ctx, p)),
      );
    }
    return listView(ctx);
  },
};
