// «Аналитика» of the selected business: a period picker and the reports —
// overview against the previous period, where new customers came from and
// where customers went next, win-win chains, RFM segments, churn risk — with
// Chart.js charts (each with its data table) and a CSV export for owners.

import { h, mount, money, date, toast, field, guarded, showError, clearErrors, empty } from '/shared/ui.js';
import { section, async, table, utcDay, chartBlock, delta, percent, int, stat, downloadText } from './common.js';

const SEGMENTS = {
  Champions: 'Чемпионы',
  Loyal: 'Лояльные',
  Potential: 'Перспективные',
  New: 'Новые',
  'At Risk': 'В зоне риска',
  Hibernating: 'Засыпающие',
  Lost: 'Потерянные',
};

export async function render(ctx) {
  const biz = ctx.business;
  // Cross-business reports and the export are for owners and admins.
  const owner = ctx.isAdmin || ctx.role === 'owner' || ctx.role === 'admin';
  const form = h('form', { class: 'card period', novalidate: true });
  const from = field('С', { name: 'from', type: 'date', required: true, value: utcDay(29) });
  const to = field('По', { name: 'to', type: 'date', required: true, value: utcDay(0) });
  const show = h('button', { type: 'submit', class: 'primary' }, 'Показать');
  const csv = owner ? h('button', { type: 'button' }, 'Скачать покупки (CSV)') : null;
  form.append(h('div', { class: 'form-grid' }, from, to), h('div', { class: 'row' }, show, csv));
  const reports = h('div', { class: 'reports' });
  const base = `/analytics/businesses/${biz.id}`;

  const period = () => {
    clearErrors(form);
    const q = { from: from.input.value, to: to.input.value };
    if (!q.from) return showError(form, { message: 'Укажите начало периода.' }, 'from'), null;
    if (!q.to) return showError(form, { message: 'Укажите конец периода.' }, 'to'), null;
    if (q.from > q.to) return showError(form, { message: 'Конец периода раньше начала.' }, 'to'), null;
    return q;
  };

  const draw = (q) => {
    const part = (id, title, load) => {
      const box = h('div');
      async(box, load);
      return h('section', { class: 'card report', 'aria-labelledby': `r-${id}` }, h('h2', { id: `r-${id}` }, title), box);
    };
    mount(
      reports,
      part('overview', 'Обзор', () => ctx.api.get(`${base}/overview`, q).then(overview)),
      owner ? part('sources', 'Откуда приходят новые клиенты', () => ctx.api.get(`${base}/customer-sources`, q).then(sources)) : null,
      owner ? part('destinations', 'Куда клиенты идут дальше', () => ctx.api.get(`${base}/customer-destinations`, q).then(destinations)) : null,
      part('rfm', 'Сегменты клиентов (RFM)', () => ctx.api.get(`${base}/rfm-segments`).then(rfm)),
      owner ? part('chains', 'Win-win цепочки', () => ctx.api.get(`${base}/win-win-chains`, q).then(chains)) : null,
      part('churn', 'Риск оттока', () => ctx.api.get(`${base}/churn-risk`, { limit: 50 }).then(churn)),
    );
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = period();
    if (q) draw(q);
  });
  if (csv) {
    csv.addEventListener('click', () =>
      guarded(csv, async () => {
        const q = period();
        if (!q) return;
        try {
          const text = await ctx.api.getText(`${base}/export`, { ...q, format: 'csv' });
          downloadText(text, `purchases-${q.from}-${q.to}.csv`);
          toast('Файл CSV сохранён.', 'ok');
        } catch (err) {
          showError(form, err);
        }
      }),
    );
  }
  draw(period());
  return section('analytics', `Аналитика: ${biz.name}`, form, reports);
}

function overview(o) {
  const p = o.previous_period;
  const label = (x) => `${date(x.from)} — ${date(x.to)}`;
  return h(
    'div',
    {},
    h('p', { class: 'muted' }, `Период: ${label(o.period)}; прошлый: ${label(p.period)}.`),
    h(
      'div',
      { class: 'grid kpis' },
      stat('Выручка', money(o.total_revenue), delta(o.total_revenue, p.total_revenue, money)),
      stat('Из них от клуба', money(o.revenue_from_ecosystem), `${percent(o.ecosystem_share)} выручки`),
      stat('Покупок', int(o.total_transactions), delta(o.total_transactions, p.total_transactions)),
      stat('Средний чек', money(o.avg_check), delta(o.avg_check, p.avg_check, money)),
      stat('Новые клиенты', int(o.new_customers), delta(o.new_customers, p.new_customers)),
      stat('Вернувшиеся клиенты', int(o.returning_customers), delta(o.returning_customers, p.returning_customers)),
    ),
    chartBlock({
      title: 'Выручка: этот и прошлый период',
      labels: ['Выручка', 'От клуба', 'Средний чек'],
      datasets: [
        { label: 'Этот период', data: [o.total_revenue, o.revenue_from_ecosystem, o.avg_check] },
        { label: 'Прошлый период', data: [p.total_revenue, p.revenue_from_ecosystem, p.avg_check] },
      ],
      format: money,
    }),
  );
}

