// «Флаги» (admins): feature flags — on/off, a percentage of members, tiers,
// businesses and named members — saved one flag at a time.

import { h, field, guarded, clearErrors, dateTime, toast } from '/shared/ui.js';
import { TIERS, head, card, showApiError, fieldError, intOrNull, checkGroup, checkbox, badge } from './common.js';

const NAMES = {
  reviews: ['Отзывы', 'Отзывы о покупках и рейтинги партнёров.'],
  events: ['События', 'События клуба, предложения, голосования и бюджет событий.'],
  referral: ['Рекомендации', 'Реферальная программа: приглашения и награды.'],
  preorders: ['Предзаказы', 'Предзаказы будущих товаров партнёров.'],
  support: ['Поддержка', 'Обращения в поддержку, споры и FAQ.'],
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function flagCard(ctx, f) {
  const [title, about] = NAMES[f.name] || [f.name, f.description || ''];
  const enabled = checkbox('Включён', 'enabled', f.enabled);
  const percent = field('Доля участников, %', { name: 'percent', inputmode: 'numeric', value: f.percent ?? '' }, 'Пусто — все; 0–100 — часть участников (постоянно одна и та же).');
  const tiers = checkGroup('Только для статусов', 'tiers', TIERS, f.tiers || [], 'Ничего не отмечено — для всех статусов.');
  const biz = ctx.businesses.length ? checkGroup('Только у партнёров', 'businesses', ctx.businesses.map((b) => [b.id, b.name]), f.businesses || [], 'Ничего не отмечено — у всех.') : null;
  const members = field('Отдельные участники', { name: 'members', tag: 'textarea', rows: 2 }, 'Идентификаторы участников (UUID), по одному в строке; им флаг включён всегда.');
  members.input.value = (f.members || []).join('\n');
  const submit = h('button', { type: 'submit', class: 'primary' }, `Сохранить «${title}»`);
  const state = h('span', {}, f.enabled ? badge('Включён', 'ok') : badge('Выключен', 'bad'));
  const form = h('form', { novalidate: true }, enabled, percent, tiers, biz, members, submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(submit, async () => {
      clearErrors(form);
      const body = { enabled: enabled.input.checked };
      const pc = intOrNull(percent.input.value);
      if (Number.isNaN(pc) || (pc !== null && (pc < 0 || pc > 100))) return fieldError(form, 'percent', 'Целое число от 0 до 100 или пусто.');
      body.percent = pc;
      body.tiers = tiers.values();
      body.businesses = biz ? biz.values() : f.businesses || [];
      const ms = members.input.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
      const bad = ms.find((m) => !UUID.test(m));
      if (bad) return fieldError(form, 'members', `«${bad}» — не идентификатор участника.`);
      body.members = ms;
      try {
        const saved = await ctx.api.put(`/admin/flags/${encodeURIComponent(f.name)}`, body);
        state.replaceChildren(saved.enabled ? badge('Включён', 'ok') : badge('Выключен', 'bad'));
        toast(`Флаг «${title}» сохранён.`, 'ok');
      } catch (e) {
        showApiError(form, e);
      }
    });
  });
  return h('section', { class: 'card' }, h('div', { class: 'spread' }, h('h2', {}, title), state), h('p', { class: 'muted' }, about, f.updated_at ? ` Изменён ${dateTime(f.updated_at)}.` : ''), form);
}

export const flags = {
  id: 'flags',
  title: 'Флаги',
  group: 'Клуб',
  roles: ['admin'],
  async render(ctx) {
    const page = await ctx.api.get('/admin/flags');
    const items = page.items || [];
    return h('div', {}, head('Флаги возможностей'), h('p', { class: 'muted' }, 'Выключенный раздел пропадает у участников и отвечает «раздел выключен».'), items.length ? items.map((f) => flagCard(ctx, f)) : h('p', { class: 'empty' }, 'Флагов нет.'));
  },
};
