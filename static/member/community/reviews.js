// Reviews: writing a verified review of a purchase (#/reviews/new?purchase=&
// business=) and «Мои отзывы» (#/reviews) with status badges, editing within
// 48 hours and withdrawing.

import { h, mount, money, date, dateTime, toast, field, showError, clearErrors, guarded, pagedList, empty, points } from '/shared/ui.js';
import { screen, hashQuery, badge, confirmDialog, starRating, recentPurchases, counter } from './common.js';

const MAX_TEXT = 2000;
const STATUS = {
  published: ['Опубликован', 'ok'],
  pending: ['На модерации', 'warn'],
  rejected: ['Отклонён', 'bad'],
  withdrawn: ['Отозван', null],
};
const statusBadge = (s) => badge(...(STATUS[s] || [s, null]));

/** The rating + text fields of a review form, pre-filled for an edit. */
function reviewFields(initial = {}) {
  const stars = starRating('Оценка', initial.rating || 0);
  const text = field('Отзыв (необязательно)', { tag: 'textarea', name: 'text', maxlength: String(MAX_TEXT), rows: '5' }, 'Расскажите, что понравилось и что можно улучшить. Ссылки, телефоны и адреса почты отправят отзыв на модерацию.');
  if (initial.text) text.input.value = initial.text;
  text.append(counter(text.input, MAX_TEXT));
  return { stars, text };
}

/** Reads and checks the fields; shows the first problem and returns null. */
function readFields(form, { stars, text }) {
  clearErrors(form);
  const rating = stars.value;
  if (!rating) {
    const err = stars.querySelector('.field-error');
    err.textContent = 'Выберите оценку от 1 до 5 звёзд.';
    err.hidden = false;
    stars.querySelector('input').focus();
    return null;
  }
  const t = text.input.value.trim();
  if (t.length > MAX_TEXT) {
    showError(form, { message: `Не больше ${MAX_TEXT} символов.` }, 'text');
    return null;
  }
  return { rating, text: t };
}

/** Shows the API's error: a bad rating goes next to the stars. */
function showReviewError(form, stars, e) {
  if (e.field === 'rating') {
    const err = stars.querySelector('.field-error');
    err.textContent = e.message;
    err.hidden = false;
  } else showError(form, e);
}

function resultBox(review) {
  if (review.status === 'published') {
    return h(
      'div',
      { class: 'card c-result ok', role: 'status' },
      h('h2', {}, 'Спасибо! Отзыв опубликован'),
      review.reward_points > 0 ? h('p', {}, `Начислено ${points(review.reward_points)} за отзыв.`) : null,
      h('p', {}, h('a', { href: '#/reviews' }, 'Мои отзывы')),
    );
  }
  return h(
    'div',
    { class: 'card c-result warn', role: 'status' },
    h('h2', {}, 'Отзыв отправлен на модерацию'),
    h('p', {}, 'Мы проверим его и опубликуем, обычно в течение суток. Статус виден в разделе «Мои отзывы».'),
    h('p', {}, h('a', { href: '#/reviews' }, 'Мои отзывы')),
  );
}

/** #/reviews/new?purchase=<id>&business=<id> */
export function newReviewView(match, ctx) {
  const q = hashQuery(match[1]);
  const purchaseId = q.get('purchase');
  let businessId = q.get('business');
  return screen(ctx, {
    title: 'Новый отзыв',
    flag: 'reviews',
    back: ['#/reviews', 'Мои отзывы'],
    async load(body) {
      const purchases = await recentPurchases(ctx.api);
      if (!purchaseId) {
        // No purchase named: offer the reviewable ones.
        const open = purchases.filter((p) => p.reviewable);
        mount(
          body,
          h('p', {}, 'Отзыв можно оставить о покупке у партнёра клуба за последние 180 дней.'),
          open.length
            ? h(
                'ul',
                { class: 'list' },
                open.map((p) =>
                  h('li', {}, h('a', { href: `#/reviews/new?purchase=${encodeURIComponent(p.id)}&business=${encodeURIComponent(p.business_id)}` }, `${p.business_name} — ${money(p.amount)}, ${date(p.paid_at)}`)),
                ),
              )
            : empty('Пока нет покупок, о которых можно написать отзыв.'),
        );
        return;
      }
      const purchase = purchases.find((p) => p.id === purchaseId);
      if (purchase && !businessId) businessId = purchase.business_id;
      if (purchase && !purchase.reviewable) {
        mount(body, h('div', { class: 'card' }, h('p', {}, 'Об этой покупке отзыв уже оставлен или срок для отзыва прошёл.'), h('p', {}, h('a', { href: '#/reviews' }, 'Мои отзывы'))));
        return;
      }
      const fields = reviewFields();
      const send = h('button', { type: 'submit', class: 'primary block' }, 'Опубликовать отзыв');
      const form = h('form', { class: 'card', novalidate: true }, fields.stars, fields.text, send);
      const out = h('div');
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const v = readFields(form, fields);
        if (!v) return;
        guarded(send, async () => {
          try {
            const body = { target: { type: 'business', business_id: businessId }, purchase_id: purchaseId, rating: v.rating };
            if (v.text) body.text = v.text;
            const review = await ctx.api.post('/reviews', body);
            form.remove();
            mount(out, resultBox(review));
            out.querySelector('h2').setAttribute('tabindex', '-1');
            out.querySelector('h2').focus();
          } catch (e) {
            showReviewError(form, fields.stars, e);
          }
        });
      });
      mount(
        body,
        purchase
          ? h('div', { class: 'card c-about' }, h('p', { class: 'muted' }, 'Покупка'), h('p', {}, h('strong', {}, purchase.business_name)), h('p', {}, `${money(purchase.amount)} · ${date(purchase.paid_at)}`))
          : null,
        form,
        out,
      );
    },
  });
}

