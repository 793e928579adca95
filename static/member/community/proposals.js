// Event proposals: the list with weighted votes (#/proposals), the member's
// vote weight by tier, a veto for inner_circle and the «Предложить событие»
// form (#/proposals/new, VIP and above).

import { h, mount, money, date, dateTime, toast, field, showError, clearErrors, guarded, pagedList, parseRubles } from '/shared/ui.js';
import { screen, badge, TIER_LABEL, VOTE_WEIGHT, tierRank, bar, recentPurchases, partnersOf, counter } from './common.js';

const STATUS = { voting: ['Идёт голосование', 'warn'], approved: ['Одобрено', 'ok'], rejected: ['Отклонено', 'bad'], realized: ['Стало событием', 'ok'] };
const pctFmt = new Intl.NumberFormat('ru-RU', { maximumFractionDigits: 1 });
const pct = (r) => `${pctFmt.format((Number(r) || 0) * 100)} %`;

function tallyBox(t, weightBefore) {
  const weight = t.user_vote_weight || weightBefore;
  return h(
    'div',
    { class: 'c-tally' },
    h('p', {}, `Голосов: ${t.total_votes} (за — ${t.yes_votes}, против — ${t.no_votes})`),
    h('p', {}, `Взвешенный счёт: ${t.weighted_score > 0 ? '+' : ''}${t.weighted_score}`),
    bar('Одобрение с учётом веса', Math.round((t.approval_rate || 0) * 1000), 1000, pct(t.approval_rate)),
    h('p', { class: 'c-weight' }, h('strong', {}, `Вес вашего голоса: ${weight}`), t.user_vote ? ` · вы проголосовали «${t.user_vote === 'yes' ? 'за' : 'против'}»` : ' · вы ещё не голосовали'),
  );
}

function proposalCard(p, ctx) {
  const li = h('li', { class: 'card c-proposal' });
  const myWeight = VOTE_WEIGHT[ctx.me && ctx.me.tier] || 1;
  const render = () => {
    const tally = h('div');
    mount(tally, tallyBox(p.tally, myWeight));
    const voting = p.status === 'voting' && new Date(p.voting_ends_at) > new Date();
    const voteBtn = (vote, label) => {
      const b = h('button', { type: 'button', class: p.tally.user_vote === vote ? 'primary' : '', 'aria-pressed': String(p.tally.user_vote === vote) }, label);
      b.addEventListener('click', () =>
        guarded(b, async () => {
          try {
            p.tally = await ctx.api.post(`/events/proposals/${p.id}/vote`, { vote });
            toast(`Голос учтён. Вес вашего голоса: ${p.tally.user_vote_weight}`, 'ok');
            render();
            li.querySelector(`button[aria-pressed="true"]`)?.focus();
          } catch (e) {
            toast(e.message, 'error');
          }
        }),
      );
      return b;
    };
    const st = STATUS[p.status] || [p.status, null];
    mount(
      li,
      h('div', { class: 'spread' }, h('h2', { class: 'c-h' }, p.title), badge(st[0], st[1])),
      h('p', { class: 'muted' }, `${p.type} · желаемая дата ${date(p.preferred_date)} · до ${p.capacity} участниц · бюджет на человека ${money(p.budget_per_person)}`),
      h('p', { class: 'c-text' }, p.description),
      p.program.length ? h('ol', { class: 'c-program' }, p.program.map((x) => h('li', {}, h('strong', {}, x.time), ' ', x.activity))) : null,
      p.vetoed ? h('p', {}, badge('Вето', 'bad'), ' ', p.veto_reason || '') : null,
      tally,
      voting
        ? h('div', { class: 'row', role: 'group', 'aria-label': `Ваш голос за «${p.title}»` }, voteBtn('yes', 'За'), voteBtn('no', 'Против'), h('small', { class: 'muted' }, `Голосование до ${dateTime(p.voting_ends_at)}`))
        : null,
      voting && ctx.me && ctx.me.tier === 'inner_circle' && !p.vetoed ? vetoForm(p, ctx, render) : null,
    );
  };
  render();
  return li;
}

