// Club events: the upcoming list (#/events) and one event (#/events/<id>)
// with its programme, speakers, reviews and the member's registration —
// ticket QR, waitlist place or payment hold — plus registering and cancelling.

import { h, mount, money, dateTime, date, toast, field, showError, clearErrors, guarded, pagedList, empty } from '/shared/ui.js';
import { screen, badge, confirmDialog, TIER_LABEL, tierRank } from './common.js';

const FORMAT = { free: 'Бесплатно', paid: 'Платное', closed: 'Закрытое, по приглашению' };

function formatLine(ev) {
  if (ev.format === 'paid') return `Платное · ${money(ev.price)}`;
  return FORMAT[ev.format] || ev.format;
}

function seatsLine(ev) {
  if (ev.seats_left > 0) return `Осталось мест: ${ev.seats_left} из ${ev.capacity}`;
  return ev.is_registered || ev.status !== 'scheduled' ? `Все ${ev.capacity} мест заняты` : 'Мест нет — можно встать в лист ожидания';
}

function place(loc) {
  return [loc.business_name, loc.address].filter(Boolean).join(', ');
}

/** Badges for the caller's standing: registered, tier too low, full. */
function eventBadges(ev, me) {
  const out = [];
  if (ev.is_registered) out.push(badge('Вы записаны', 'ok'));
  if (tierRank(ev.min_tier) > tierRank(me && me.tier)) out.push(badge(`Нужен статус ${TIER_LABEL[ev.min_tier]}`, 'bad'));
  else if (ev.min_tier !== 'insider') out.push(badge(`Для ${TIER_LABEL[ev.min_tier]} и выше`));
  if (ev.status === 'cancelled') out.push(badge('Отменено', 'bad'));
  if (ev.seats_left === 0 && ev.status === 'scheduled') out.push(badge('Мест нет', 'warn'));
  return out;
}

function eventCard(ev, me) {
  return h(
    'li',
    { class: 'card c-event' },
    h('h2', { class: 'c-h' }, h('a', { href: `#/events/${ev.id}` }, ev.title)),
    h('p', { class: 'c-when' }, dateTime(ev.starts_at)),
    h('p', { class: 'muted' }, place(ev.location)),
    h('p', {}, formatLine(ev), ' · ', seatsLine(ev)),
    h('div', { class: 'row' }, eventBadges(ev, me)),
  );
}

/** #/events */
export function eventsView(match, ctx) {
  return screen(ctx, {
    title: 'События',
    flag: 'events',
    async load(body) {
      const format = field('Формат', { tag: 'select', name: 'format', options: [['', 'Все'], ['free', 'Бесплатные'], ['paid', 'Платные'], ['closed', 'Закрытые']] });
      const listBox = h('div');
      const show = () =>
        mount(
          listBox,
          pagedList({
            fetchPage: (cursor) => ctx.api.get('/events', { status: 'upcoming', format: format.input.value, cursor, limit: 20 }),
            render: (ev) => eventCard(ev, ctx.me),
            emptyText: 'Ближайших событий пока нет. Загляните позже или предложите своё.',
            className: 'c-cards',
          }),
        );
      format.input.addEventListener('change', show);
      mount(
        body,
        h('nav', { class: 'c-tabs', 'aria-label': 'Разделы событий' }, h('a', { href: '#/proposals' }, 'Голосования'), h('a', { href: '#/budget' }, 'Бюджет событий')),
        h('div', { class: 'c-filters' }, format),
        listBox,
      );
      show();
    },
  });
}

