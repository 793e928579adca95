// Helpers shared by the member app's community screens: the screen frame,
// feature-flag gating, Russian labels for tiers and statuses, a confirmation
// dialog, an accessible star-rating group and query-string parsing.

import { h, mount, failed, loading } from '/shared/ui.js';

// The screens' own stylesheet, loaded once when the module is imported.
if (!document.querySelector('link[data-community]')) {
  document.head.append(h('link', { rel: 'stylesheet', href: new URL('./community.css', import.meta.url).href, dataset: { community: '1' } }));
}

export const TIERS = ['insider', 'vip', 'elite', 'inner_circle'];
// The same names the shell shows in its header.
export const TIER_LABEL = { insider: 'Инсайдер', vip: 'VIP', elite: 'Элит', inner_circle: 'Внутренний круг' };
/** Vote weight by tier (the API stores the same weights with each vote). */
export const VOTE_WEIGHT = { insider: 1, vip: 2, elite: 3, inner_circle: 5 };
export const tierRank = (t) => Math.max(0, TIERS.indexOf(t));

/** The flags object whatever shape the shell passes ({flags: {...}} or {...}). */
function flagsOf(ctx) {
  const f = ctx && ctx.flags;
  if (!f) return {};
  return f.flags && typeof f.flags === 'object' ? f.flags : f;
}
/** A capability is on unless its flag is explicitly false. */
export const flagOn = (ctx, name) => flagsOf(ctx)[name] !== false;

/** The «раздел выключен» box for a capability whose flag is off. */
export const disabledBox = () =>
  h('div', { class: 'card c-off', role: 'status' }, h('p', {}, 'Этот раздел сейчас выключен.'), h('p', { class: 'muted' }, 'Загляните позже — мы скоро его вернём.'));

/**
 * A screen: <section> with its <h1>, a back link and a body. `load(body)`
 * fills the body; it is re-run by `screen.reload()` and on a retry. When
 * `flag` is off (or the API answers FEATURE_DISABLED) the body says so.
 */
export function screen(ctx, { title, flag, back, load }) {
  const body = h('div', { class: 'c-body' });
  const heading = h('h1', { tabindex: '-1' }, title);
  const section = h('section', { class: 'wrap community', dataset: { route: location.hash } }, back ? h('a', { class: 'c-back', href: back[0] }, '← ', back[1]) : null, heading, body);
  document.title = `${title} — Круг`;
  section.setTitle = (t) => {
    heading.textContent = t;
    document.title = `${t} — Круг`;
  };
  async function reload() {
    if (flag && !flagOn(ctx, flag)) {
      mount(body, disabledBox());
      return;
    }
    if (!body.firstChild) mount(body, loading());
    try {
      await load(body, section);
    } catch (e) {
      if (e && e.code === 'FEATURE_DISABLED') mount(body, disabledBox());
      else mount(body, failed(e, reload));
    }
  }
  section.reload = reload;
  /** Moves focus to `selector` after a re-render (the pressed button is gone). */
  section.focusOn = (selector) => {
    const el = section.querySelector(selector);
    if (!el) return;
    if (!el.matches('a, button, input, select, textarea')) el.setAttribute('tabindex', '-1');
    el.focus();
  };
  reload();
  return section;
}

/** Parameters of a hash such as #/reviews/new?purchase=…&business=… */
export function hashQuery(qs) {
  return new URLSearchParams(qs || '');
}

/** A badge; `kind` ok | bad | warn; the text always carries the meaning. */
export const badge = (text, kind) => h('span', { class: `badge${kind ? ' ' + kind : ''}` }, text);

