// Helpers shared by the dashboard's community and analytics sections: section
// frames, filter buttons, tables, date conversions, Russian labels, CSV
// downloads and the lazily loaded Chart.js.

import { h, mount, loading, failed } from '/shared/ui.js';
import { table, isoToLocal, TIERS, tierName } from '../core/common.js';

export { table, isoToLocal, TIERS, tierName };

/** The whole section: <section> with its <h1> and an optional lead text. */
export function section(id, title, ...children) {
  return h('section', { class: 'engage', 'aria-labelledby': `${id}-title` }, h('h1', { id: `${id}-title` }, title), ...children);
}

/**
 * A row of toggle buttons (tabs of a list): options [[value, label]]; calls
 * onChange(value) and marks the pressed one with aria-pressed, not colour only.
 */
export function filterButtons(label, options, current, onChange) {
  const group = h('div', { class: 'engage-tabs row', role: 'group', 'aria-label': label });
  const buttons = options.map(([value, text]) =>
    h('button', {
      type: 'button',
      'aria-pressed': String(value === current),
      onclick: () => {
        buttons.forEach((b) => b.setAttribute('aria-pressed', String(b === buttonsByValue.get(value))));
        onChange(value);
      },
    }, text),
  );
  const buttonsByValue = new Map(options.map(([v], i) => [v, buttons[i]]));
  group.append(...buttons);
  return group;
}


/** Fills `box` with the result of `load()`, with loading and error states. */
export async function async(box, load) {
  mount(box, loading());
  try {
    const node = await load();
    mount(box, node);
  } catch (e) {
    mount(box, failed(e, () => async(box, load)));
  }
  return box;
}

/** A datetime-local value (local time) → RFC 3339 UTC, or null. */
export function localToIso(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}


/** A UTC day YYYY-MM-DD `days` before today. */
export function utcDay(daysAgo = 0) {
  const d = new Date(Date.now() - daysAgo * 86_400_000);
  return d.toISOString().slice(0, 10);
}

/** A date (YYYY-MM-DD) → the start of that local day as RFC 3339. */
export function dayStartIso(day) {
  return day ? localToIso(`${day}T00:00`) : null;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;


const percentFmt = new Intl.NumberFormat('ru-RU', { style: 'percent', maximumFractionDigits: 1 });
/** 0.1234 → "12,3 %". */
export const percent = (share) => percentFmt.format(Number(share) || 0);
const intFmt = new Intl.NumberFormat('ru-RU');
export const int = (n) => intFmt.format(Number(n) || 0);

/** A change against the previous value in words and a sign (not colour only). */
export function delta(current, previous, format = int) {
  if (!previous) return h('span', { class: 'muted' }, 'в прошлом периоде: ', format(previous || 0));
  const change = (current - previous) / Math.abs(previous);
  const sign = change > 0 ? '▲ +' : change < 0 ? '▼ ' : '';
  return h('span', { class: change > 0 ? 'plus' : change < 0 ? 'minus' : 'muted' }, `${sign}${percent(change)} к прошлому периоду (${format(previous)})`);
}

/** The business's name among those the shell knows, else a short id. */
export function businessName(ctx, id) {
  if (!id) return '—';
  const b = (ctx.businesses || []).find((x) => x.id === id);
  return b ? b.name : `партнёр ${id.slice(0, 8)}…`;
}

/** A <select> field of the businesses the caller may pick. */
export function businessOptions(ctx) {
  return (ctx.businesses || []).map((b) => [b.id, b.name]);
}

/** Saves `text` as a file through a temporary Blob link. */
export function downloadText(text, filename, type = 'text/csv;charset=utf-8') {
  // A spreadsheet opens the CSV as UTF-8 only with the byte-order mark.
  const body = text.startsWith('\ufeff') ? text : `\ufeff${text}`;
  const url = URL.createObjectURL(new Blob([body], { type }));
  const a = h('a', { href: url, download: filename, hidden: true }, 'Скачать');
  document.body.append(a);
  a.click();
  setTimeout(() => {
    a.remove();
    URL.revokeObjectURL(url);
  }, 1000);
}

/** A value wrapped in a card with a small caption: a KPI tile. */
export function stat(label, value, note) {
  return h('div', { class: 'card stat' }, h('p', { class: 'muted stat-label' }, label), h('p', { class: 'big' }, value), note ? h('p', { class: 'stat-note' }, note) : null);
}

let chartLoad = null;
/** Loads Chart.js once (the UMD build sets the global `Chart`). */
export function loadChart() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!chartLoad) {
    chartLoad = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/vendor/chart.js';
      s.async = true;
      s.onload = () => (window.Chart ? resolve(window.Chart) : reject(new Error('Не удалось загрузить графики.')));
      s.onerror = () => {
        chartLoad = null;
        reject(new Error('Не удалось загрузить графики.'));
      };
      document.head.append(s);
    });
  }
  return chartLoad;
}

