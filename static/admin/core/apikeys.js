// «API-ключи»: the selected business's partner keys; a new key is shown once
// in a dialog with a copy button, old ones are revoked.

import { h, field, guarded, clearErrors, dateTime, toast } from '/shared/ui.js';
import { head, card, pagedTable, showApiError, confirmDialog, secretDialog, badge } from './common.js';

export const apiKeys = {
  id: 'api-keys',
  title: 'API-ключи',
  group: 'Партнёр',
  roles: ['admin', 'owner'],
  needsBusiness: true,
  async render(ctx) {
    const biz = ctx.business;
    const base = `/admin/businesses/${biz.id}/api-keys`;
    const list = pagedTable({
      caption: `API-ключи партнёра «${biz.name}»`,
      headers: ['Название', 'Начало ключа', 'Создан', 'Состояние', 'Действия'],
      emptyText: 'Ключей пока нет.',
      fetchPage: (cursor) => ctx.api.get(base, { limit: 50, cursor }),
      row: (k) => {
        let action = '—';
        if (!k.revoked_at) {
          action = h('button', { type: 'button', class: 'danger small', 'aria-label': `Отозвать ключ ${k.prefix}` }, 'Отозвать');
          action.addEventListener('click', () => guarded(action, async () => {
            const ok = await confirmDialog('Отозвать ключ?', `Системы, которые используют ключ ${k.prefix}…, сразу перестанут работать. Отменить это нельзя.`, 'Отозвать');
            if (!ok) return;
            try {
              await ctx.api.del(`${base}/${k.id}`);
              toast('Ключ отозван.', 'ok');
              ctx.refresh();
            } catch (e) {
              toast(e.message, 'error');
            }
          }));
        }
        return [k.name || 'Без названия', h('code', {}, `${k.prefix}…`), dateTime(k.created_at), k.revoked_at ? badge(`Отозван ${dateTime(k.revoked_at)}`, 'bad') : badge('Действует', 'ok'), action];
      },
    });

    const name = field('Название ключа', { name: 'name', maxlength: 100, placeholder: 'Например, касса в зале' }, 'Необязательно: чтобы отличать ключи друг от друга.');
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Создать ключ');
    const form = h('form', { novalidate: true }, name, submit);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      guarded(submit, async () => {
        clearErrors(form);
        const body = {};
        if (name.input.value.trim()) body.name = name.input.value.trim();
        try {
          const k = await ctx.api.post(base, body);
          await secretDialog('Новый API-ключ', k.api_key, 'ключ показывается только один раз. Скопируйте его и сохраните в надёжном месте — потом увидеть его снова будет нельзя, только отозвать и создать новый.');
          ctx.refresh();
        } catch (e) {
          showApiError(form, e);
        }
      });
    });

    return h(
      'div',
      {},
      head(`API-ключи · ${biz.name}`),
      card('Новый ключ', h('p', { class: 'muted' }, 'Ключ подключает кассу или учётную систему партнёра: заголовок Authorization: Bearer <ключ>. Он работает только для этого партнёра.'), form),
      card('Ключи', list),
    );
  },
};
