// Preorders: upcoming items (#/preorders), one item with its tiers and the
// «Оформить предзаказ» form (#/preorders/items/<id>), and one of the member's
// preorders with upgrade and cancel by the refund policy (#/preorders/<id>).
// «Мои предзаказы» lists the member's own from the API.

import { h, mount, money, points, date, dateTime, toast, field, showError, clearErrors, guarded, pagedList, parseRubles } from '/shared/ui.js';
import { screen, badge, confirmDialog } from './common.js';

const STATUS = {
  pending_payment: ['Ждёт оплаты', 'warn'],
  confirmed: ['Оплачен', 'ok'],
  early_access_active: ['Ранний доступ открыт', 'ok'],
  fulfilled: ['Получен', 'ok'],
  cancelled: ['Отменён', null],
  refunded: ['Возвращён', null],
};
const statusBadge = (s) => badge(...(STATUS[s] || [s, null]));
const BONUS = { points: 'баллы', coupon: 'купон', activation_code: 'код активации', gift: 'подарок' };
const DELIVERY = { automatic: 'начисляется автоматически', activation_code: 'по коду активации', pickup: 'при получении' };
const TERM = { full: 'полный возврат', partial: 'частичный возврат', none: 'без возврата', unpaid: 'не был оплачен' };

function bonusText(b) {
  const what = b.type === 'points' ? points(Number(b.value)) : b.type === 'coupon' ? `купон на +${b.value} % баллов` : `${BONUS[b.type] || b.type}: ${b.value}`;
  return `${what} (${DELIVERY[b.delivery] || b.delivery})`;
}

const remainingText = (t) => (t.remaining === null ? 'Без ограничения количества' : t.remaining > 0 ? `Осталось: ${t.remaining} из ${t.max_quantity}` : 'Распродано');

/** What cancelling now would return, by the item's policy. */
function policyNow(item) {
  const now = new Date();
  if (now >= new Date(item.cancellation_deadline)) return 'Отменить предзаказ уже нельзя — срок отмены прошёл.';
  const p = item.refund_policy;
  if (now < new Date(p.full_until)) return `Сейчас отмена вернёт всю сумму (до ${dateTime(p.full_until)}).`;
  if (now < new Date(p.none_after)) return `Сейчас отмена вернёт ${p.partial_percent} % суммы и баллов (до ${dateTime(p.none_after)}).`;
  return 'Сейчас отмена возможна, но без возврата денег.';
}

function policyText(item) {
  const p = item.refund_policy;
  return `Полный возврат до ${dateTime(p.full_until)}, затем ${p.partial_percent} % до ${dateTime(p.none_after)}, после — без возврата. Отменить можно до ${dateTime(item.cancellation_deadline)}.`;
}

function itemCard(item) {
  const onSale = item.tiers.filter((t) => t.on_sale);
  const from = onSale.length ? Math.min(...onSale.map((t) => t.final_price)) : null;
  return h(
    'li',
    { class: 'card' },
    h('h2', { class: 'c-h' }, h('a', { href: `#/preorders/items/${item.id}` }, item.title)),
    item.description ? h('p', {}, item.description) : null,
    h('p', { class: 'muted' }, `Выход: ${date(item.release_at)}`),
    h('p', {}, from !== null ? `от ${money(from)}` : badge('Сейчас не продаётся', 'warn')),
  );
}

/** The member's own preorders (`GET /preorders`), with the item's title. */
function myPreordersBox(ctx) {
  const titles = new Map();
  const titleOf = (itemId) => {
    if (!titles.has(itemId)) titles.set(itemId, ctx.api.get(`/preorders/items/${itemId}`).then((i) => i.title, () => 'Предзаказ'));
    return titles.get(itemId);
  };
  const render = (p) => {
    const link = h('a', { href: `#/preorders/${p.id}` }, `${p.order_ref} · ${money(p.price)}`);
    titleOf(p.item_id).then((title) => link.replaceChildren(`${title} · ${money(p.price)}`));
    return h('li', {}, h('div', { class: 'spread' }, link, statusBadge(p.status)), h('small', { class: 'muted' }, `Оформлен ${dateTime(p.created_at)}`));
  };
  return h(
    'div',
    { class: 'card' },
    h('h2', {}, 'Мои предзаказы'),
    pagedList({
      fetchPage: (cursor) => ctx.api.get('/preorders', { cursor, limit: 20 }),
      render,
      emptyText: 'Вы ещё ничего не заказывали.',
    }),
  );
}