/** Asks for a yes/no in a modal <dialog>; resolves true on yes. */
export function confirmDialog(question, yesLabel = 'Да', noLabel = 'Отмена', detail) {
  return new Promise((resolve) => {
    const title = h('h2', { id: `cdlg-${Date.now()}` }, question);
    const yes = h('button', { type: 'button', class: 'danger' }, yesLabel);
    const no = h('button', { type: 'button' }, noLabel);
    const dlg = h('dialog', { class: 'c-dialog', 'aria-labelledby': title.id }, title, detail ? h('p', {}, detail) : null, h('div', { class: 'row' }, yes, no));
    const done = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    yes.addEventListener('click', () => done(true));
    no.addEventListener('click', () => done(false));
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dlg);
    dlg.showModal();
    no.focus();
  });
}

let starSeq = 0;
/**
 * A 1–5 star rating as a native radio group (arrow keys move and select):
 * returns the <fieldset>; `.value` reads the chosen rating (0 when none).
 */
export function starRating(legend = 'Оценка', initial = 0) {
  const name = `stars${++starSeq}`;
  const words = ['', 'плохо', 'так себе', 'нормально', 'хорошо', 'отлично'];
  const said = h('p', { class: 'c-stars-said', 'aria-live': 'polite' });
  const labels = [];
  const box = h('div', { class: 'c-stars' });
  const errId = `${name}-error`;
  for (let n = 1; n <= 5; n++) {
    const id = `${name}-${n}`;
    const input = h('input', { type: 'radio', name: 'rating', id, value: String(n), class: 'visually-hidden', checked: n === initial, 'aria-describedby': errId });
    const label = h('label', { for: id, title: `${n} из 5` }, h('span', { 'aria-hidden': 'true' }, '☆'), h('span', { class: 'visually-hidden' }, `${n} из 5 — ${words[n]}`));
    labels.push(label);
    box.append(input, label);
  }
  const fs = h('fieldset', { class: 'c-rating' }, h('legend', {}, legend), box, said, h('p', { id: errId, class: 'field-error', hidden: true, role: 'alert' }));
  function paint() {
    const v = fs.value;
    labels.forEach((l, i) => {
      l.firstChild.textContent = i < v ? '★' : '☆';
      l.classList.toggle('on', i < v);
    });
    said.textContent = v ? `Ваша оценка: ${v} из 5 — ${words[v]}` : 'Оценка не выбрана';
  }
  Object.defineProperty(fs, 'value', {
    get() {
      const c = fs.querySelector('input:checked');
      return c ? Number(c.value) : 0;
    },
  });
  fs.addEventListener('change', () => {
    const err = fs.querySelector('.field-error');
    err.hidden = true;
    paint();
  });
  paint();
  return fs;
}

/** A labelled horizontal bar made of DOM elements (value of max). */
export function bar(label, value, max, caption) {
  const pct = max > 0 ? Math.max(0, Math.min(100, Math.round((value / max) * 100))) : 0;
  return h(
    'div',
    { class: 'c-bar' },
    h('div', { class: 'spread' }, h('span', {}, label), h('span', { class: 'muted' }, caption || `${pct} %`)),
    h('div', { class: 'c-bar-track', role: 'img', 'aria-label': `${label}: ${caption || pct + ' %'}` }, h('div', { class: 'c-bar-fill', style: `width: ${pct}%` })),
  );
}

/** The member's recent purchases (for partner and purchase pickers). */
export async function recentPurchases(api) {
  try {
    const page = await api.get('/wallet/purchases', { limit: 50 });
    return page.items || [];
  } catch {
    return [];
  }
}

/** Partners the member has bought from: [[id, name], ...] without repeats. */
export function partnersOf(purchases) {
  const seen = new Map();
  for (const p of purchases) if (!seen.has(p.business_id)) seen.set(p.business_id, p.business_name);
  return [...seen.entries()];
}

/** A textarea's live «N / max» counter. */
export function counter(textarea, max) {
  const out = h("small", { class: "hint c-counter" });
  const upd = () => {
    const n = textarea.value.length;
    out.textContent = `${n} / ${max}`;
    out.classList.toggle('over', n > max);
  };
  textarea.addEventListener('input', upd);
  upd();
  return out;
}
