// Small DOM helpers shared by the three apps: element building, Russian
// formatting, toasts, form errors from the API, guarded buttons, cursor-paged
// lists with loading/empty/error states, and a hash router.

/**
 * Builds an element: h('button', {class: 'primary', onclick: f}, 'Текст').
 * Attributes starting with "on" become listeners; `null`/`false` children and
 * attributes are skipped; strings are text, never HTML.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces `el`'s children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const rub = new Intl.NumberFormat('ru-RU', { style: 'currency', currency: 'RUB' });
const num = new Intl.NumberFormat('ru-RU', { maximumFractionDigits: 2 });

/** Kopecks → "1 234,50 ₽". */
export const money = (kopecks) => rub.format((Number(kopecks) || 0) / 100);

/** Points are kept in kopecks: 12 345 → "123,45 балла". */
export function points(kopecks) {
  const v = (Number(kopecks) || 0) / 100;
  // A fraction takes the genitive singular: «112,5 балла».
  const word = Number.isInteger(v) ? plural(Math.abs(v), 'балл', 'балла', 'баллов') : 'балла';
  return `${num.format(v)} ${word}`;
}

/** Russian plural form for n: plural(5, 'балл', 'балла', 'баллов'). */
export function plural(n, one, few, many) {
  const m10 = n % 10;
  const m100 = n % 100;
  if (m10 === 1 && m100 !== 11) return one;
  if (m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14)) return few;
  return many;
}

const dateFmt = new Intl.DateTimeFormat('ru-RU', { day: 'numeric', month: 'long', year: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat('ru-RU', {
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
});
/** RFC 3339 → "3 декабря 2026 г." */
export const date = (iso) => (iso ? dateFmt.format(new Date(iso)) : '—');
/** RFC 3339 → "3 дек., 14:05" */
export const dateTime = (iso) => (iso ? dateTimeFmt.format(new Date(iso)) : '—');

/** Rubles typed by a person ("1 234,5") → kopecks, or null when not a sum. */
export function parseRubles(text) {
  const s = String(text || '').replace(/[\s\u00a0₽]/g, '').replace(',', '.');
  if (!/^\d+(\.\d{1,2})?$/.test(s)) return null;
  return Math.round(parseFloat(s) * 100);
}

let toastBox;
/** A short message in a polite live region; kind: info | ok | error. */
export function toast(message, kind = 'info') {
  if (!toastBox) {
    toastBox = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(toastBox);
  }
  const t = h('div', { class: `toast ${kind}` }, message);
  toastBox.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 7000 : 4000);
}

/** Clears the error marks a previous showError left on `form`. */
export function clearErrors(form) {
  form.querySelectorAll('[aria-invalid="true"]').forEach((el) => el.removeAttribute('aria-invalid'));
  form.querySelectorAll('.field-error, .form-error').forEach((el) => {
    el.textContent = '';
    el.hidden = true;
  });
}

/**
 * Shows `err` on `form`: next to the input named by the API's details.field
 * (or `field`), else in the form's `.form-error` box.
 */
export function showError(form, err, field) {
  const name = field || err.field;
  const input = name && form.querySelector(`[name="${CSS.escape(name)}"]`);
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    const box = form.querySelector(`#${CSS.escape(input.id)}-error`);
    if (box) {
      box.textContent = err.message;
      box.hidden = false;
      input.focus();
      return;
    }
  }
  let box = form.querySelector('.form-error');
  if (!box) {
    box = h('p', { class: 'form-error', role: 'alert' });
    form.prepend(box);
  }
  box.textContent = err.message;
  box.hidden = false;
}

let fieldSeq = 0;
/**
 * A labelled input with its error box: field('Телефон', {name: 'phone',
 * type: 'tel', required: true}). Returns the wrapper; the input is `.input`.
 */
export function field(label, attrs = {}, hint) {
  const id = attrs.id || `f${++fieldSeq}-${attrs.name || 'x'}`;
  const tag = attrs.tag || 'input';
  const { tag: _t, options, ...rest } = attrs;
  const described = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' ');
  const input =
    tag === 'select'
      ? h('select', { id, ...rest, 'aria-describedby': described }, (options || []).map(([v, t]) => h('option', { value: v }, t)))
      : h(tag, { id, ...rest, 'aria-describedby': described });
  const wrap = h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    input,
    hint ? h('small', { id: `${id}-hint`, class: 'hint' }, hint) : null,
    h('p', { id: `${id}-error`, class: 'field-error', hidden: true, role: 'alert' }),
  );
  wrap.input = input;
  return wrap;
}

/**
 * Runs `fn` with `button` disabled and marked busy, so a double click or an
 * impatient second tap cannot send the same write twice.
 */
export async function guarded(button, fn) {
  if (button.disabled) return undefined;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** A "loading" placeholder. */
export const loading = (text = 'Загружаем…') => h('p', { class: 'loading', role: 'status' }, text);
/** An "empty list" placeholder. */
export const empty = (text) => h('p', { class: 'empty' }, text);
/** An error box with a retry button. */
export const failed = (err, retry) =>
  h('div', { class: 'error-box', role: 'alert' }, h('p', {}, err.message || String(err)), retry ? h('button', { type: 'button', onclick: retry }, 'Повторить') : null);

/**
 * A cursor-paged list: `fetchPage(cursor)` resolves to {items, next_cursor};
 * the next page loads when the end of the list scrolls into view (and by a
 * "Показать ещё" button, for keyboards and tests).
 */
export function pagedList({ fetchPage, render, emptyText, className = 'list' }) {
  const root = h('div', { class: 'paged' });
  const list = h('ul', { class: className });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Показать ещё');
  const status = h('div');
  root.append(list, status, more);
  let cursor = null;
  let loadingNow = false;
  let done = false;
  let count = 0;

  async function next() {
    if (loadingNow || done) return;
    loadingNow = true;
    more.hidden = true;
    mount(status, loading());
    try {
      const page = await fetchPage(cursor);
      for (const item of page.items || []) {
        const li = render(item);
        list.append(li.tagName === 'LI' ? li : h('li', {}, li));
        count++;
      }
      cursor = page.next_cursor || null;
      done = !cursor;
      mount(status, count === 0 ? empty(emptyText || 'Здесь пока пусто.') : null);
      more.hidden = done;
    } catch (e) {
      mount(status, failed(e, next));
    } finally {
      loadingNow = false;
    }
  }
  more.addEventListener('click', next);
  if ('IntersectionObserver' in window) {
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !done && count > 0) next();
    });
    io.observe(more);
  }
  next();
  return root;
}

/**
 * A hash router: routes is [[/^#\/events\/(.+)$/, (match) => Node], ...];
 * the first match renders into `outlet`; `fallback` renders otherwise.
 */
export function router(routes, outlet, fallback) {
  async function render() {
    const hash = location.hash || '#/';
    for (const [re, view] of routes) {
      const m = hash.match(re);
      if (m) {
        try {
          const node = await view(m);
          if (node) mount(outlet, node);
        } catch (e) {
          mount(outlet, failed(e, render));
        }
        outlet.focus({ preventScroll: true });
        return;
      }
    }
    mount(outlet, await fallback());
  }
  window.addEventListener('hashchange', render);
  return render;
}
