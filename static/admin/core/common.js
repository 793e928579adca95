// Helpers shared by the dashboard's core sections: Russian names for the
// API's enums, section headers, confirm/secret dialogs, field errors that
// find the input named by details.field, and form value conversions.

import { h, showError, money } from '/shared/ui.js';
import { messageFor } from '/shared/errors.js';
import { CATEGORY_OPTIONS, TIER_OPTIONS, categoryName, tierName } from '/shared/labels.js';

export const CATEGORIES = CATEGORY_OPTIONS;
export const TIERS = TIER_OPTIONS;
export { categoryName, tierName };

export const CHANNELS = [
  ['app', 'Приложение'],
  ['pos', 'Касса'],
  ['web', 'Сайт'],
];

export const ROLES = [
  ['manager', 'Менеджер'],
  ['owner', 'Владелец'],
];
export const roleName = (r) => (ROLES.find(([k]) => k === r) || [r, r])[1];

export const businessName = (ctx, id) => {
  const b = ctx.businesses.find((x) => x.id === id);
  return b ? b.name : 'Партнёр';
};

/** The section's h1 with buttons on the right. */
export const head = (title, ...actions) => h('div', { class: 'section-head' }, h('h1', {}, title), h('div', { class: 'actions' }, actions));

/** A card with an h2. */
export const card = (title, ...children) => h('section', { class: 'card' }, title ? h('h2', {}, title) : null, children);

/** A table inside a scroll wrapper; rows are arrays of cells. */
export function table(caption, headers, rows) {
  return h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))),
    ),
  );
}

/**
 * A list page as a table: pages come from fetchPage(cursor) → {items,
 * next_cursor}; loading, empty and error states, and a «Показать ещё» button.
 */
export function pagedTable({ caption, headers, row, fetchPage, emptyText }) {
  const tbody = h('tbody');
  const wrap = h(
    'div',
    // Focusable so a keyboard can scroll a wide table on a phone.
    { class: 'table-wrap', hidden: true, tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', {}, h('caption', { class: 'visually-hidden' }, caption), h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))), tbody),
  );
  const status = h('div');
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Показать ещё');
  let cursor = null;
  let count = 0;
  let busy = false;
  async function next() {
    if (busy) return;
    busy = true;
    more.hidden = true;
    status.replaceChildren(h('p', { class: 'loading', role: 'status' }, 'Загружаем…'));
    try {
      const page = await fetchPage(cursor);
      for (const item of page.items || []) {
        tbody.append(h('tr', {}, row(item).map((c) => h('td', {}, c))));
        count++;
      }
      cursor = page.next_cursor || null;
      wrap.hidden = count === 0;
      status.replaceChildren(count === 0 ? h('p', { class: 'empty' }, emptyText || 'Здесь пока пусто.') : '');
      more.hidden = !cursor;
    } catch (e) {
      status.replaceChildren(h('div', { class: 'error-box', role: 'alert' }, h('p', {}, e.message), h('button', { type: 'button', onclick: next }, 'Повторить')));
    } finally {
      busy = false;
    }
  }
  more.addEventListener('click', next);
  next();
  return h('div', { class: 'paged' }, wrap, status, more);
}

/** A modal dialog; resolves true when the confirm button is pressed. */
export function confirmDialog(title, text, okLabel = 'Подтвердить') {
  return new Promise((resolve) => {
    const ok = h('button', { type: 'button', class: 'danger-solid' }, okLabel);
    const cancel = h('button', { type: 'button' }, 'Отмена');
    const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
    const dlg = h('dialog', { 'aria-labelledby': titleId }, h('h2', { id: titleId }, title), h('p', {}, text), h('div', { class: 'actions' }, ok, cancel));
    const done = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    ok.addEventListener('click', () => done(true));
    cancel.addEventListener('click', () => done(false));
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

/** Shows a secret once, with a copy button and a warning. */
export function secretDialog(title, secret, warning) {
  return new Promise((resolve) => {
    const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
    const code = h('code', { class: 'secret', id: `${titleId}-secret` }, secret);
    const copied = h('p', { role: 'status', class: 'muted' });
    const copy = h('button', { type: 'button', class: 'primary' }, 'Скопировать');
    const close = h('button', { type: 'button' }, 'Я сохранил ключ, закрыть');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(secret);
        copied.textContent = 'Скопировано в буфер обмена.';
      } catch {
        // No clipboard permission: select the text so Ctrl+C works.
        const r = document.createRange();
        r.selectNodeContents(code);
        const sel = getSelection();
        sel.removeAllRanges();
        sel.addRange(r);
        copied.textContent = 'Выделено — нажмите Ctrl+C, чтобы скопировать.';
      }
    });
    const dlg = h(
      'dialog',
      { 'aria-labelledby': titleId },
      h('h2', { id: titleId }, title),
      h('p', { class: 'warning', role: 'alert' }, h('strong', {}, 'Внимание: '), warning),
      code,
      copied,
      h('div', { class: 'actions' }, copy, close),
    );
    const done = () => {
      dlg.close();
      dlg.remove();
      resolve();
    };
    close.addEventListener('click', done);
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      done();
    });
    document.body.append(dlg);
    dlg.showModal();
    copy.focus();
  });
}

