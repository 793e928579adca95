// «Интеграции»: the selected business's CRM/accounting connector (type,
// settings, on/off; credentials are write-only), a manual sync and the list
// of sync runs; «Оповещения» (admins): integrations failing in a row.

import { h, field, guarded, clearErrors, dateTime, toast } from '/shared/ui.js';
import { ApiError } from '/shared/api.js';
import { CATEGORIES, head, card, pagedTable, showApiError, fieldError, REQUIRED, localToIso, checkbox, badge } from './common.js';

const TYPES = [
  ['onec', '1С (REST-расширение)'],
  ['yclients', 'YCLIENTS'],
  ['amocrm', 'amoCRM'],
  ['renovatio', 'Реновацио (МИС)'],
  ['csv_url', 'CSV-файл по ссылке'],
];
export const typeName = (t) => (TYPES.find(([k]) => k === t) || [t, t])[1];

// Settings per type: [key, label, {required, secret, hint, options}].
const SETTINGS = {
  onec: [
    ['base_url', 'Адрес сервера 1С', { required: true, hint: 'https://…, можно с путём, без параметров.' }],
    ['username', 'Пользователь', { required: true }],
    ['password', 'Пароль', { required: true, secret: true }],
  ],
  yclients: [
    ['company_id', 'ID компании', { required: true, hint: 'Число из кабинета YCLIENTS.' }],
    ['partner_token', 'Партнёрский токен', { required: true, secret: true }],
    ['user_token', 'Токен пользователя', { required: true, secret: true }],
    ['base_url', 'Адрес API', { hint: 'Необязательно; по умолчанию https://api.yclients.com.' }],
  ],
  amocrm: [
    ['base_url', 'Адрес аккаунта', { required: true, hint: 'https://<поддомен>.amocrm.ru' }],
    ['access_token', 'Долгосрочный токен', { required: true, secret: true }],
    ['pipeline_id', 'ID воронки', { required: true, hint: 'Учитываются успешные сделки этой воронки.' }],
  ],
  renovatio: [
    ['api_key', 'Ключ API', { required: true, secret: true }],
    ['base_url', 'Адрес API', { hint: 'Необязательно; по умолчанию https://app.rnova.org.' }],
    ['clinic_id', 'ID клиники', { hint: 'Необязательно; число.' }],
    ['category', 'Категория покупок', { options: [['', 'Медицина (по умолчанию)'], ...CATEGORIES.filter(([k]) => ['medicine', 'dentistry', 'cosmetology'].includes(k))] }],
  ],
  csv_url: [
    ['url', 'Адрес CSV-файла', { required: true, hint: 'http(s)://…, можно с параметрами.' }],
    ['authorization', 'Заголовок Authorization', { secret: true, hint: 'Необязательно, например «Bearer …».' }],
  ],
};

const STATUS = { ok: ['Работает', 'ok'], failing: ['Сбои', 'bad'], disabled: ['Выключена', ''] };
const RUN = { running: ['Идёт', 'warn'], succeeded: ['Успешно', 'ok'], failed: ['Ошибка', 'bad'] };

function settingsForm(ctx, current, onSaved) {
  const base = `/admin/businesses/${ctx.business.id}/integration`;
  const type = field('Тип системы', { name: 'type', tag: 'select', options: [['', 'Выберите систему'], ...TYPES] });
  type.input.value = current ? current.type : '';
  const box = h('div', { class: 'form-grid' });
  const inputs = new Map();
  function draw() {
    const t = type.input.value;
    const old = new Map([...inputs].map(([k, f]) => [k, f.input.value]));
    inputs.clear();
    const keep = current && current.type === t;
    const stored = (keep && current.settings) || {};
    box.replaceChildren(
      ...(SETTINGS[t] || []).map(([key, label, o]) => {
        const isSet = keep && (current.secrets_set || []).includes(key);
        const hint = o.secret ? (isSet ? 'Сохранён. Оставьте пустым, чтобы не менять.' : 'Хранится только на сервере и больше не показывается.') + (o.hint ? ` ${o.hint}` : '') : o.hint;
        const f = o.options
          ? field(label, { name: `settings.${key}`, tag: 'select', options: o.options }, hint)
          : field(label, { name: `settings.${key}`, type: o.secret ? 'password' : 'text', autocomplete: o.secret ? 'new-password' : 'off', spellcheck: 'false' }, hint);
        const v = o.secret ? old.get(key) || '' : old.has(key) ? old.get(key) : stored[key] ?? '';
        f.input.value = String(v);
        f.opts = { ...o, isSet };
        inputs.set(key, f);
        return f;
      }),
    );
  }
  type.input.addEventListener('change', draw);
  draw();
  const enabled = checkbox('Включена (синхронизация каждые 15 минут)', 'enabled', current ? current.enabled : true);
  const since = field('Загрузить покупки начиная с', { name: 'since', type: 'datetime-local' }, 'Необязательно. Новая дата начинает загрузку заново с неё.');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Сохранить интеграцию');
  const form = h('form', { novalidate: true, autocomplete: 'off' }, type, box, h('div', { class: 'form-grid' }, since), enabled, submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(submit, async () => {
      clearErrors(form);
      const t = type.input.value;
      if (!t) return fieldError(form, 'type', 'Выберите систему.');
      const settings = {};
      for (const [key, f] of inputs) {
        const v = f.input.value.trim();
        // Credentials left blank are kept by the server when the type stays.
        if (!v) {
          if (f.opts.required && !(f.opts.secret && f.opts.isSet)) return fieldError(form, `settings.${key}`, REQUIRED);
          continue;
        }
        settings[key] = v;
      }
      const body = { type: t, settings, enabled: enabled.input.checked };
      const s = localToIso(since.input.value);
      if (s === undefined) return fieldError(form, 'since', 'Неверная дата.');
      if (s) body.since = s;
      try {
        await ctx.api.put(base, body);
        toast('Интеграция сохранена.', 'ok');
        onSaved();
      } catch (e) {
        showApiError(form, e);
      }
    });
  });
  return form;
}

