// «Журнал» (admins): the audit log, newest first, filtered by subject.

import { h, field, dateTime } from '/shared/ui.js';
import { head, card, pagedTable, roleName } from './common.js';

const ACTIONS = {
  'business.created': 'Создан партнёр',
  'staff.added': 'Добавлен сотрудник',
  'staff.role_changed': 'Изменена роль сотрудника',
  'staff.removed': 'Удалён сотрудник',
  'api_key.issued': 'Выпущен API-ключ',
  'api_key.revoked': 'Отозван API-ключ',
  'promo.created': 'Создана акция',
  'promo.updated': 'Изменена акция',
  'flag.updated': 'Изменён флаг',
  'integration.configured': 'Настроена интеграция',
  'member.erased': 'Удалены персональные данные',
  'consent.changed': 'Изменено согласие',
};
const SUBJECTS = [
  ['', 'Все'],
  ['business', 'Партнёр'],
  ['member', 'Участник'],
  ['promo', 'Акция'],
  ['flag', 'Флаг'],
  ['api_key', 'API-ключ'],
];
const ACTOR = { admin: 'администратор', owner: 'владелец', manager: 'менеджер', member: 'участник', system: 'система', api_key: 'API-ключ' };

// Details are shown as "key: value" lines, never as raw JSON.
function detailsList(d) {
  const entries = Object.entries(d || {});
  if (!entries.length) return '—';
  return h('ul', { class: 'kv' }, entries.map(([k, v]) => h('li', {}, h('span', { class: 'muted' }, `${k}: `), v === null ? '—' : typeof v === 'object' ? (Array.isArray(v) ? v.join(', ') : Object.entries(v).map(([a, b]) => `${a}=${b}`).join(', ')) : String(v))));
}

export const audit = {
  id: 'audit',
  title: 'Журнал',
  group: 'Контроль',
  roles: ['admin'],
  async render(ctx) {
    const type = field('Тип объекта', { name: 'subject_type', tag: 'select', options: SUBJECTS });
    const sid = field('Идентификатор объекта', { name: 'subject_id', autocomplete: 'off', placeholder: 'UUID' });
    const apply = h('button', { type: 'submit' }, 'Показать');
    const out = h('div');
    const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Фильтр журнала' }, type, sid, h('div', { class: 'field' }, apply));
    function load() {
      const q = { subject_type: type.input.value || undefined, subject_id: sid.input.value.trim() || undefined };
      out.replaceChildren(
        pagedTable({
          caption: 'Журнал действий',
          headers: ['Когда', 'Кто', 'Действие', 'Объект', 'Подробности'],
          emptyText: 'Записей нет.',
          fetchPage: (cursor) => ctx.api.get('/admin/audit', { limit: 50, cursor, ...q }),
          row: (e) => [
            dateTime(e.at),
            `${ACTOR[e.actor_role] || roleName(e.actor_role) || e.actor_role}${e.actor_id ? ` · ${e.actor_id.slice(0, 8)}` : ''}`,
            h('span', {}, ACTIONS[e.action] || e.action, h('br'), h('small', { class: 'muted mono' }, e.action)),
            h('span', {}, (SUBJECTS.find(([k]) => k === e.subject_type) || [0, e.subject_type])[1], h('br'), h('small', { class: 'mono muted' }, e.subject_id)),
            detailsList(e.details),
          ],
        }),
      );
    }
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      load();
    });
    load();
    return h('div', {}, head('Журнал'), card(null, form, out));
  },
};