/** #/preorders */
export function preordersView(match, ctx) {
  return screen(ctx, {
    title: 'Предзаказы',
    flag: 'preorders',
    back: ['#/more', 'Ещё'],
    async load(body) {
      mount(
        body,
        h('p', { class: 'muted' }, 'Новинки партнёров до выхода — со скидкой и бонусами для участниц клуба.'),
        myPreordersBox(ctx),
        pagedList({
          fetchPage: (cursor) => ctx.api.get('/preorders/items', { cursor, limit: 20 }),
          render: itemCard,
          emptyText: 'Сейчас нет открытых предзаказов.',
          className: 'c-cards',
        }),
      );
    },
  });
}

function tierCard(t) {
  return h(
    'div',
    { class: 'c-tier-info' },
    h('p', {}, t.discount_percent > 0 ? h('s', { class: 'muted' }, money(t.base_price)) : null, ' ', h('strong', { class: 'c-price' }, money(t.final_price)), t.discount_percent > 0 ? ` · скидка ${t.discount_percent} %` : null),
    h('p', { class: 'muted' }, remainingText(t), t.early_access_days > 0 ? ` · ранний доступ за ${t.early_access_days} дн. до выхода` : null),
    h('p', { class: 'muted' }, `В продаже ${date(t.available_from)} — ${date(t.available_until)}`),
    t.bonuses.length ? h('ul', { class: 'c-bonuses' }, t.bonuses.map((b) => h('li', {}, bonusText(b)))) : null,
  );
}

function preorderResult(p) {
  return h(
    'div',
    { class: `card c-result ${p.status === 'pending_payment' ? 'warn' : 'ok'}`, role: 'status' },
    h('h2', { tabindex: '-1' }, p.status === 'pending_payment' ? 'Предзаказ оформлен — осталось оплатить' : 'Предзаказ оформлен и оплачен'),
    h('dl', { class: 'c-dl' }, h('dt', {}, 'Номер заказа'), h('dd', {}, h('code', {}, p.order_ref)), h('dt', {}, 'К оплате'), h('dd', {}, money(p.total)), p.points_used ? [h('dt', {}, 'Баллами'), h('dd', {}, points(p.points_used))] : null, h('dt', {}, 'Статус'), h('dd', {}, statusBadge(p.status))),
    p.status === 'pending_payment' ? h('p', {}, `Оплатите ${money(p.total)} у партнёра с номером заказа ${p.order_ref} до ${dateTime(p.hold_expires_at)} — иначе бронь снимется.`) : null,
    h('p', {}, h('a', { href: `#/preorders/${p.id}` }, 'Открыть предзаказ')),
  );
}

