// «Баннеры»: banners on the member app's home and category screens — the
// list and the create/edit form.

import { h, field, guarded, clearErrors, dateTime, toast } from '/shared/ui.js';
import { CATEGORIES, TIERS, head, card, pagedTable, showApiError, fieldError, REQUIRED, intOrNull, localToIso, isoToLocal, checkbox, badge, tierName, categoryName, businessName } from './common.js';

const PLACEMENTS = [['home', 'Главный экран'], ...CATEGORIES.map(([k, t]) => [`category:${k}`, `Категория: ${t}`])];
const placementName = (p) => (p === 'home' ? 'Главный экран' : p && p.startsWith('category:') ? `Категория: ${categoryName(p.slice(9))}` : p);

function bannerStatus(b, now = Date.now()) {
  if (!b.active) return badge('Выключен');
  if (b.ends_at && Date.parse(b.ends_at) <= now) return badge('Завершён');
  if (b.starts_at && Date.parse(b.starts_at) > now) return badge('Запланирован', 'warn');
  return badge('Показывается', 'ok');
}

function bannerForm(ctx, b) {
  const editing = !!b;
  b = b || {};
  const placement = field('Где показывать', { name: 'placement', tag: 'select', options: PLACEMENTS });
  placement.input.value = b.placement || 'home';
  const title = field('Заголовок', { name: 'title', required: true, maxlength: 120, value: b.title || '' });
  const body = field('Текст', { name: 'body', tag: 'textarea', maxlength: 1000 });
  body.input.value = b.body || '';
  const image = field('Картинка (адрес)', { name: 'image_url', type: 'url', inputmode: 'url', value: b.image_url || '', placeholder: 'https://…' }, 'Только https://.');
  const link = field('Ссылка', { name: 'link_url', value: b.link_url || '', placeholder: 'https://… или /events' }, 'https:// или путь в приложении, начинающийся с «/».');
  const priority = field('Приоритет', { name: 'priority', inputmode: 'numeric', value: b.priority ?? 0 }, 'От −1000 до 1000; выше — показывается первым.');
  const minTier = field('Минимальный статус', { name: 'min_tier', tag: 'select', options: [['', 'Все участники'], ...TIERS] });
  minTier.input.value = b.min_tier || '';
  const startsAt = field('Начало показа', { name: 'starts_at', type: 'datetime-local', value: isoToLocal(b.starts_at) });
  const endsAt = field('Окончание показа', { name: 'ends_at', type: 'datetime-local', value: isoToLocal(b.ends_at) });
  const active = checkbox('Включён', 'active', editing ? b.active : true);
  const submit = h('button', { type: 'submit', class: 'primary' }, editing ? 'Сохранить баннер' : 'Создать баннер');
  const form = h('form', { novalidate: true }, h('div', { class: 'form-grid' }, placement, title, image, link, priority, minTier, startsAt, endsAt), body, active, h('div', { class: 'actions' }, submit, h('a', { href: '#/banners', class: 'button' }, 'Отмена')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(submit, async () => {
      clearErrors(form);
      const out = { placement: placement.input.value, title: title.input.value.trim() };
      if (!out.title) return fieldError(form, 'title', REQUIRED);
      out.body = body.input.value.trim() || null;
      const img = image.input.value.trim();
      if (img && !/^https:\/\/\S+$/.test(img)) return fieldError(form, 'image_url', 'Адрес картинки начинается с https://.');
      out.image_url = img || null;
      const ln = link.input.value.trim();
      if (ln && !/^(https:\/\/\S+|\/\S*)$/.test(ln)) return fieldError(form, 'link_url', 'Ссылка начинается с https:// или «/».');
      out.link_url = ln || null;
      const pr = intOrNull(priority.input.value);
      if (Number.isNaN(pr) || (pr !== null && (pr < -1000 || pr > 1000))) return fieldError(form, 'priority', 'Целое число от −1000 до 1000.');
      out.priority = pr || 0;
      out.min_tier = minTier.input.value || null;
      out.starts_at = localToIso(startsAt.input.value) || null;
      out.ends_at = localToIso(endsAt.input.value) || null;
      if (out.starts_at && out.ends_at && Date.parse(out.ends_at) <= Date.parse(out.starts_at)) return fieldError(form, 'ends_at', 'Окончание должно быть позже начала.');
      out.active = active.input.checked;
      try {
        const saved = editing ? await ctx.api.patch(`/admin/banners/${b.id}`, out) : await ctx.api.post('/admin/banners', out);
        toast(`Баннер «${saved.title}» сохранён.`, 'ok');
        ctx.navigate('#/banners');
      } catch (e) {
        showApiError(form, e);
      }
    });
  });
  return form;
}

export const banners = {
  id: 'banners',
  title: 'Баннеры',
  group: 'Маркетинг',
  roles: ['admin', 'owner'],
  async render(ctx, rest) {
    const back = h('a', { href: '#/banners', class: 'button' }, 'Все баннеры');
    if (rest[0] === 'new') return h('div', {}, head('Новый баннер', back), card(null, bannerForm(ctx, null)));
    if (rest[0]) {
      const b = await ctx.api.get(`/admin/banners/${encodeURIComponent(rest[0])}`);
      return h('div', {}, head(`Баннер «${b.title}»`, back), card(null, bannerForm(ctx, b)));
    }
    const list = pagedTable({
      caption: 'Баннеры',
      headers: ['Заголовок', 'Где', 'Чей', 'Для статуса', 'Период', 'Статус', ''],
      emptyText: 'Баннеров пока нет.',
      fetchPage: (cursor) => ctx.api.get('/admin/banners', { limit: 50, cursor }),
      row: (b) => [
        h('a', { href: `#/banners/${b.id}` }, b.title),
        placementName(b.placement),
        b.owner_business_id ? businessName(ctx, b.owner_business_id) : 'Клуб',
        b.min_tier ? `от «${tierName(b.min_tier)}»` : 'все',
        `${b.starts_at ? dateTime(b.starts_at) : 'сразу'} — ${b.ends_at ? dateTime(b.ends_at) : 'без срока'}`,
        bannerStatus(b),
        h('a', { href: `#/banners/${b.id}`, 'aria-label': `Изменить баннер «${b.title}»` }, 'Изменить'),
      ],
    });
    return h('div', {}, head('Баннеры', h('a', { href: '#/banners/new', class: 'button primary' }, 'Новый баннер')), card(null, list));
  },
};