/** One of the member's reviews with its actions. */
function reviewItem(review, ctx, names, refresh) {
  const li = h('li', { class: 'card c-review' });
  const render = () => {
    const canEdit = (review.status === 'published' || review.status === 'pending') && new Date(review.editable_until) > new Date();
    const edit = h('button', { type: 'button' }, 'Изменить');
    const withdraw = h('button', { type: 'button', class: 'danger' }, 'Отозвать');
    edit.addEventListener('click', () => editForm());
    withdraw.addEventListener('click', () =>
      guarded(withdraw, async () => {
        if (!(await confirmDialog('Отозвать отзыв?', 'Да, отозвать', 'Не отзывать', 'Отзыв исчезнет из публичных, а баллы за него будут списаны.'))) return;
        try {
          await ctx.api.del(`/reviews/${review.id}`);
          review.status = 'withdrawn';
          toast('Отзыв отозван', 'ok');
          render();
        } catch (e) {
          toast(e.message, 'error');
        }
      }),
    );
    const name = (review.target && names.get(review.target.business_id)) || 'Партнёр клуба';
    mount(
      li,
      h('div', { class: 'spread' }, h('h2', { class: 'c-h' }, name), statusBadge(review.status)),
      h('p', { class: 'c-stars-static' }, h('span', { 'aria-hidden': 'true' }, '★'.repeat(review.rating) + '☆'.repeat(5 - review.rating)), ` Оценка ${review.rating} из 5`),
      review.text ? h('p', { class: 'c-text' }, review.text) : h('p', { class: 'muted' }, 'Без текста'),
      h('p', { class: 'muted' }, `Написан ${dateTime(review.created_at)}`),
      review.status === 'rejected' && review.decision_reason ? h('p', {}, `Причина отклонения: ${review.decision_reason}`) : null,
      review.reply ? h('div', { class: 'c-reply' }, h('p', { class: 'muted' }, 'Ответ партнёра'), h('p', {}, review.reply.text)) : null,
      canEdit
        ? h('div', { class: 'row' }, edit, withdraw, h('small', { class: 'muted' }, `Изменить можно до ${dateTime(review.editable_until)}`))
        : review.status !== 'withdrawn'
          ? h('div', { class: 'row' }, withdraw)
          : null,
    );
  };
  const editForm = () => {
    const fields = reviewFields(review);
    const save = h('button', { type: 'submit', class: 'primary' }, 'Сохранить');
    const cancel = h('button', { type: 'button', onclick: render }, 'Отмена');
    const form = h('form', { novalidate: true }, h('h2', { class: 'c-h' }, 'Изменить отзыв'), fields.stars, fields.text, h('div', { class: 'row' }, save, cancel));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = readFields(form, fields);
      if (!v) return;
      guarded(save, async () => {
        try {
          const updated = await ctx.api.patch(`/reviews/${review.id}`, { rating: v.rating, text: v.text });
          Object.assign(review, updated);
          toast(updated.status === 'pending' ? 'Изменения сохранены, отзыв на модерации' : 'Отзыв обновлён', 'ok');
          render();
        } catch (e) {
          showReviewError(form, fields.stars, e);
        }
      });
    });
    mount(li, form);
    fields.stars.querySelector('input:checked, input').focus();
  };
  render();
  return li;
}

/** #/reviews — «Мои отзывы» */
export function myReviewsView(match, ctx) {
  return screen(ctx, {
    title: 'Мои отзывы',
    flag: 'reviews',
    back: ['#/more', 'Ещё'],
    async load(body) {
      const purchases = await recentPurchases(ctx.api);
      const names = new Map(purchases.map((p) => [p.business_id, p.business_name]));
      const reviewable = purchases.filter((p) => p.reviewable);
      mount(
        body,
        reviewable.length ? h('p', {}, h('a', { class: 'button', href: '#/reviews/new' }, 'Написать отзыв о покупке')) : null,
        pagedList({
          fetchPage: (cursor) => ctx.api.get('/reviews/mine', { cursor, limit: 20 }),
          render: (r) => reviewItem(r, ctx, names),
          emptyText: 'Вы ещё не писали отзывов. Их можно оставить из истории покупок.',
          className: 'c-cards',
        }),
      );
    },
  });
}
