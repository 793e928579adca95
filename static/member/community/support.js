// Support: FAQ search, a new ticket and the member's tickets (#/support), one
// ticket with its messages, a reply form and close/reopen (#/support/<id>),
// and a dispute about a purchase (#/support/dispute?purchase=<id>).

import { h, mount, money, date, dateTime, toast, field, showError, clearErrors, guarded, pagedList, loading, empty, failed, parseRubles } from '/shared/ui.js';
import { screen, hashQuery, badge, confirmDialog, recentPurchases, partnersOf, counter } from './common.js';
import { track } from '../telemetry.js';

const STATUS = { open: ['Открыто', 'warn'], in_progress: ['В работе', 'warn'], resolved: ['Решено', 'ok'], closed: ['Закрыто', null] };
const PRIORITY = { low: 'Низкий', normal: 'Обычный', high: 'Высокий', urgent: 'Срочный' };
const AUTHOR = { member: 'Вы', staff: 'Поддержка', admin: 'Поддержка клуба', system: 'Система' };
const statusBadge = (s) => badge(...(STATUS[s] || [s, null]));
const DISPUTE = { compensation: 'компенсация', refund: 'возврат денег', redo: 'переделать' };
// Tickets opened with a dispute get an English subject from the API.
const subjectText = (s) => {
  const m = /^Dispute: (\w+)$/.exec(s || '');
  return m ? `Спор по покупке: ${DISPUTE[m[1]] || m[1]}` : s;
};
const isDispute = (s) => /^Dispute: /.test(s || '');

function faqBox(ctx) {
  const q = field('Поиск по частым вопросам', { type: 'search', name: 'q', maxlength: '200' });
  const go = h('button', { type: 'submit' }, 'Найти');
  const out = h('div');
  const form = h('form', { role: 'search', class: 'c-search' }, q, go);
  async function search() {
    mount(out, loading('Ищем…'));
    try {
      const res = await ctx.api.get('/faq', { q: q.input.value.trim() });
      mount(
        out,
        res.items.length
          ? h('div', { class: 'c-faq' }, res.items.map((f) => h('details', {}, h('summary', {}, f.question), h('p', { class: 'c-text' }, f.answer))))
          : empty(q.input.value.trim() ? 'Ничего не нашлось. Напишите нам — ответим.' : 'Частых вопросов пока нет.'),
      );
    } catch (e) {
      mount(out, failed(e, search));
    }
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(go, () => {
      // How long the query was, never what it said.
      track('search', { length: q.input.value.trim().length });
      return search();
    });
  });
  search();
  return h('div', { class: 'card' }, h('h2', {}, 'Частые вопросы'), form, out);
}

function newTicketForm(ctx, partners, onCreated) {
  const subject = field('Тема', { name: 'subject', maxlength: '200', required: true });
  const text = field('Сообщение', { tag: 'textarea', name: 'body', maxlength: '10000', rows: '4', required: true });
  const biz = field('Партнёр (необязательно)', { tag: 'select', name: 'business_id', options: [['', 'Вопрос к клубу'], ...partners] });
  const prio = field('Срочность', { tag: 'select', name: 'priority', options: [['normal', 'Обычная'], ['low', 'Не срочно'], ['high', 'Высокая'], ['urgent', 'Срочно']] });
  const send = h('button', { type: 'submit', class: 'primary block' }, 'Отправить обращение');
  const form = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Новое обращение'), subject, text, biz, prio, send);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const s = subject.input.value.trim();
    const b = text.input.value.trim();
    if (!s) return showError(form, { message: 'Укажите тему обращения.' }, 'subject');
    if (s.includes('\n')) return showError(form, { message: 'Тема — одна строка.' }, 'subject');
    if (!b) return showError(form, { message: 'Опишите, что случилось.' }, 'body');
    const payload = { subject: s, body: b, priority: prio.input.value };
    if (biz.input.value) payload.business_id = biz.input.value;
    guarded(send, async () => {
      try {
        const t = await ctx.api.post('/support/tickets', payload);
        toast('Обращение отправлено', 'ok');
        onCreated(t);
      } catch (err) {
        showError(form, err);
      }
    });
  });
  return form;
}

function ticketItem(t) {
  return h(
    'li',
    {},
    h('div', { class: 'spread' }, h('a', { href: `#/support/${t.id}` }, subjectText(t.subject)), statusBadge(t.status)),
    h('small', { class: 'muted' }, `${dateTime(t.created_at)} · приоритет: ${PRIORITY[t.priority] || t.priority}`),
  );
}

/** #/support */
export function supportView(match, ctx) {
  return screen(ctx, {
    title: 'Поддержка',
    flag: 'support',
    back: ['#/more', 'Ещё'],
    async load(body) {
      const purchases = await recentPurchases(ctx.api);
      const list = h('div');
      const showList = () =>
        mount(
          list,
          pagedList({
            fetchPage: (cursor) => ctx.api.get('/support/tickets', { cursor, limit: 20 }),
            render: ticketItem,
            emptyText: 'Обращений пока нет.',
          }),
        );
      mount(
        body,
        faqBox(ctx),
        newTicketForm(ctx, partnersOf(purchases), (t) => ctx.navigate(`#/support/${t.id}`)),
        h('div', { class: 'card' }, h('h2', {}, 'Мои обращения'), list),
        purchases.length ? h('p', {}, 'Проблема с покупкой? ', h('a', { href: '#/support/dispute' }, 'Открыть спор по покупке')) : null,
      );
      showList();
    },
  });
}