function vetoForm(p, ctx, rerender) {
  const reason = field('Причина вето', { tag: 'textarea', name: 'reason', maxlength: '1000', rows: '2', required: true });
  const send = h('button', { type: 'submit', class: 'danger' }, 'Наложить вето');
  const form = h('form', { novalidate: true }, reason, send);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const r = reason.input.value.trim();
    if (!r) return showError(form, { message: 'Укажите причину вето.' }, 'reason');
    guarded(send, async () => {
      try {
        const updated = await ctx.api.post(`/events/proposals/${p.id}/veto`, { reason: r });
        Object.assign(p, updated);
        toast('Вето наложено', 'ok');
        rerender();
      } catch (err) {
        showError(form, err);
      }
    });
  });
  return h('details', { class: 'c-veto' }, h('summary', {}, 'Наложить вето (Внутренний круг)'), form);
}

/** #/proposals */
export function proposalsView(match, ctx) {
  return screen(ctx, {
    title: 'Голосования за события',
    flag: 'events',
    back: ['#/events', 'События'],
    async load(body) {
      const tier = (ctx.me && ctx.me.tier) || 'insider';
      const canPropose = tierRank(tier) >= tierRank('vip');
      const filter = field('Показать', { tag: 'select', name: 'status', options: [['voting', 'На голосовании'], ['approved', 'Одобренные'], ['rejected', 'Отклонённые'], ['realized', 'Ставшие событиями']] });
      const listBox = h('div');
      const show = () =>
        mount(
          listBox,
          pagedList({
            fetchPage: (cursor) => ctx.api.get('/events/proposals', { status: filter.input.value, cursor, limit: 20 }),
            render: (p) => proposalCard(p, ctx),
            emptyText: filter.input.value === 'voting' ? 'Сейчас нет предложений на голосовании.' : 'Здесь пока пусто.',
            className: 'c-cards',
          }),
        );
      filter.input.addEventListener('change', show);
      mount(
        body,
        h(
          'div',
          { class: 'card c-about' },
          h('p', {}, h('strong', {}, `Вес вашего голоса: ${VOTE_WEIGHT[tier] || 1}`), ` (статус ${TIER_LABEL[tier] || tier})`),
          h('p', { class: 'muted' }, 'Голос весит по статусу: Инсайдер — 1, VIP — 2, Элит — 3, Внутренний круг — 5. Проголосовать можно один раз и передумать до конца голосования.'),
          canPropose
            ? h('p', {}, h('a', { class: 'button primary', href: '#/proposals/new' }, 'Предложить событие'))
            : h('p', {}, 'Предлагать свои события можно со статуса VIP — а голосовать уже сейчас.'),
        ),
        h('div', { class: 'c-filters' }, filter),
        listBox,
      );
      show();
    },
  });
}

const TYPES = ['Вечер с вином', 'Мастер-класс', 'Спортивное событие', 'Благотворительность', 'Нетворкинг'];

function programRow(list) {
  const time = h('input', { type: 'time', name: 'program_time', 'aria-label': 'Время пункта программы' });
  const what = h('input', { type: 'text', name: 'program_activity', maxlength: '200', 'aria-label': 'Что происходит' });
  const del = h('button', { type: 'button', class: 'c-small' }, 'Удалить пункт');
  const li = h('li', { class: 'c-prog-row' }, time, what, del);
  del.addEventListener('click', () => li.remove());
  list.append(li);
  return time;
}

