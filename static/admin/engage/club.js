// «Клуб»: the admin's club dashboard — members by tier (chart and table), the
// north-star metric against its previous value, revenue, ecosystem revenue,
// commission, the top cross-business links and the events figures.

import { h, mount, money, date, field, clearErrors, showError, empty } from '/shared/ui.js';
import { section, async, table, utcDay, chartBlock, percent, int, stat, TIERS, tierName } from './common.js';

export async function render(ctx) {
  const form = h('form', { class: 'card period', novalidate: true });
  const from = field('С', { name: 'from', type: 'date', required: true, value: utcDay(29) });
  const to = field('По', { name: 'to', type: 'date', required: true, value: utcDay(0) });
  form.append(h('div', { class: 'form-grid' }, from, to), h('button', { type: 'submit', class: 'primary' }, 'Показать'));
  const box = h('div');
  const load = () => {
    clearErrors(form);
    const q = { from: from.input.value, to: to.input.value };
    if (!q.from || !q.to) return showError(form, { message: 'Укажите обе даты.' }, q.from ? 'to' : 'from');
    if (q.from > q.to) return showError(form, { message: 'Конец периода раньше начала.' }, 'to');
    return async(box, async () => dashboard(await ctx.api.get('/analytics/club', q)));
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load();
  });
  load();
  return section('club', 'Клуб', form, box);
}

function dashboard(c) {
  const tiers = TIERS.map(([k]) => [tierName(k), c.members_by_tier[k] || 0]);
  const ns = c.north_star;
  const nsTrend = ns
    ? h('span', { class: ns.value > ns.previous_value ? 'plus' : ns.value < ns.previous_value ? 'minus' : 'muted' }, `${ns.value > ns.previous_value ? '▲' : ns.value < ns.previous_value ? '▼' : '='} было ${percent(ns.previous_value)}`)
    : null;
  return h(
    'div',
    {},
    h('p', { class: 'muted' }, `Период: ${date(c.period.from)} — ${date(c.period.to)}.`),
    h(
      'div',
      { class: 'grid kpis' },
      stat('Участниц', int(c.members_total)),
      ns ? stat('Главная метрика: покупки в 2+ категориях', percent(ns.value), h('span', {}, nsTrend, ` · активных ${int(ns.active_members)}`)) : stat('Главная метрика', '—', 'Считается ночью: данных пока нет.'),
      stat('Выручка партнёров', money(c.total_revenue)),
      stat('Экосистемная выручка', money(c.ecosystem_revenue), `${percent(c.ecosystem_share)} всей выручки`),
      stat('Комиссия клуба', money(c.commission)),
    ),
    h(
      'section',
      { class: 'card report', 'aria-labelledby': 'club-tiers' },
      h('h2', { id: 'club-tiers' }, 'Участницы по статусам'),
      chartBlock({ title: 'Число участниц в каждом статусе', labels: tiers.map((t) => t[0]), datasets: [{ label: 'Участниц', data: tiers.map((t) => t[1]) }] }),
      table('Участницы по статусам', ['Статус', 'Участниц', 'Доля'], tiers.map(([n, v]) => [n, int(v), percent(c.members_total ? v / c.members_total : 0)])),
    ),
    h(
      'section',
      { class: 'card report', 'aria-labelledby': 'club-links' },
      h('h2', { id: 'club-links' }, 'Топ кросс-связок'),
      c.top_links.length
        ? table('Топ кросс-связок', ['Откуда', 'Куда', 'Участниц'], c.top_links.map((l) => [l.from.name, l.to.name, int(l.customers)]))
        : empty('Связки считаются ночью: данных пока нет.'),
    ),
    h(
      'section',
      { class: 'card report', 'aria-labelledby': 'club-events' },
      h('h2', { id: 'club-events' }, 'События'),
      h('div', { class: 'grid' }, stat('Предстоящих', int(c.events.upcoming)), stat('Записано мест', int(c.events.registered)), stat('Выделено бюджета за период', money(c.events.budget_allocated))),
    ),
  );
}
