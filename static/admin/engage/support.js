// «Поддержка»: tickets by status, a ticket's conversation with a reply box
// and status/priority changes, dispute decisions by dispute number, the FAQ
// editor and the Telegram outbox (read-only), as sub-pages of #/support.

import { h, mount, dateTime, toast, field, guarded, showError, clearErrors, pagedList, points, money, parseRubles, empty } from '/shared/ui.js';
import { section, async, table, filterButtons, businessName, UUID_RE, label } from './common.js';

const STATUSES = [
  ['open', 'Открыто'],
  ['in_progress', 'В работе'],
  ['resolved', 'Решено'],
  ['closed', 'Закрыто'],
];
const PRIORITIES = [
  ['low', 'Низкий'],
  ['normal', 'Обычный'],
  ['high', 'Высокий'],
  ['urgent', 'Срочный'],
];
const ROLES = { member: 'Участница', staff: 'Сотрудник', admin: 'Поддержка клуба', system: 'Система' };

export async function render(ctx, rest = '') {
  const [page, id] = rest.split('/');
  if (page === 'ticket' && UUID_RE.test(id || '')) return ticketPage(ctx, id);
  if (page === 'dispute' && UUID_RE.test(id || '')) return disputePage(ctx, id);
  if (page === 'faq' && ctx.isAdmin) return faqPage(ctx);
  if (page === 'outbox' && ctx.isAdmin) return outboxPage(ctx);
  return ticketsPage(ctx, STATUSES.some(([s]) => s === page) ? page : '');
}

function subnav(ctx, current) {
  const links = [
    ['', 'Обращения'],
    ...(ctx.isAdmin ? [['faq', 'Частые вопросы'], ['outbox', 'Отправка в Telegram']] : []),
  ];
  return h(
    'nav',
    { class: 'subnav row', 'aria-label': 'Разделы поддержки' },
    links.map(([p, t]) => h('a', { href: `#/support${p ? `/${p}` : ''}`, class: 'button', 'aria-current': p === current ? 'page' : null }, t)),
  );
}

function ticketsPage(ctx, initial) {
  let status = initial;
  const listBox = h('div');
  const show = () =>
    mount(
      listBox,
      pagedList({
        fetchPage: (cursor) => ctx.api.get('/support/tickets', { status, cursor, limit: 20 }),
        render: (t) => ticketRow(ctx, t),
        emptyText: 'Обращений нет.',
      }),
    );
  show();
  return section(
    'support',
    'Поддержка',
    subnav(ctx, ''),
    filterButtons('Статус обращений', [['', 'Все'], ...STATUSES], status, (s) => {
      status = s;
      show();
    }),
    listBox,
    disputeLookup(ctx),
  );
}

const REQUESTED_SUBJECT = { compensation: 'компенсация баллами', refund: 'возврат денег', redo: 'переделать услугу' };
/** Tickets opened with a dispute get an English subject from the server. */
function subject(t) {
  const m = /^Dispute: (\w+)$/.exec(t.subject || '');
  return m ? `Спор по покупке: ${REQUESTED_SUBJECT[m[1]] || m[1]}` : t.subject;
}

function ticketRow(ctx, t) {
  const overdue = !t.first_response_at && new Date(t.first_response_due_at) < new Date() && t.status === 'open';
  return h(
    'li',
    {},
    h('div', { class: 'spread' }, h('a', { href: `#/support/ticket/${t.id}` }, h('strong', {}, subject(t))), h('span', { class: `badge ${t.status === 'open' ? 'warn' : t.status === 'resolved' || t.status === 'closed' ? 'ok' : ''}` }, label(STATUSES, t.status))),
    h(
      'p',
      { class: 'muted' },
      `${dateTime(t.created_at)} · приоритет: ${label(PRIORITIES, t.priority).toLowerCase()}${t.business_id ? ` · ${businessName(ctx, t.business_id)}` : ''}`,
      overdue ? h('span', { class: 'badge bad' }, ' ⏰ просрочен ответ') : null,
    ),
  );
}