/** #/preorders/items/<id> */
export function preorderItemView(match, ctx) {
  const id = match[1];
  return screen(ctx, {
    title: 'Предзаказ',
    flag: 'preorders',
    back: ['#/preorders', 'Все предзаказы'],
    async load(body, section) {
      const [item, wallet] = await Promise.all([ctx.api.get(`/preorders/items/${id}`), ctx.api.get('/wallet').catch(() => null)]);
      section.setTitle(item.title);
      const buyable = item.tiers.filter((t) => t.on_sale && t.remaining !== 0);
      const tiers = h(
        'fieldset',
        { class: 'c-tiers' },
        h('legend', {}, 'Вариант'),
        item.tiers.map((t, i) => {
          const ok = t.on_sale && t.remaining !== 0;
          const tid = `tier-${t.id}`;
          return h(
            'div',
            { class: `c-tier${ok ? '' : ' off'}` },
            h('input', { type: 'radio', name: 'tier_id', id: tid, value: t.id, disabled: !ok, checked: ok && t.id === buyable[0]?.id, 'aria-describedby': `${tid}-info` }),
            h('label', { for: tid }, t.name, ok ? null : h('span', { class: 'muted' }, t.remaining === 0 ? ' — распродано' : ' — сейчас не продаётся')),
            h('div', { id: `${tid}-info` }, tierCard(t)),
          );
        }),
        h('p', { id: 'tier_id-error', class: 'field-error', hidden: true, role: 'alert' }),
      );
      const avail = wallet ? wallet.balance.available : 0;
      const pts = field('Оплатить баллами (необязательно)', { name: 'points', inputmode: 'decimal' }, `Доступно ${points(avail)}. 1 балл = 1 ₽.`);
      const send = h('button', { type: 'submit', class: 'primary block' }, 'Оформить предзаказ');
      const out = h('div');
      const form = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Оформить'), tiers, avail > 0 ? pts : null, send);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        clearErrors(form);
        const chosen = form.querySelector('input[name="tier_id"]:checked');
        if (!chosen) {
          const box = form.querySelector('#tier_id-error');
          box.textContent = 'Выберите вариант.';
          box.hidden = false;
          return;
        }
        const payload = { tier_id: chosen.value };
        if (avail > 0 && pts.input.value.trim()) {
          const kop = parseRubles(pts.input.value);
          if (kop === null) return showError(form, { message: 'Введите число баллов, например 100.' }, 'points');
          if (kop > avail) return showError(form, { message: `Доступно только ${points(avail)}.` }, 'points');
          if (kop > 0) payload.points = kop;
        }
        guarded(send, async () => {
          try {
            const p = await ctx.api.post('/preorders', payload);
            mount(out, preorderResult(p));
            out.querySelector('h2').focus();
          } catch (err) {
            if (err.field === 'tier_id' || err.code === 'TIER_SOLD_OUT' || err.code === 'TIER_NOT_FOUND') {
              const box = form.querySelector('#tier_id-error');
              box.textContent = err.message;
              box.hidden = false;
            } else showError(form, err);
          }
        });
      });
      mount(
        body,
        h(
          'div',
          { class: 'card' },
          item.description ? h('p', { class: 'c-text' }, item.description) : null,
          h('p', {}, `Выход: ${dateTime(item.release_at)}`),
          h('p', { class: 'muted' }, policyText(item)),
          item.per_member_limit > 1 ? h('p', { class: 'muted' }, `Не больше ${item.per_member_limit} предзаказов на участницу.`) : null,
        ),
        buyable.length ? form : h('p', { class: 'card' }, 'Сейчас ни один вариант не продаётся.'),
        out,
      );
    },
  });
}