const PALETTE = ['#5b2bd6', '#d6452b', '#1f8a70', '#c98a00', '#2b7bd6', '#a02bd6', '#6b6b78', '#d62b7b'];

/**
 * A chart with its data table: `type` bar | doughnut, `labels`, `datasets`
 * [{label, data}]; the canvas is an image labelled with `title`, the table
 * carries the same numbers for screen readers and copying.
 */
export function chartBlock({ title, type = 'bar', labels, datasets, format = int, horizontal = false }) {
  const canvas = h('canvas', { role: 'img', 'aria-label': `${title}: график, данные в таблице ниже` });
  const box = h('div', { class: `chart-box ${type}` }, canvas);
  const status = h('div');
  const rows = labels.map((l, i) => [l, ...datasets.map((d) => format(d.data[i]))]);
  const block = h(
    'figure',
    { class: 'chart' },
    h('figcaption', { class: 'chart-title' }, title),
    box,
    status,
    h('details', { class: 'chart-data' }, h('summary', {}, 'Таблица данных'), table(title, ['', ...datasets.map((d) => d.label)], rows)),
  );
  loadChart()
    .then((Chart) => {
      const css = getComputedStyle(document.documentElement);
      const text = css.getPropertyValue('--text').trim() || '#16161a';
      const line = css.getPropertyValue('--line').trim() || '#d9d9e0';
      const doughnut = type === 'doughnut';
      const chart = new Chart(canvas, {
        type,
        data: {
          labels,
          datasets: datasets.map((d, i) => ({
            label: d.label,
            data: d.data,
            backgroundColor: doughnut ? labels.map((_, j) => PALETTE[j % PALETTE.length]) : PALETTE[i % PALETTE.length],
            borderColor: doughnut ? css.getPropertyValue('--card').trim() || '#fff' : PALETTE[i % PALETTE.length],
            borderWidth: doughnut ? 2 : 0,
          })),
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          indexAxis: horizontal ? 'y' : 'x',
          plugins: {
            legend: { display: doughnut || datasets.length > 1, labels: { color: text } },
            tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${format(c.raw)}` } },
          },
          scales: doughnut
            ? {}
            : {
                // Counts get whole-number ticks; sums are labelled as money.
                x: { ticks: { color: text, precision: 0, ...(horizontal && format !== int ? { callback: (v) => format(v) } : {}) }, grid: { color: line }, beginAtZero: true },
                y: { ticks: { color: text, precision: 0, ...(horizontal ? {} : { callback: (v) => format(v) }) }, grid: { color: line }, beginAtZero: true },
              },
        },
      });
      block.chart = chart;
    })
    .catch((e) => mount(status, failed(e)));
  return block;
}

/** Event formats, ticket statuses and other labels in Russian. */
export const FORMATS = [
  ['free', 'Бесплатное'],
  ['paid', 'Платное'],
  ['closed', 'Закрытое (по приглашениям)'],
];
export const label = (pairs, v) => (pairs.find(([k]) => k === v) || [v, v])[1];