function disputeLookup(ctx) {
  const form = h('form', { class: 'card dispute-lookup', novalidate: true });
  const id = field('Номер спора', { name: 'dispute_id', autocomplete: 'off' }, 'ID спора — 36 символов, например 0190f7c2-…');
  const go = h('button', { type: 'submit' }, 'Открыть спор');
  form.append(h('h2', {}, 'Спор по покупке'), id, go);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const v = id.input.value.trim();
    if (!UUID_RE.test(v)) return showError(form, { message: 'Номер спора — 36 символов.' }, 'dispute_id');
    ctx.navigate(`#/support/dispute/${v}`);
  });
  return form;
}

function ticketPage(ctx, id) {
  const body = h('div');
  const sec = section('ticket', 'Обращение', h('p', {}, h('a', { href: '#/support' }, '← Все обращения')), body);
  async(body, async () => {
    const t = await ctx.api.get(`/support/tickets/${id}`);
    sec.querySelector('h1').textContent = `Обращение: ${subject(t)}`;
    const messages = h('ol', { class: 'list messages', 'aria-label': 'Переписка' }, t.messages.map(messageItem));
    const info = h('p', { class: 'muted' });
    const showInfo = () =>
      (info.textContent = `Статус: ${label(STATUSES, t.status)} · приоритет: ${label(PRIORITIES, t.priority).toLowerCase()} · создано ${dateTime(t.created_at)} · ответить до ${dateTime(t.first_response_due_at)}${t.escalations ? ` · эскалаций: ${t.escalations}` : ''}`);
    showInfo();

    const change = h('form', { class: 'card', novalidate: true });
    const status = field('Статус', { name: 'status', tag: 'select', options: STATUSES });
    const priority = field('Приоритет', { name: 'priority', tag: 'select', options: PRIORITIES });
    status.input.value = t.status;
    priority.input.value = t.priority;
    const save = h('button', { type: 'submit' }, 'Сохранить');
    change.append(h('h2', {}, 'Статус и приоритет'), h('div', { class: 'form-grid' }, status, priority), save);
    change.addEventListener('submit', (e) => {
      e.preventDefault();
      guarded(save, async () => {
        clearErrors(change);
        const patch = {};
        if (status.input.value !== t.status) patch.status = status.input.value;
        if (priority.input.value !== t.priority) patch.priority = priority.input.value;
        if (!Object.keys(patch).length) return showError(change, { message: 'Ничего не изменилось.' });
        try {
          Object.assign(t, await ctx.api.patch(`/support/tickets/${t.id}`, patch));
          showInfo();
          toast('Обращение обновлено.', 'ok');
        } catch (err) {
          showError(change, err);
        }
      });
    });

    const reply = h('form', { class: 'card', novalidate: true });
    const text = field('Ответ', { name: 'body', tag: 'textarea', maxlength: '10000', required: true }, 'Участница увидит ответ в приложении');
    const send = h('button', { type: 'submit', class: 'primary' }, 'Отправить ответ');
    reply.append(h('h2', {}, 'Ответить'), text, send);
    reply.addEventListener('submit', (e) => {
      e.preventDefault();
      guarded(send, async () => {
        clearErrors(reply);
        const v = text.input.value.trim();
        if (!v) return showError(reply, { message: 'Напишите ответ.' }, 'body');
        try {
          const m = await ctx.api.post(`/support/tickets/${t.id}/messages`, { body: v });
          messages.append(messageItem(m));
          text.input.value = '';
          if (t.status === 'open') {
            t.status = 'in_progress';
            status.input.value = t.status;
            showInfo();
          }
          toast('Ответ отправлен.', 'ok');
        } catch (err) {
          showError(reply, err);
        }
      });
    });
    return h('div', {}, info, h('h2', {}, 'Переписка'), t.messages.length ? messages : empty('Сообщений нет.'), t.status === 'closed' ? h('p', { class: 'muted' }, 'Обращение закрыто: ответить нельзя.') : reply, change);
  });
  return sec;
}