/** #/preorders/<id> */
export function preorderView(match, ctx) {
  const id = match[1];
  return screen(ctx, {
    title: 'Мой предзаказ',
    flag: 'preorders',
    back: ['#/preorders', 'Предзаказы'],
    async load(body, section) {
      const p = await ctx.api.get(`/preorders/${id}`);
      const item = await ctx.api.get(`/preorders/items/${p.item_id}`).catch(() => null);
      const tier = item && item.tiers.find((t) => t.id === p.tier_id);
      if (item) section.setTitle(item.title);
      const live = !['cancelled', 'refunded', 'fulfilled'].includes(p.status);
      const paid = p.status === 'confirmed' || p.status === 'early_access_active';
      const parts = [
        h(
          'div',
          { class: 'card' },
          h('div', { class: 'spread' }, h('h2', { class: 'c-h' }, tier ? tier.name : 'Предзаказ'), statusBadge(p.status)),
          h(
            'dl',
            { class: 'c-dl' },
            h('dt', {}, 'Номер заказа'),
            h('dd', {}, h('code', {}, p.order_ref)),
            h('dt', {}, 'Цена'),
            h('dd', {}, money(p.price)),
            h('dt', {}, 'Деньгами'),
            h('dd', {}, money(p.total)),
            p.points_used ? [h('dt', {}, 'Баллами'), h('dd', {}, points(p.points_used))] : null,
            h('dt', {}, 'Оформлен'),
            h('dd', {}, dateTime(p.created_at)),
          ),
          p.status === 'pending_payment' ? h('p', {}, `Оплатите ${money(p.total)} с номером заказа ${p.order_ref} до ${dateTime(p.hold_expires_at)}.`) : null,
          p.refund
            ? h('p', {}, p.refund.term === 'unpaid' ? 'Предзаказ отменён до оплаты, бронь снята.' : `Отмена: ${TERM[p.refund.term] || p.refund.term}. Вернётся ${money(p.refund.amount)}${p.refund.points_returned ? ` и ${points(p.refund.points_returned)}` : ''}.`)
            : null,
        ),
      ];
      if (p.bonuses.length) {
        parts.push(h('div', { class: 'card' }, h('h2', {}, 'Бонусы'), h('ul', {}, p.bonuses.map((b) => h('li', {}, bonusText(b), b.code ? [' — код ', h('code', {}, b.code)] : null)))));
      }
      if (p.pending_upgrade) {
        const u = p.pending_upgrade;
        parts.push(h('div', { class: 'card c-result warn' }, h('h2', {}, 'Повышение варианта ждёт оплаты'), h('p', {}, `Доплата ${money(u.amount)} с номером заказа ${u.order_ref} до ${dateTime(u.hold_expires_at)}.`)));
      }
      // Upgrade: only paid, unfulfilled preorders, to a dearer tier on sale.
      if (paid && !p.pending_upgrade && item) {
        const dearer = item.tiers.filter((t) => t.on_sale && t.remaining !== 0 && t.final_price > p.price && t.id !== p.tier_id);
        if (dearer.length) {
          const sel = field('Новый вариант', { tag: 'select', name: 'tier_id', options: dearer.map((t) => [t.id, `${t.name} — ${money(t.final_price)} (доплата ${money(t.final_price - p.price)})`]) });
          const go = h('button', { type: 'submit', class: 'primary' }, 'Повысить вариант');
          const form = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Повысить вариант'), sel, go);
          form.addEventListener('submit', (e) => {
            e.preventDefault();
            clearErrors(form);
            guarded(go, async () => {
              try {
                const u = await ctx.api.post(`/preorders/${p.id}/upgrade`, { tier_id: sel.input.value });
                toast(`Доплатите ${money(u.amount)} с номером ${u.order_ref}`, 'ok');
                await section.reload();
                section.focusOn('.c-result h2');
              } catch (err) {
                showError(form, err);
              }
            });
          });
          parts.push(form);
        }
      }
      if (live && item && new Date() < new Date(item.cancellation_deadline)) {
        const cancel = h('button', { type: 'button', class: 'danger' }, 'Отменить предзаказ');
        cancel.addEventListener('click', () =>
          guarded(cancel, async () => {
            if (!(await confirmDialog('Отменить предзаказ?', 'Да, отменить', 'Оставить', paid ? policyNow(item) : 'Бронь снимется.'))) return;
            try {
              const r = await ctx.api.post(`/preorders/${p.id}/cancel`);
              toast('Предзаказ отменён', 'ok');
              await section.reload();
              section.focusOn('.c-body h2');
            } catch (err) {
              toast(err.message, 'error');
            }
          }),
        );
        parts.push(h('div', { class: 'card' }, h('h2', {}, 'Отмена'), h('p', {}, paid ? policyNow(item) : 'Неоплаченный предзаказ можно отменить без последствий.'), cancel));
      } else if (live && item) {
        parts.push(h('p', { class: 'card muted' }, 'Срок отмены прошёл.'));
      }
      mount(body, parts);
    },
  });
}