// Messages for codes that mean something else on the dashboard's forms (the
// shared table's INVALID_CODE_FORMAT is about SMS codes).
const FIELD_MESSAGES = {
  'INVALID_CODE_FORMAT:code': 'Промокод — от 3 до 32 латинских букв, цифр, «_» или «-».',
  'PROMO_CODE_TAKEN:': 'Такой промокод уже есть — придумайте другой.',
};

/**
 * Shows an API error on the form next to the input details.field names,
 * trying the path's parents ("a.b[2].c" → "a.b[2]" → "a.b" → "a") so a
 * group's fieldset takes the error of one of its items; `fallbackField` is
 * used when the API named no field.
 */
export function showApiError(form, err, fallbackField) {
  const name = err.field || fallbackField || '';
  const message = FIELD_MESSAGES[`${err.code}:${name}`] || FIELD_MESSAGES[`${err.code}:`] || err.message;
  const e = { message, code: err.code };
  let cand = name;
  while (cand) {
    if (form.querySelector(`[name="${CSS.escape(cand)}"]`)) return showError(form, e, cand);
    const cut = Math.max(cand.lastIndexOf('.'), cand.lastIndexOf('['));
    cand = cut > 0 ? cand.slice(0, cut) : '';
  }
  return showError(form, e, null);
}

/** A client-side error next to `name`. */
export const fieldError = (form, name, message) => showError(form, { message }, name);

/** A required-field message. */
export const REQUIRED = 'Заполните это поле.';

/** "" → null, "12" → 12, anything else → NaN. */
export function intOrNull(v) {
  const s = String(v ?? '').trim();
  if (!s) return null;
  return /^-?\d+$/.test(s) ? parseInt(s, 10) : NaN;
}

/** A <input type="datetime-local"> value (local time) → RFC 3339 UTC, or null. */
export function localToIso(v) {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** RFC 3339 → a datetime-local value in the browser's zone. */
export function isoToLocal(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Kopecks → the rubles text a person would type ("1234,5"). */
export function rublesText(kopecks) {
  if (kopecks === null || kopecks === undefined) return '';
  const r = kopecks / 100;
  return String(r).replace('.', ',');
}

export { money, messageFor };

/** A group of checkboxes inside a fieldset named `name` (for errors). */
export function checkGroup(legend, name, options, checked = [], hint) {
  const id = `g-${name.replace(/[^a-z0-9]/gi, '-')}-${Math.random().toString(36).slice(2, 7)}`;
  const boxes = options.map(([v, t]) => {
    const cid = `${id}-${v}`;
    return h('label', { for: cid }, h('input', { type: 'checkbox', id: cid, value: v, checked: checked.includes(v) }), t);
  });
  const fs = h(
    'fieldset',
    { name, id, 'aria-describedby': `${id}-error` },
    h('legend', {}, legend),
    hint ? h('small', { class: 'hint' }, hint) : null,
    h('div', { class: 'checks' }, boxes),
    h('p', { id: `${id}-error`, class: 'field-error', hidden: true, role: 'alert' }),
  );
  fs.values = () => boxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
  return fs;
}

/** A single checkbox with its label. */
export function checkbox(label, name, checked, hint) {
  const id = `c-${name}-${Math.random().toString(36).slice(2, 7)}`;
  const input = h('input', { type: 'checkbox', id, name, checked: !!checked });
  const wrap = h('div', { class: 'field' }, h('label', { class: 'check', for: id }, input, label), hint ? h('small', { class: 'hint' }, hint) : null, h('p', { id: `${id}-error`, class: 'field-error', hidden: true, role: 'alert' }));
  wrap.input = input;
  return wrap;
}

/** A status badge whose meaning is in its text, not only its colour. */
export const badge = (text, kind = '') => h('span', { class: `badge ${kind}` }, text);