function messageItem(m) {
  return h(
    'li',
    { class: `message ${m.author_role === 'member' ? 'from-member' : 'from-staff'}` },
    h('p', { class: 'muted' }, `${ROLES[m.author_role] || m.author_role}${m.source === 'telegram' ? ' (через Telegram)' : ''} · ${dateTime(m.created_at)}`),
    h('p', { class: 'message-body' }, m.body),
  );
}

const REQUESTED = { compensation: 'компенсация баллами', refund: 'возврат денег', redo: 'переделать услугу' };
const DISPUTE_STATUS = { open: 'Ждёт решения', accepted: 'Принят', rejected: 'Отклонён' };

function disputePage(ctx, id) {
  const body = h('div');
  const sec = section('dispute', 'Спор по покупке', h('p', {}, h('a', { href: '#/support' }, '← Поддержка')), body);
  async(body, async () => {
    const d = await ctx.api.get(`/support/disputes/${id}`);
    const info = () =>
      h(
        'div',
        { class: 'card' },
        h('p', {}, h('span', { class: `badge ${d.status === 'open' ? 'warn' : d.status === 'accepted' ? 'ok' : 'bad'}` }, DISPUTE_STATUS[d.status] || d.status)),
        h('p', {}, `${businessName(ctx, d.business_id)} · ${dateTime(d.created_at)} · просит: ${REQUESTED[d.requested] || d.requested}${d.amount ? ` (${money(d.amount)})` : ''}`),
        h('p', {}, d.reason),
        d.note ? h('p', {}, `Решение: ${d.note}${d.points ? `, начислено ${points(d.points)}` : ''}`) : null,
        h('p', {}, h('a', { href: `#/support/ticket/${d.ticket_id}` }, 'Обращение по спору')),
      );
    const box = h('div', {}, info());
    if (d.status !== 'open') return box;
    const form = h('form', { class: 'card', novalidate: true });
    const decision = field('Решение', { name: 'decision', tag: 'select', options: [['accept', 'Принять'], ['reject', 'Отклонить']] });
    const pts = field('Баллы компенсации, ₽', { name: 'points', inputmode: 'decimal' }, 'Для компенсации; пусто — сумма, которую просили');
    const note = field('Комментарий для участницы', { name: 'note', tag: 'textarea', maxlength: '500', required: true });
    const send = h('button', { type: 'submit', class: 'primary' }, 'Принять решение');
    form.append(h('h2', {}, 'Решение'), decision, pts, note, send);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      guarded(send, async () => {
        clearErrors(form);
        const b = { decision: decision.input.value, note: note.input.value.trim() };
        if (!b.note) return showError(form, { message: 'Напишите комментарий.' }, 'note');
        if (pts.input.value.trim() && b.decision === 'accept') {
          const p = parseRubles(pts.input.value);
          if (!p) return showError(form, { message: 'Введите баллы числом, например 300.' }, 'points');
          b.points = p;
        }
        try {
          Object.assign(d, await ctx.api.post(`/support/disputes/${d.id}/decision`, b));
          mount(box, info());
          toast('Решение принято.', 'ok');
        } catch (err) {
          showError(form, err);
        }
      });
    });
    box.append(form);
    return box;
  });
  return sec;
}

function faqPage(ctx) {
  const listBox = h('div');
  const load = () =>
    async(listBox, async () => {
      const { items } = await ctx.api.get('/admin/faq');
      if (!items.length) return empty('Вопросов пока нет. Добавьте первый.');
      return h('ul', { class: 'list' }, items.map((f) => faqItem(ctx, f, load)));
    });
  load();
  return section('faq', 'Частые вопросы', subnav(ctx, 'faq'), faqForm(ctx, null, load), h('h2', {}, 'Все вопросы'), listBox);
}