function svgImg(svg, alt) {
  return h('img', { class: 'c-qr', src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`, alt });
}

/** The member's registration: ticket, waitlist place or payment hold. */
function registrationBox(reg, ev) {
  const seats = reg.seats === 2 ? 'Вы и гость (2 места)' : '1 место';
  if (reg.status === 'confirmed' || reg.status === 'attended') {
    return h(
      'div',
      { class: 'card c-ticket ok' },
      h('h2', {}, reg.status === 'attended' ? 'Вы были на событии' : 'Вы записаны — ваш билет'),
      h('p', {}, seats),
      reg.ticket ? svgImg(reg.ticket.svg, `QR-код билета на «${ev.title}»`) : null,
      reg.ticket ? h('p', { class: 'c-code' }, h('span', { class: 'muted' }, 'Код билета: '), h('code', {}, reg.ticket.code)) : null,
      reg.status === 'confirmed' ? h('p', { class: 'muted' }, 'Покажите QR-код на входе.') : null,
    );
  }
  if (reg.status === 'waitlist') {
    return h(
      'div',
      { class: 'card c-ticket warn' },
      h('h2', {}, 'Вы в листе ожидания'),
      h('p', { class: 'big' }, reg.position ? `${reg.position}-е место в очереди` : 'В очереди'),
      h('p', {}, `${seats}. Когда место освободится, запись подтвердится автоматически.`),
    );
  }
  if (reg.status === 'pending_payment') {
    return h(
      'div',
      { class: 'card c-ticket warn' },
      h('h2', {}, 'Место забронировано до оплаты'),
      h('p', {}, `${seats}. К оплате: ${reg.amount_due ? money(reg.amount_due) : money(ev.price * reg.seats)}.`),
      h('p', {}, `Бронь держится 30 минут${reg.hold_expires_at ? ` — до ${dateTime(reg.hold_expires_at)}` : ''}. Оплатите участие по ссылке от партнёра; после оплаты здесь появится билет. Без оплаты место перейдёт следующему в листе ожидания.`),
    );
  }
  return null;
}

/** #/events/<id> */
export function eventView(match, ctx) {
  const id = match[1];
  return screen(ctx, {
    title: 'Событие',
    flag: 'events',
    back: ['#/events', 'Все события'],
    async load(body, section) {
      const ev = await ctx.api.get(`/events/${id}`);
      section.setTitle(ev.title);
      const reg = ev.my_registration;
      mount(
        body,
        h(
          'div',
          { class: 'card' },
          h('p', { class: 'c-when' }, `${dateTime(ev.starts_at)} — ${dateTime(ev.ends_at)}`),
          h('p', {}, place(ev.location)),
          h('p', {}, formatLine(ev), ' · ', seatsLine(ev)),
          ev.waitlist_count > 0 ? h('p', { class: 'muted' }, `В листе ожидания мест: ${ev.waitlist_count}`) : null,
          h('div', { class: 'row' }, eventBadges(ev, ctx.me)),
        ),
        reg ? registrationBox(reg, ev) : null,
        actions(ev, ctx, section),
        h('div', { class: 'card' }, h('h2', {}, 'О событии'), h('p', { class: 'c-text' }, ev.full_description || ev.description)),
        ev.program.length
          ? h('div', { class: 'card' }, h('h2', {}, 'Программа'), h('ol', { class: 'c-program' }, ev.program.map((p) => h('li', {}, h('strong', {}, p.time), ' ', p.activity))))
          : null,
        ev.speakers.length
          ? h('div', { class: 'card' }, h('h2', {}, 'Спикеры'), h('ul', { class: 'list' }, ev.speakers.map((s) => h('li', {}, h('strong', {}, s.name), h('br'), h('span', { class: 'muted' }, s.title)))))
          : null,
        ev.what_to_bring.length ? h('div', { class: 'card' }, h('h2', {}, 'Что взять с собой'), h('ul', {}, ev.what_to_bring.map((w) => h('li', {}, w)))) : null,
        h(
          'div',
          { class: 'card' },
          h('h2', {}, 'Отзывы участниц'),
          ev.reviews.length
            ? h(
                'ul',
                { class: 'list' },
                ev.reviews.map((r) =>
                  h('li', {}, h('p', {}, h('strong', {}, r.author), ' · ', h('span', { 'aria-hidden': 'true' }, '★'.repeat(r.rating)), ` ${r.rating} из 5`), r.text ? h('p', {}, r.text) : null, h('small', { class: 'muted' }, date(r.published_at))),
                ),
              )
            : empty('Отзывов пока нет.'),
        ),
      );
    },
  });
}

/** Register form or cancel button, whichever applies. */
function actions(ev, ctx, section) {
  if (ev.is_registered) {
    const reg = ev.my_registration;
    if (reg && reg.status === 'attended') return null;
    const cancel = h('button', { type: 'button', class: 'danger' }, reg && reg.status === 'waitlist' ? 'Выйти из листа ожидания' : 'Отменить запись');
    cancel.addEventListener('click', () =>
      guarded(cancel, async () => {
        if (!(await confirmDialog('Отменить запись на событие?', 'Да, отменить', 'Оставить запись', 'Место освободится для следующей участницы.'))) return;
        try {
          await ctx.api.del(`/events/${ev.id}/register`);
          toast('Запись отменена', 'ok');
          await section.reload();
          section.focusOn('h1');
        } catch (e) {
          toast(e.message, 'error');
        }
      }),
    );
    return h('div', { class: 'row c-actions' }, cancel);
  }
  if (ev.status !== 'scheduled') return h('p', { class: 'card muted' }, ev.status === 'cancelled' ? 'Событие отменено.' : 'Событие уже прошло.');
  if (!ev.can_register) {
    let why = 'Запись на это событие сейчас недоступна.';
    if (tierRank(ev.min_tier) > tierRank(ctx.me && ctx.me.tier)) why = `Запись открыта для статуса ${TIER_LABEL[ev.min_tier]} и выше. Ваш статус — ${TIER_LABEL[ctx.me.tier] || ctx.me.tier}.`;
    else if (ev.format === 'closed') why = 'Это закрытое событие: запись только по приглашению.';
    return h('p', { class: 'card' }, why);
  }
  const plus = ev.plus_one_allowed ? h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'plus_one' }), 'Приду с гостем (займёт 2 места)') : null;
  const diet = field('Ограничения в питании (необязательно)', { tag: 'textarea', name: 'dietary_restrictions', maxlength: '200', rows: '2' }, 'Например: вегетарианское меню, без орехов.');
  const full = ev.seats_left === 0;
  const send = h('button', { type: 'submit', class: 'primary block' }, full ? 'Встать в лист ожидания' : ev.format === 'paid' ? `Записаться · ${money(ev.price)}` : 'Записаться');
  const form = h('form', { class: 'card', novalidate: true }, h('h2', {}, full ? 'Мест нет — лист ожидания' : 'Запись'), plus, diet, send);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {};
    if (plus && plus.querySelector('input').checked) body.plus_one = true;
    const d = diet.input.value.trim();
    if (d.length > 200) return showError(form, { message: 'Не больше 200 символов.' }, 'dietary_restrictions');
    if (d) body.dietary_restrictions = d;
    guarded(send, async () => {
      try {
        const reg = await ctx.api.post(`/events/${ev.id}/register`, body);
        toast(reg.status === 'waitlist' ? `Вы в листе ожидания: ${reg.position}-е место` : reg.status === 'pending_payment' ? 'Место забронировано, осталось оплатить' : 'Вы записаны!', 'ok');
        await section.reload();
        section.focusOn('.c-ticket h2');
      } catch (err) {
        showError(form, err);
      }
    });
  });
  return form;
}