/** #/support/<id> */
export function ticketView(match, ctx) {
  const id = match[1];
  return screen(ctx, {
    title: 'Обращение',
    flag: 'support',
    back: ['#/support', 'Поддержка'],
    async load(body, section) {
      const t = await ctx.api.get(`/support/tickets/${id}`);
      section.setTitle(subjectText(t.subject));
      const closed = t.status === 'closed';
      const reply = field('Ваш ответ', { tag: 'textarea', name: 'body', maxlength: '10000', rows: '3', required: true });
      const send = h('button', { type: 'submit', class: 'primary' }, 'Отправить');
      const form = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Написать'), reply, send);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        clearErrors(form);
        const b = reply.input.value.trim();
        if (!b) return showError(form, { message: 'Напишите сообщение.' }, 'body');
        guarded(send, async () => {
          try {
            await ctx.api.post(`/support/tickets/${id}/messages`, { body: b });
            toast('Сообщение отправлено', 'ok');
            await section.reload();
            section.focusOn('textarea[name="body"]');
          } catch (err) {
            showError(form, err);
          }
        });
      });
      const status = (to, label, question) => {
        const b = h('button', { type: 'button', class: to === 'closed' ? 'danger' : '' }, label);
        b.addEventListener('click', () =>
          guarded(b, async () => {
            if (question && !(await confirmDialog(question, label, 'Отмена'))) return;
            try {
              await ctx.api.patch(`/support/tickets/${id}`, { status: to });
              toast(to === 'closed' ? 'Обращение закрыто' : 'Обращение открыто снова', 'ok');
              await section.reload();
              section.focusOn('.c-body button');
            } catch (err) {
              toast(err.message, 'error');
            }
          }),
        );
        return b;
      };
      mount(
        body,
        h(
          'div',
          { class: 'card' },
          h('div', { class: 'row' }, statusBadge(t.status), h('span', { class: 'muted' }, `Приоритет: ${PRIORITY[t.priority] || t.priority}`)),
          h('p', { class: 'muted' }, `Создано ${dateTime(t.created_at)}`),
          !t.first_response_at && !closed ? h('p', {}, `Ответим до ${dateTime(t.first_response_due_at)}.`) : null,
          h(
            'div',
            { class: 'row' },
            closed || t.status === 'resolved' ? status('open', 'Открыть снова') : null,
            !closed ? status('closed', 'Закрыть обращение', 'Закрыть обращение?') : null,
            t.purchase_id && !isDispute(t.subject) ? h('a', { class: 'button', href: `#/support/dispute?purchase=${t.purchase_id}` }, 'Открыть спор по покупке') : null,
          ),
        ),
        h(
          'div',
          { class: 'card' },
          h('h2', {}, 'Переписка'),
          h(
            'ol',
            { class: 'c-messages' },
            t.messages.map((m) =>
              h('li', { class: `c-msg ${m.author_role === 'member' ? 'mine' : 'theirs'}` }, h('p', { class: 'muted' }, `${AUTHOR[m.author_role] || m.author_role} · ${dateTime(m.created_at)}`), h('p', { class: 'c-text' }, m.body)),
            ),
          ),
        ),
        closed ? h('p', { class: 'card muted' }, 'Обращение закрыто. Чтобы продолжить переписку, откройте его снова.') : form,
      );
    },
  });
}

const REQUESTED = [
  ['compensation', 'Компенсация баллами'],
  ['refund', 'Возврат денег'],
  ['redo', 'Переделать услугу или заменить товар'],
];

/** #/support/dispute?purchase=<id> */
export function disputeView(match, ctx) {
  const q = hashQuery(match[1]);
  return screen(ctx, {
    title: 'Спор по покупке',
    flag: 'support',
    back: ['#/support', 'Поддержка'],
    async load(body) {
      const purchases = await recentPurchases(ctx.api);
      const given = q.get('purchase');
      const options = purchases.map((p) => [p.id, `${p.business_name} — ${money(p.amount)}, ${date(p.paid_at)}`]);
      if (given && !purchases.some((p) => p.id === given)) options.unshift([given, 'Выбранная покупка']);
      if (!options.length) {
        mount(body, empty('Покупок пока нет — спорить не о чем.'));
        return;
      }
      const purchase = field('Покупка', { tag: 'select', name: 'purchase_id', options, required: true });
      if (given) purchase.input.value = given;
      const reason = field('Что случилось', { tag: 'textarea', name: 'reason', maxlength: '2000', rows: '4', required: true });
      reason.append(counter(reason.input, 2000));
      const requested = field('Чего вы хотите', { tag: 'select', name: 'requested', options: REQUESTED });
      const amount = field('Сумма, ₽ (необязательно)', { name: 'amount', inputmode: 'decimal' }, 'Для возврата — не больше суммы покупки.');
      const send = h('button', { type: 'submit', class: 'primary block' }, 'Открыть спор');
      const form = h('form', { class: 'card', novalidate: true }, purchase, reason, requested, amount, send);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        clearErrors(form);
        const r = reason.input.value.trim();
        if (!r) return showError(form, { message: 'Опишите, что случилось.' }, 'reason');
        const payload = { purchase_id: purchase.input.value, reason: r, requested: requested.input.value };
        if (amount.input.value.trim()) {
          const kop = parseRubles(amount.input.value);
          if (!kop) return showError(form, { message: 'Введите сумму в рублях, например 500.' }, 'amount');
          payload.amount = kop;
        }
        guarded(send, async () => {
          try {
            const d = await ctx.api.post('/support/disputes', payload);
            toast('Спор открыт. Партнёр рассмотрит его в приоритетном порядке.', 'ok');
            ctx.navigate(`#/support/${d.ticket_id}`);
          } catch (err) {
            showError(form, err);
          }
        });
      });
      mount(body, h('p', { class: 'muted' }, 'Спор открывает срочное обращение к партнёру. Компенсация начисляется баллами по правилам клуба.'), form);
    },
  });
}