/** #/proposals/new */
export function newProposalView(match, ctx) {
  return screen(ctx, {
    title: 'Предложить событие',
    flag: 'events',
    back: ['#/proposals', 'Голосования'],
    async load(body) {
      const tier = (ctx.me && ctx.me.tier) || 'insider';
      if (tierRank(tier) < tierRank('vip')) {
        mount(body, h('div', { class: 'card' }, h('p', {}, `Предлагать события могут участницы со статусом VIP и выше. Ваш статус — ${TIER_LABEL[tier] || tier}.`), h('p', {}, h('a', { href: '#/proposals' }, 'Перейти к голосованиям'))));
        return;
      }
      const partners = partnersOf(await recentPurchases(ctx.api));
      const today = new Date().toISOString().slice(0, 10);
      const title = field('Название', { name: 'title', maxlength: '200', required: true });
      const type = field('Тип события', { name: 'type', maxlength: '50', required: true, list: 'c-types' }, 'Выберите из подсказок или впишите свой.');
      const dl = h('datalist', { id: 'c-types' }, TYPES.map((t) => h('option', { value: t })));
      const desc = field('Описание', { tag: 'textarea', name: 'description', maxlength: '2000', rows: '4', required: true });
      desc.append(counter(desc.input, 2000));
      const when = field('Желаемая дата', { type: 'date', name: 'preferred_date', min: today, required: true });
      const where = field('Партнёр-площадка (необязательно)', { tag: 'select', name: 'business_id', options: [['', 'Не выбрано'], ...partners] });
      const budget = field('Бюджет на человека, ₽', { name: 'budget_per_person', inputmode: 'decimal', required: true }, 'Например: 1500');
      const cap = field('Максимум участниц', { type: 'number', name: 'capacity', min: '1', max: '100000', inputmode: 'numeric', required: true });
      const progList = h('ol', { class: 'c-prog-list' });
      const addRow = h('button', { type: 'button' }, 'Добавить пункт программы');
      addRow.addEventListener('click', () => programRow(progList).focus());
      const send = h('button', { type: 'submit', class: 'primary block' }, 'Отправить на голосование');
      const form = h(
        'form',
        { class: 'card', novalidate: true },
        title,
        type,
        dl,
        desc,
        when,
        where,
        budget,
        cap,
        h('fieldset', { class: 'c-fieldset' }, h('legend', {}, 'Программа (необязательно)'), progList, addRow, h('p', { id: 'program-error', class: 'field-error', hidden: true, role: 'alert' })),
        send,
      );
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        clearErrors(form);
        const req = (f, msg) => {
          if (!f.input.value.trim()) {
            showError(form, { message: msg }, f.input.name);
            return false;
          }
          return true;
        };
        if (!req(title, 'Укажите название.') || !req(type, 'Укажите тип события.') || !req(desc, 'Опишите событие.') || !req(when, 'Выберите дату.')) return;
        if (when.input.value < today) return showError(form, { message: 'Дата — сегодня или позже.' }, 'preferred_date');
        const kop = parseRubles(budget.input.value);
        if (kop === null) return showError(form, { message: 'Введите сумму в рублях, например 1500.' }, 'budget_per_person');
        const capacity = Number(cap.input.value);
        if (!Number.isInteger(capacity) || capacity < 1 || capacity > 100000) return showError(form, { message: 'Введите целое число от 1.' }, 'capacity');
        const program = [];
        for (const row of progList.children) {
          const [t, a] = row.querySelectorAll('input');
          if (!t.value && !a.value.trim()) continue;
          if (!t.value || !a.value.trim()) {
            const box = form.querySelector('#program-error');
            box.textContent = 'У каждого пункта программы нужны время и описание.';
            box.hidden = false;
            (t.value ? a : t).focus();
            return;
          }
          program.push({ time: t.value.slice(0, 5), activity: a.value.trim() });
        }
        const payload = { title: title.input.value.trim(), type: type.input.value.trim(), description: desc.input.value.trim(), preferred_date: when.input.value, budget_per_person: kop, capacity, program };
        if (where.input.value) payload.business_id = where.input.value;
        guarded(send, async () => {
          try {
            const r = await ctx.api.post('/events/proposals', payload);
            toast(`Предложение отправлено на голосование до ${dateTime(r.voting_ends_at)}`, 'ok');
            ctx.navigate('#/proposals');
          } catch (err) {
            showError(form, err);
          }
        });
      });
      mount(body, h('p', { class: 'muted' }, 'Участницы клуба проголосуют за идею в течение недели. Одобренные идеи организаторы превращают в события.'), form);
    },
  });
}