export const integration = {
  id: 'integration',
  title: 'Интеграции',
  group: 'Партнёр',
  roles: ['admin', 'owner'],
  needsBusiness: true,
  async render(ctx) {
    const biz = ctx.business;
    const base = `/admin/businesses/${biz.id}/integration`;
    let current = null;
    try {
      current = await ctx.api.get(base);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 'INTEGRATION_NOT_FOUND')) throw e;
    }
    const parts = [head(`Интеграции · ${biz.name}`)];
    if (current) {
      const [st, kind] = STATUS[current.status] || [current.status, ''];
      const syncBtn = h('button', { type: 'button', class: 'primary' }, 'Синхронизировать');
      const result = h('div', { role: 'status' });
      syncBtn.addEventListener('click', () => guarded(syncBtn, async () => {
        result.replaceChildren();
        try {
          const run = await ctx.api.post(`${base}/sync`);
          if (run.status === 'failed') toast('Синхронизация завершилась с ошибкой — подробности в списке запусков.', 'error');
          else toast(`Синхронизация: получено ${run.fetched}, принято ${run.accepted}.`, 'ok');
          ctx.refresh();
        } catch (e) {
          result.replaceChildren(h('p', { class: 'error-box' }, e.message));
        }
      }));
      parts.push(
        card(
          'Состояние',
          h('dl', { class: 'props' },
            h('dt', {}, 'Система'), h('dd', {}, typeName(current.type)),
            h('dt', {}, 'Состояние'), h('dd', {}, badge(st, kind)),
            h('dt', {}, 'Ошибок подряд'), h('dd', {}, String(current.failures)),
            h('dt', {}, 'Загружено по'), h('dd', {}, dateTime(current.watermark)),
            current.last_error ? [h('dt', {}, 'Последняя ошибка'), h('dd', { class: 'mono' }, current.last_error)] : null,
            h('dt', {}, 'Изменена'), h('dd', {}, dateTime(current.updated_at))),
          h('p'),
          h('div', { class: 'actions' }, syncBtn),
          result,
        ),
      );
    } else {
      parts.push(card(null, h('p', {}, 'Интеграция не настроена. Выберите учётную систему партнёра — покупки будут загружаться автоматически.')));
    }
    parts.push(card(current ? 'Настройки' : 'Подключить систему', settingsForm(ctx, current, () => ctx.refresh())));
    if (current) {
      parts.push(
        card(
          'Запуски синхронизации',
          pagedTable({
            caption: 'Запуски синхронизации',
            headers: ['Начат', 'Кто', 'Статус', 'Окно', 'Получено', 'Принято', 'Дубли', 'Отклонено', 'Отложено', 'Ошибка'],
            emptyText: 'Запусков ещё не было.',
            fetchPage: (cursor) => ctx.api.get(`${base}/sync-runs`, { limit: 20, cursor }),
            row: (r) => {
              const [t, k] = RUN[r.status] || [r.status, ''];
              return [dateTime(r.started_at), r.started_by === 'manual' ? 'вручную' : 'по расписанию', badge(t, k), `${dateTime(r.window_from)} — ${dateTime(r.window_to)}`, r.fetched, r.accepted, r.duplicates, r.rejected, r.parked, r.error ? h('span', { class: 'mono' }, r.error) : '—'];
            },
          }),
        ),
      );
    }
    return h('div', {}, parts);
  },
};

export const alerts = {
  id: 'alerts',
  title: 'Оповещения',
  group: 'Контроль',
  roles: ['admin'],
  async render(ctx) {
    const page = await ctx.api.get('/admin/alerts');
    const items = page.items || [];
    const rows = items.map((a) => {
      const open = h('button', { type: 'button', class: 'small' }, 'Открыть интеграцию');
      open.setAttribute('aria-label', `Открыть интеграцию партнёра «${a.business_name}»`);
      open.addEventListener('click', () => {
        ctx.setBusiness(a.business_id);
        ctx.navigate('#/integration');
      });
      return h('li', {}, h('div', { class: 'spread' }, h('div', {}, h('h2', {}, a.business_name), h('p', {}, badge('Сбои', 'bad'), ` ${typeName(a.integration_type)}: ${a.failures} неудачных запусков подряд, с ${dateTime(a.since)}.`), a.last_error ? h('p', { class: 'mono muted' }, a.last_error) : null), open));
    });
    return h('div', {}, head('Оповещения'), card(null, items.length ? h('ul', { class: 'list' }, rows) : h('p', { class: 'empty' }, 'Всё в порядке: сбоев интеграций нет.')));
  },
};
