// The club's events budget of a month (#/budget?month=YYYY-MM): the member's
// own contribution, what was collected, allocated to events and is available,
// and the published split, drawn as labelled bars.

import { h, mount, money, field, loading, failed, empty } from '/shared/ui.js';
import { screen, hashQuery, bar, disabledBox } from './common.js';

const SPLIT = [
  ['open', 'Открытые события'],
  ['vip', 'VIP-события'],
  ['elite', 'Элит-события'],
  ['reserve', 'Резерв'],
];
const monthName = (ym) => {
  const [y, m] = ym.split('-').map(Number);
  return new Intl.DateTimeFormat('ru-RU', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, 1)));
};

function budgetBody(b) {
  const allocatedTotal = b.allocated.reduce((s, a) => s + a.amount, 0);
  return [
    h(
      'div',
      { class: 'card c-mine' },
      h('h2', {}, 'Ваш вклад'),
      h('p', { class: 'big' }, money(b.my_contribution)),
      h('p', { class: 'muted' }, `2 % от ваших покупок за месяц: ${money(b.my_purchases)}`),
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', {}, `Бюджет: ${monthName(b.month)}`),
      h('dl', { class: 'c-dl' }, h('dt', {}, 'Собрано участницами'), h('dd', {}, money(b.contributed)), h('dt', {}, 'Распределено на события'), h('dd', {}, money(allocatedTotal)), h('dt', {}, 'Доступно'), h('dd', {}, money(b.available))),
      bar('Распределено из собранного', allocatedTotal, Math.max(b.contributed, allocatedTotal), `${money(allocatedTotal)} из ${money(b.contributed)}`),
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', {}, 'Как делится бюджет'),
      SPLIT.map(([k, label]) => bar(label, b.split[k], 100, `${b.split[k]} % · ${money(Math.round((b.contributed * b.split[k]) / 100))}`)),
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', {}, 'На какие события'),
      b.allocated.length
        ? h(
            'ul',
            { class: 'list' },
            b.allocated.map((a) => h('li', { class: 'spread' }, h('a', { href: `#/events/${a.event_id}` }, a.title), h('strong', {}, money(a.amount)))),
          )
        : empty('В этом месяце бюджет ещё не распределяли.'),
    ),
  ];
}

/** #/budget or #/budget?month=YYYY-MM */
export function budgetView(match, ctx) {
  const q = hashQuery(match[1]);
  const current = new Date().toISOString().slice(0, 7);
  let month = /^\d{4}-\d{2}$/.test(q.get('month') || '') ? q.get('month') : current;
  return screen(ctx, {
    title: 'Бюджет событий',
    flag: 'events',
    back: ['#/events', 'События'],
    async load(body) {
      const picker = field('Месяц', { type: 'month', name: 'month', value: month, max: current }, 'Бюджет считается по календарным месяцам.');
      const out = h('div');
      async function show() {
        mount(out, loading());
        try {
          mount(out, budgetBody(await ctx.api.get('/events/budget', { month })));
        } catch (e) {
          if (e.code === 'FEATURE_DISABLED') mount(out, disabledBox());
          else if (e.field === 'month' || e.code === 'INVALID_MONTH') mount(out, failed(e));
          else mount(out, failed(e, show));
        }
      }
      picker.input.addEventListener('change', () => {
        if (!/^\d{4}-\d{2}$/.test(picker.input.value)) return;
        month = picker.input.value;
        // Keep the month in the address without re-rendering the screen.
        history.replaceState(null, '', `#/budget?month=${month}`);
        show();
      });
      mount(body, h('p', { class: 'muted' }, 'С каждой покупки у партнёров 2 % идут в общий бюджет клубных событий.'), h('div', { class: 'c-filters' }, picker), out);
      await show();
    },
  });
}