function faqForm(ctx, entry, done) {
  const form = h('form', { class: 'card', novalidate: true });
  const q = field('Вопрос', { name: 'question', maxlength: '500', required: true, value: entry ? entry.question : '' });
  const a = field('Ответ', { name: 'answer', tag: 'textarea', maxlength: '10000', required: true });
  a.input.value = entry ? entry.answer : '';
  const pos = field('Порядок', { name: 'position', type: 'number', min: '0', inputmode: 'numeric', value: entry ? String(entry.position) : '' }, 'Меньше — выше в списке');
  const save = h('button', { type: 'submit', class: 'primary' }, entry ? 'Сохранить вопрос' : 'Добавить вопрос');
  mount(form, entry ? null : h('h2', {}, 'Новый вопрос'), q, a, pos, save);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(save, async () => {
      clearErrors(form);
      const body = { question: q.input.value.trim(), answer: a.input.value.trim() };
      if (!body.question) return showError(form, { message: 'Введите вопрос.' }, 'question');
      if (!body.answer) return showError(form, { message: 'Введите ответ.' }, 'answer');
      if (pos.input.value !== '') {
        const p = Number(pos.input.value);
        if (!Number.isInteger(p) || p < 0) return showError(form, { message: 'Порядок — целое число от 0.' }, 'position');
        body.position = p;
      }
      try {
        if (entry) await ctx.api.patch(`/admin/faq/${entry.id}`, body);
        else await ctx.api.post('/admin/faq', body);
        toast(entry ? 'Вопрос сохранён.' : 'Вопрос добавлен.', 'ok');
        if (!entry) form.reset();
        done();
      } catch (err) {
        showError(form, err);
      }
    });
  });
  return form;
}

function faqItem(ctx, f, reload) {
  const li = h('li', {});
  const edit = h('button', { type: 'button' }, 'Изменить');
  const del = h('button', { type: 'button', class: 'danger' }, 'Удалить');
  const editBox = h('div');
  edit.addEventListener('click', () => mount(editBox, faqForm(ctx, f, reload)));
  del.addEventListener('click', () =>
    guarded(del, async () => {
      if (del.dataset.confirm !== 'yes') {
        del.dataset.confirm = 'yes';
        del.textContent = 'Точно удалить?';
        return;
      }
      try {
        await ctx.api.del(`/admin/faq/${f.id}`);
        toast('Вопрос удалён.', 'ok');
        reload();
      } catch (err) {
        toast(err.message, 'error');
      }
    }),
  );
  li.append(h('h3', {}, f.question), h('p', { class: 'faq-answer' }, f.answer), h('div', { class: 'row' }, edit, del), editBox);
  return li;
}

const OUTBOX_STATUS = [
  ['', 'Все'],
  ['pending', 'В очереди'],
  ['sent', 'Отправлены'],
  ['failed', 'Не доставлены'],
];
const KINDS = { ticket: 'новое обращение', message: 'сообщение', status: 'статус', escalation: 'эскалация', dispute: 'спор' };

function outboxPage(ctx) {
  let status = '';
  const box = h('div');
  let rows = [];
  let cursor = null;
  const more = h('button', { type: 'button', hidden: true }, 'Показать ещё');
  const draw = () =>
      rows.length
        ? table('Отправка уведомлений в Telegram', ['Создано', 'Тип', 'Статус', 'Попыток', 'Частей', 'Отправлено', 'Ошибка'], rows.map((r) => [
            dateTime(r.created_at),
            KINDS[r.kind] || r.kind,
            label(OUTBOX_STATUS, r.status),
            String(r.attempts),
            `${r.parts_sent} из ${r.parts}`,
            r.sent_at ? dateTime(r.sent_at) : `следующая попытка ${dateTime(r.next_attempt_at)}`,
            r.last_error || '—',
          ]))
        : empty('Уведомлений нет.');
  const load = (reset) =>
    async(box, async () => {
      if (reset) {
        rows = [];
        cursor = null;
      }
      const page = await ctx.api.get('/admin/support/outbox', { status, cursor, limit: 50 });
      rows = rows.concat(page.items);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      return draw();
    });
  more.addEventListener('click', () => guarded(more, () => load(false)));
  load(true);
  return section(
    'outbox',
    'Отправка в Telegram',
    subnav(ctx, 'outbox'),
    h('p', { class: 'muted' }, 'Уведомления чата поддержки: что в очереди, что доставлено и где были ошибки. Только просмотр.'),
    filterButtons('Статус отправки', OUTBOX_STATUS, status, (s) => {
      status = s;
      load(true);
    }),
    box,
    more,
  );
}
