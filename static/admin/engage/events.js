// «События»: the club's events (all statuses) of the selected business or of
// every business for an admin; creating and editing them, cancelling with a
// confirmation, invitations to closed events and events-budget allocation.

import { h, mount, money, dateTime, toast, field, guarded, showError, clearErrors, pagedList, parseRubles } from '/shared/ui.js';
import { section, async, table, tierName, label, FORMATS, UUID_RE, int } from './common.js';
import { eventForm } from './event-form.js';

const STATUS = { scheduled: 'Запланировано', cancelled: 'Отменено', past: 'Прошло' };

export async function render(ctx, rest) {
  if (rest === 'new') return createPage(ctx);
  if (rest && UUID_RE.test(rest)) return eventPage(ctx, rest);
  const businessId = ctx.isAdmin ? ctx.business && ctx.business.id : ctx.business && ctx.business.id;
  return section(
    'events',
    'События',
    h('div', { class: 'spread' }, h('p', { class: 'muted' }, ctx.business ? `События партнёра «${ctx.business.name}».` : 'События всех партнёров клуба.'), h('a', { class: 'button primary', href: '#/events/new' }, 'Новое событие')),
    pagedList({
      fetchPage: (cursor) => ctx.api.get('/events', { status: 'all', business_id: businessId, cursor, limit: 20 }),
      render: (e) => eventRow(e),
      emptyText: 'Событий пока нет. Создайте первое.',
    }),
  );
}

function eventRow(e) {
  const status = e.status === 'scheduled' ? 'ok' : e.status === 'cancelled' ? 'bad' : '';
  return h(
    'li',
    { class: 'event-row' },
    h('div', { class: 'spread' }, h('a', { href: `#/events/${e.id}` }, h('strong', {}, e.title)), h('span', { class: `badge ${status}` }, STATUS[e.status] || e.status)),
    h('p', { class: 'muted' }, `${dateTime(e.starts_at)} · ${e.location.business_name}${e.location.address ? `, ${e.location.address}` : ''}`),
    h('p', {}, `${label(FORMATS, e.format)}${e.format === 'paid' ? `, ${money(e.price)}` : ''} · занято ${int(e.registered_count)} из ${int(e.capacity)} · от статуса «${tierName(e.min_tier)}»`),
  );
}

function createPage(ctx) {
  const form = eventForm({
    ctx,
    chooseBusiness: ctx.isAdmin,
    onSubmit: async (body) => {
      if (!ctx.isAdmin) body.business_id = ctx.business && ctx.business.id;
      const ev = await ctx.api.post('/admin/events', body);
      toast('Событие создано.', 'ok');
      ctx.navigate(`#/events/${ev.id}`);
    },
  });
  return section('events-new', 'Новое событие', h('p', {}, h('a', { href: '#/events' }, '← Все события')), form);
}

async function eventPage(ctx, id) {
  const body = h('div');
  const sec = section('event', 'Событие', h('p', {}, h('a', { href: '#/events' }, '← Все события')), body);
  async(body, async () => {
    const ev = await ctx.api.get(`/events/${id}`);
    sec.querySelector('h1').textContent = ev.title;
    const editable = ev.status === 'scheduled';
    return h(
      'div',
      {},
      summary(ev),
      editable ? cancelBlock(ctx, ev) : null,
      editable && ev.format === 'closed' ? inviteBlock(ctx, ev) : null,
      ctx.isAdmin && ev.status !== 'cancelled' ? budgetBlock(ctx, ev) : null,
      editable
        ? h(
            'section',
            { 'aria-labelledby': 'edit-title' },
            h('h2', { id: 'edit-title' }, 'Изменить событие'),
            eventForm({
              ctx,
              initial: ev,
              chooseBusiness: false,
              submitText: 'Сохранить изменения',
              onSubmit: async (b) => {
                // Only what changed: format and price are locked once people register.
                const patch = changes(ev, b);
                if (!Object.keys(patch).length) throw Object.assign(new Error('Ничего не изменилось.'), { field: null });
                await ctx.api.patch(`/admin/events/${ev.id}`, patch);
                toast('Изменения сохранены.', 'ok');
                ctx.refresh();
              },
            }),
          )
        : null,
    );
  });
  return sec;
}

/** The fields of `body` that differ from the event `ev`. */
function changes(ev, body) {
  const current = { ...ev, address: ev.location.address || undefined };
  const out = {};
  for (const [k, v] of Object.entries(body)) {
    const was = k === 'starts_at' || k === 'ends_at' ? new Date(current[k]).toISOString() : current[k];
    const now = k === 'starts_at' || k === 'ends_at' ? new Date(v).toISOString() : v;
    if (JSON.stringify(was) !== JSON.stringify(now)) out[k] = v;
  }
  return out;
}

