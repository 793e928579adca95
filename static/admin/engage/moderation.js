// «Модерация»: the reviews queue by status, each review with the flags the
// auto-moderation raised, published or rejected (with a reason) by an admin.

import { h, mount, dateTime, toast, field, guarded, showError, clearErrors, pagedList } from '/shared/ui.js';
import { section, filterButtons, businessName } from './common.js';

const STATUSES = [
  ['pending', 'На проверке'],
  ['published', 'Опубликованные'],
  ['rejected', 'Отклонённые'],
];

const FLAGS = {
  link: 'ссылка',
  phone: 'номер телефона',
  email: 'e-mail',
  profanity: 'нецензурная лексика',
  shouting: 'текст капслоком',
  burst: 'всплеск отзывов',
};

const TARGETS = { business: 'о партнёре', product: 'о товаре', event: 'о событии' };

export async function render(ctx, rest) {
  let status = STATUSES.some(([s]) => s === rest) ? rest : 'pending';
  const listBox = h('div');
  const show = () =>
    mount(
      listBox,
      pagedList({
        fetchPage: (cursor) => ctx.api.get('/admin/reviews', { status, cursor, limit: 20 }),
        render: (r) => reviewCard(ctx, r),
        emptyText: status === 'pending' ? 'Очередь пуста: все отзывы проверены.' : 'Таких отзывов нет.',
      }),
    );
  show();
  return section(
    'moderation',
    'Модерация отзывов',
    h('p', { class: 'muted' }, 'Отзывы со ссылками, телефонами, e-mail, грубостью или капслоком ждут решения здесь.'),
    filterButtons('Статус отзывов', STATUSES, status, (s) => {
      status = s;
      show();
    }),
    listBox,
  );
}

function reviewCard(ctx, r) {
  const li = h('li', { class: 'card review' });
  const actions = h('div', { class: 'row' });
  const reasonForm = h('form', { class: 'reject-form', novalidate: true, hidden: true });
  const reason = field('Причина отклонения', { name: 'reason', tag: 'textarea', maxlength: '500', required: true });
  const sendReject = h('button', { type: 'submit', class: 'danger' }, 'Отклонить отзыв');
  reasonForm.append(reason, h('div', { class: 'row' }, sendReject, h('button', { type: 'button', onclick: () => (reasonForm.hidden = true) }, 'Отмена')));

  const decide = (decision, button, body) =>
    guarded(button, async () => {
      clearErrors(reasonForm);
      try {
        await ctx.api.post(`/admin/reviews/${r.id}/decision`, { decision, ...body });
        toast(decision === 'publish' ? 'Отзыв опубликован.' : 'Отзыв отклонён.', 'ok');
        mount(li, h('p', { class: 'muted' }, decision === 'publish' ? `Отзыв «${short(r.text)}» опубликован.` : `Отзыв «${short(r.text)}» отклонён.`));
      } catch (e) {
        if (decision === 'reject') showError(reasonForm, e);
        else toast(e.message, 'error');
      }
    });

  if (r.status !== 'published') {
    const publish = h('button', { type: 'button', class: 'primary' }, 'Опубликовать');
    publish.addEventListener('click', () => decide('publish', publish));
    actions.append(publish);
  }
  if (r.status !== 'rejected') {
    actions.append(
      h('button', {
        type: 'button',
        class: 'danger',
        onclick: () => {
          reasonForm.hidden = false;
          reason.input.focus();
        },
      }, 'Отклонить'),
    );
  }
  reasonForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors(reasonForm);
    const text = reason.input.value.trim();
    if (!text) return showError(reasonForm, { message: 'Напишите причину: её увидит автор.' }, 'reason');
    decide('reject', sendReject, { reason: text });
  });

  const target = `${TARGETS[r.target.type] || ''} ${r.target.type === 'product' && r.target.sku ? `«${r.target.sku}» ` : ''}${businessName(ctx, r.target.business_id)}`;
  mount(li, 
    h('div', { class: 'spread' }, h('strong', {}, r.author.name), h('span', { class: 'badge', 'aria-label': `Оценка ${r.rating} из 5` }, `${'★'.repeat(r.rating)}${'☆'.repeat(5 - r.rating)} ${r.rating}/5`)),
    h('p', { class: 'muted' }, `Отзыв ${target} · ${dateTime(r.created_at)}`),
    h('p', { class: 'review-text' }, r.text || 'Без текста'),
    r.flags && r.flags.length
      ? h('p', { class: 'row' }, h('span', {}, 'Нарушения:'), r.flags.map((f) => h('span', { class: 'badge warn' }, `⚠ ${FLAGS[f] || f}`)))
      : null,
    r.decision_reason ? h('p', {}, h('strong', {}, 'Причина: '), r.decision_reason) : null,
    actions,
    reasonForm,
  );
  return li;
}

const short = (text) => {
  const t = String(text || '').trim();
  return t.length > 40 ? `${t.slice(0, 40)}…` : t || 'без текста';
};
