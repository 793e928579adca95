// «Сотрудники»: the selected business's staff; admins and owners add people
// by phone with a role and remove them, managers only see the list.

import { normalizePhone } from '/shared/api.js';
import { h, field, guarded, clearErrors, date, toast } from '/shared/ui.js';
import { ROLES, roleName, head, card, pagedTable, showApiError, fieldError, confirmDialog, messageFor } from './common.js';

export const staff = {
  id: 'staff',
  title: 'Сотрудники',
  group: 'Партнёр',
  roles: ['admin', 'owner', 'manager'],
  needsBusiness: true,
  async render(ctx) {
    const biz = ctx.business;
    const base = `/admin/businesses/${biz.id}/staff`;
    const canEdit = ctx.role === 'admin' || ctx.role === 'owner';

    const row = (s) => {
      const who = [s.first_name, s.last_name].filter(Boolean).join(' ') || 'Без имени';
      const cells = [who, s.phone || '—', roleName(s.role), date(s.created_at)];
      if (canEdit) {
        const self = s.member_id === ctx.me.id;
        const del = h('button', { type: 'button', class: 'danger small', disabled: self }, 'Удалить');
        del.setAttribute('aria-label', `Удалить сотрудника ${s.phone || who}`);
        del.addEventListener('click', () => guarded(del, async () => {
          const ok = await confirmDialog('Удалить сотрудника?', `${who} (${s.phone || ''}) потеряет доступ к кассе и панели партнёра «${biz.name}».`, 'Удалить');
          if (!ok) return;
          try {
            await ctx.api.del(`${base}/${s.member_id}`);
            toast('Сотрудник удалён.', 'ok');
            ctx.refresh();
          } catch (e) {
            toast(e.message, 'error');
          }
        }));
        cells.push(self ? h('span', { class: 'muted' }, 'это вы') : del);
      }
      return cells;
    };
    const list = pagedTable({
      caption: `Сотрудники партнёра «${biz.name}»`,
      headers: ['Имя', 'Телефон', 'Роль', 'Добавлен', ...(canEdit ? ['Действия'] : [])],
      emptyText: 'Сотрудников пока нет.',
      fetchPage: (cursor) => ctx.api.get(base, { limit: 50, cursor }),
      row,
    });

    let form = null;
    if (canEdit) {
      const phone = field('Телефон сотрудника', { name: 'phone', type: 'tel', inputmode: 'tel', autocomplete: 'off', required: true, placeholder: '+7 999 123-45-67' }, 'Человек должен один раз войти в «Круг» по этому номеру.');
      const role = field('Роль', { name: 'role', tag: 'select', options: ROLES });
      const submit = h('button', { type: 'submit', class: 'primary' }, 'Добавить сотрудника');
      form = h('form', { novalidate: true }, h('div', { class: 'form-grid' }, phone, role), submit);
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        guarded(submit, async () => {
          clearErrors(form);
          const p = normalizePhone(phone.input.value);
          if (!p) return fieldError(form, 'phone', messageFor('INVALID_PHONE'));
          try {
            const s = await ctx.api.post(base, { phone: p, role: role.input.value });
            toast(`${s.phone || p}: ${roleName(s.role).toLowerCase()}.`, 'ok');
            ctx.refresh();
          } catch (e) {
            // Errors about the person (not a member yet, staff elsewhere) belong to the phone.
            showApiError(form, e, ['MEMBER_NOT_FOUND', 'STAFF_OF_OTHER_BUSINESS', 'INVALID_PHONE'].includes(e.code) ? 'phone' : null);
          }
        });
      });
    }
    return h('div', {}, head(`Сотрудники · ${biz.name}`), form ? card('Добавить сотрудника', form) : null, card('Команда', list));
  },
};