function summary(ev) {
  return h(
    'div',
    { class: 'card' },
    h('p', {}, h('span', { class: `badge ${ev.status === 'scheduled' ? 'ok' : ev.status === 'cancelled' ? 'bad' : ''}` }, STATUS[ev.status] || ev.status)),
    h('p', {}, `${dateTime(ev.starts_at)} — ${dateTime(ev.ends_at)}`),
    h('p', {}, `${ev.location.business_name}${ev.location.address ? `, ${ev.location.address}` : ''}`),
    h('p', {}, `${label(FORMATS, ev.format)}${ev.format === 'paid' ? `, ${money(ev.price)} за место` : ''}`),
    h('p', {}, `Занято мест: ${int(ev.registered_count)} из ${int(ev.capacity)}, свободно ${int(ev.seats_left)}, в листе ожидания ${int(ev.waitlist_count)}.`),
    h('p', { class: 'budget-line' }, `Бюджет клуба на событие: ${money(ev.budget_allocated)}`),
    ev.program && ev.program.length ? table('Программа', ['Время', 'Что происходит'], ev.program.map((p) => [p.time, p.activity])) : null,
  );
}

function cancelBlock(ctx, ev) {
  const box = h('div', { class: 'card' });
  const ask = h('button', { type: 'button', class: 'danger' }, 'Отменить событие');
  const confirmBox = h('div', { hidden: true, role: 'alert' });
  const yes = h('button', { type: 'button', class: 'danger' }, 'Да, отменить');
  confirmBox.append(
    h('p', {}, `Отменить «${ev.title}»? Все записи будут сняты, оплаченные места попадут в список возвратов. Это нельзя отменить.`),
    h('div', { class: 'row' }, yes, h('button', { type: 'button', onclick: () => { confirmBox.hidden = true; ask.hidden = false; } }, 'Нет, оставить')),
  );
  ask.addEventListener('click', () => {
    confirmBox.hidden = false;
    ask.hidden = true;
    yes.focus();
  });
  yes.addEventListener('click', () =>
    guarded(yes, async () => {
      try {
        const out = await ctx.api.post(`/admin/events/${ev.id}/cancel`, {});
        const refunds = out.refunds_due || [];
        mount(
          box,
          h('p', { role: 'status' }, `Событие отменено. Освобождено мест: ${int(out.released_seats)}.`),
          refunds.length
            ? table('Возвраты к оплате', ['Участница', 'Сумма'], refunds.map((r) => [r.member_id, money(r.amount)]))
            : h('p', { class: 'muted' }, 'Возвратов нет.'),
        );
        toast('Событие отменено.', 'ok');
      } catch (e) {
        toast(e.message, 'error');
      }
    }),
  );
  box.append(h('h2', {}, 'Отмена события'), ask, confirmBox);
  return box;
}

function inviteBlock(ctx, ev) {
  const form = h('form', { class: 'card', novalidate: true });
  const member = field('Номер участницы (ID)', { name: 'member_id', required: true, autocomplete: 'off' }, 'ID из карточки участницы, например 0190f7c2-…');
  const send = h('button', { type: 'submit', class: 'primary' }, 'Пригласить');
  const done = h('ul', { class: 'list', 'aria-live': 'polite' });
  form.append(h('h2', {}, 'Приглашения'), h('p', { class: 'muted' }, 'На закрытое событие записываются только приглашённые.'), member, send, done);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(send, async () => {
      clearErrors(form);
      const id = member.input.value.trim();
      if (!UUID_RE.test(id)) return showError(form, { message: 'Введите ID участницы целиком (36 символов).' }, 'member_id');
      try {
        const out = await ctx.api.post(`/admin/events/${ev.id}/invitations`, { member_id: id });
        done.append(h('li', {}, `${id}: ${out.status === 'invited' ? 'приглашена' : `уже есть запись (${out.status})`}`));
        member.input.value = '';
        toast('Приглашение отправлено.', 'ok');
      } catch (err) {
        showError(form, err, err.field || 'member_id');
      }
    });
  });
  return form;
}

function budgetBlock(ctx, ev) {
  const form = h('form', { class: 'card', novalidate: true });
  const amount = field('Сумма, ₽', { name: 'amount', inputmode: 'decimal', required: true });
  const available = h('p', { class: 'muted' }, 'Загружаем бюджет…');
  const send = h('button', { type: 'submit', class: 'primary' }, 'Выделить бюджет');
  form.append(h('h2', {}, 'Бюджет событий'), available, amount, send);
  const loadBudget = () =>
    ctx.api.get('/events/budget').then(
      (b) => (available.textContent = `Доступно в бюджете клуба: ${money(b.available)}. Уже выделено этому событию: ${money(ev.budget_allocated)}.`),
      (e) => (available.textContent = e.message),
    );
  loadBudget();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(send, async () => {
      clearErrors(form);
      const kopecks = parseRubles(amount.input.value);
      if (!kopecks) return showError(form, { message: 'Введите сумму в рублях, например 5000.' }, 'amount');
      try {
        const out = await ctx.api.post(`/admin/events/${ev.id}/budget`, { amount: kopecks });
        ev.budget_allocated = out.event_total;
        const line = form.closest('section') && form.closest('section').querySelector('.budget-line');
        if (line) line.textContent = `Бюджет клуба на событие: ${money(out.event_total)}`;
        available.textContent = `Доступно в бюджете клуба: ${money(out.available)}. Выделено этому событию: ${money(out.event_total)}.`;
        amount.input.value = '';
        toast('Бюджет выделен.', 'ok');
      } catch (err) {
        // BUDGET_EXCEEDED has its Russian text in the shared messages.
        showError(form, err, 'amount');
      }
    });
  });
  return form;
}