function sources(s) {
  const rows = [...s.sources.map((x) => [x.source_business_name, x.customers_count, x.revenue, x.conversion_rate]), ['Напрямую', s.direct.customers_count, s.direct.revenue, null]];
  if (!s.new_customers) return empty('За период новых клиентов нет.');
  return h(
    'div',
    {},
    h('p', {}, `Новых клиентов за период: ${int(s.new_customers)}.`),
    chartBlock({ title: 'Новые клиенты по источникам', labels: rows.map((r) => r[0]), datasets: [{ label: 'Клиентов', data: rows.map((r) => r[1]) }], horizontal: true }),
    table('Источники новых клиентов', ['Откуда', 'Клиентов', 'Их выручка здесь', 'Конверсия'], rows.map((r) => [r[0], int(r[1]), money(r[2]), r[3] === null ? '—' : percent(r[3])])),
  );
}

function destinations(d) {
  if (!d.customers) return empty('За период покупок не было.');
  const rows = d.destinations.map((x) => [x.destination_business_name, x.customers_count, x.revenue, x.conversion_rate]);
  return h(
    'div',
    {},
    h('p', {}, `Клиентов за период: ${int(d.customers)}; не покупали у других партнёров: ${int(d.no_next_purchase)}.`),
    rows.length
      ? [
          chartBlock({ title: 'Куда клиенты пошли дальше', labels: rows.map((r) => r[0]), datasets: [{ label: 'Клиентов', data: rows.map((r) => r[1]) }], horizontal: true }),
          table('Следующие партнёры клиентов', ['Куда', 'Клиентов', 'Сумма следующих покупок', 'Конверсия'], rows.map((r) => [r[0], int(r[1]), money(r[2]), percent(r[3])])),
        ]
      : empty('Клиенты пока не покупали у других партнёров.'),
  );
}

function rfm(r) {
  if (!r.computed_at) return empty('Сегменты считаются ночью: данных пока нет.');
  const segs = r.segments.filter((s) => s.count > 0);
  return h(
    'div',
    {},
    h('p', { class: 'muted' }, `Клиентов: ${int(r.customers)}. Рассчитано ${date(r.computed_at)}.`),
    segs.length
      ? chartBlock({ title: 'Клиенты по сегментам', type: 'doughnut', labels: segs.map((s) => SEGMENTS[s.segment] || s.segment), datasets: [{ label: 'Клиентов', data: segs.map((s) => s.count) }] })
      : null,
    table('Сегменты клиентов', ['Сегмент', 'Клиентов', 'Средняя сумма за год', 'Что делать'], r.segments.map((s) => [SEGMENTS[s.segment] || s.segment, int(s.count), money(s.avg_revenue), s.action])),
  );
}

function chains(c) {
  if (!c.chains.length) return empty(c.computed_at ? 'Цепочек из трёх партнёров пока нет.' : 'Цепочки считаются ночью: данных пока нет.');
  return h(
    'div',
    {},
    h('p', { class: 'muted' }, `Пути участниц через три партнёра за ${int(c.window_days)} дней — идеи для совместных пакетов.`),
    table('Win-win цепочки', ['Путь', 'Участниц', 'Средний LTV'], c.chains.map((x) => [x.businesses.map((b) => b.name).join(' → '), int(x.frequency), money(x.avg_ltv)])),
  );
}

function churn(c) {
  if (!c.items.length) return empty('Клиентов в зоне риска нет.');
  return h(
    'div',
    {},
    h('p', {}, `В зоне риска: ${int(c.total)}.`),
    table('Клиенты в зоне риска', ['Имя', 'Последний визит', 'Дней без визита', 'Обычный перерыв', 'Вероятность ухода', 'Что делать'], c.items.map((x) => [
      x.first_name || 'Участница',
      date(x.last_visit),
      int(x.days_since_last_visit),
      `${int(Math.round(x.usual_gap_days))} дн.`,
      percent(x.churn_probability),
      x.recommended_action,
    ])),
  );
}
