// The partner's till at /pos/: staff sign in by SMS code, find the member by
// camera scan or typed card number / QR code, then earn, redeem or
// compensate points. Every write carries one Idempotency-Key per logical
// operation, so retries after a lost answer never charge twice.

import { createApi, newIdempotencyKey, normalizePhone } from '/shared/api.js';
import { h, mount, money, points, date, parseRubles, field, showError, clearErrors, guarded, loading, empty, failed } from '/shared/ui.js';
import { readCode, tillMessage } from './code.js';
import { startScan, cameraProblem } from './scan.js';
import { TIERS, CATEGORY_OPTIONS as CATEGORIES } from '/shared/labels.js';

const api = createApi('pos');
const main = document.getElementById('main');
const who = document.getElementById('who');

const ROLES = { owner: 'Владелец', manager: 'Менеджер' };
// A QR token is accepted for 60 s; a little margin for the request itself.
const QR_FRESH_MS = 50_000;

const state = {
  me: null,
  business: null,
  // {card, qr, qrAt, via: 'card'|'qr', info: {member_id, first_name, tier, available}, writers}
  member: null,
  tab: 'earn',
  history: [],
};

let stopCamera = null;
let loggingOut = false;
function cameraOff() {
  if (stopCamera) stopCamera();
  stopCamera = null;
}

// Shows one screen and moves focus to its heading for screen readers.
function show(...nodes) {
  cameraOff();
  mount(main, ...nodes);
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

function formError(form, message, fieldName) {
  showError(form, { message, field: fieldName || null }, fieldName);
}

// Shows an API error on a form in the till's words.
function apiError(form, err, fieldName, message = tillMessage(err)) {
  let name = fieldName || err.field;
  // The member reference is not an input of the operation forms.
  if (name && name.startsWith('member.')) name = null;
  showError(form, { message, field: name }, name);
}

/**
 * One logical write: the same key while the same body is retried after a
 * failure that may have reached the server (network, 5xx, 409 in flight); a
 * new key after an answer or when the body changes.
 */
function writer(path) {
  let key = null;
  let sentBody = null;
  return async (body) => {
    const fp = JSON.stringify(body);
    if (!key || fp !== sentBody) {
      key = newIdempotencyKey();
      sentBody = fp;
    }
    try {
      const out = await api.post(path, body, { idempotencyKey: key });
      key = null;
      return out;
    } catch (e) {
      const mayHaveLanded = e.status === 0 || e.status >= 500 || e.code === 'IDEMPOTENCY_IN_FLIGHT';
      if (!mayHaveLanded) key = null;
      throw e;
    }
  };
}

// ── Header ────────────────────────────────────────────────────────────────

function renderWho() {
  if (!state.me || !state.me.staff) {
    mount(who, api.isSignedIn() ? logoutButton() : null);
    return;
  }
  const role = ROLES[state.me.staff.role] || 'Сотрудник';
  mount(
    who,
    h('div', {}, state.business ? h('p', { class: 'biz' }, state.business.name) : null, h('p', { class: 'role' }, role)),
    logoutButton(),
  );
}

function logoutButton() {
  const b = h('button', { type: 'button' }, 'Выйти');
  b.addEventListener('click', () =>
    guarded(b, async () => {
      loggingOut = true;
      await api.logout();
      loggingOut = false;
    }),
  );
  return b;
}

api.onSignedOut(() => {
  cameraOff();
  const expired = !loggingOut;
  state.me = null;
  state.business = null;
  state.member = null;
  state.history = [];
  renderWho();
  renderLogin(expired ? 'Сессия завершилась. Войдите снова.' : null);
});

// ── Sign-in ──────────────────────────────────────────────────────────────

function renderLogin(note) {
  renderWho();
  const phone = field('Телефон', { name: 'phone', type: 'tel', autocomplete: 'tel', inputmode: 'tel', required: true, placeholder: '+7 999 123-45-67' });
  const send = h('button', { type: 'submit', class: 'primary block' }, 'Получить код');
  const form = h('form', { class: 'card', novalidate: true }, h('p', { class: 'form-error', role: 'alert', hidden: true }), phone, h('div', { class: 'actions' }, send));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(send, async () => {
      clearErrors(form);
      const normalized = normalizePhone(phone.input.value);
      if (!normalized) return formError(form, 'Введите номер телефона: +7 999 123-45-67.', 'phone');
      try {
        await api.requestCode(normalized);
        renderCode(normalized, null);
      } catch (err) {
        // A code sent a moment ago is still good for five minutes.
        if (err.code === 'OTP_TOO_SOON') renderCode(normalized, 'Код уже отправлен недавно — введите его. Новый можно запросить через минуту.');
        else apiError(form, err, err.code === 'INVALID_PHONE' ? 'phone' : null);
      }
    });
  });
  show(
    h('h1', {}, 'Вход для сотрудников'),
    h('p', { class: 'muted' }, 'Войдите по номеру телефона, который партнёр указал в «Круге». Мы пришлём код в СМС.'),
    note ? h('p', { class: 'notice', role: 'status' }, note) : null,
    form,
  );
}

function renderCode(phone, note) {
  const code = field('Код из СМС', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, required: true }, `Отправлен на ${phone}`);
  const enter = h('button', { type: 'submit', class: 'primary block' }, 'Войти');
  const back = h('button', { type: 'button', class: 'block' }, 'Другой номер');
  back.addEventListener('click', () => renderLogin());
  const form = h('form', { class: 'card', novalidate: true }, h('p', { class: 'form-error', role: 'alert', hidden: true }), code, h('div', { class: 'actions' }, enter, back));
  const help = h('div', { class: 'notice', role: 'alert', hidden: true });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(enter, async () => {
      clearErrors(form);
      help.hidden = true;
      const value = code.input.value.replace(/\s/g, '');
      if (!/^\d{6}$/.test(value)) return formError(form, 'Код — это 6 цифр из СМС.', 'code');
      try {
        await api.verify({ phone, code: value });
      } catch (err) {
        if (err.code === 'CONSENT_REQUIRED') {
          mount(
            help,
            h('p', {}, tillMessage(err)),
            h('p', {}, h('a', { href: '/member/' }, 'Открыть приложение участника')),
          );
          help.hidden = false;
          return undefined;
        }
        return apiError(form, err, err.code && err.code.startsWith('INVALID_CODE') ? 'code' : null);
      }
      return start();
    });
  });
  show(h('h1', {}, 'Код из СМС'), note ? h('p', { class: 'notice', role: 'status' }, note) : null, help, form);
  code.input.focus();
}

// ── Start: who is at the till ────────────────────────────────────────────

async function start() {
  if (!api.isSignedIn()) return renderLogin();
  show(loading('Загружаем кассу…'));
  try {
    state.me = await api.get('/me');
  } catch (err) {
    if (!api.isSignedIn()) return undefined; // onSignedOut already showed the login
    return show(h('h1', {}, 'Касса'), failed({ message: tillMessage(err) }, start));
  }
  if (!state.me.staff) {
    renderWho();
    return show(
      h('h1', {}, 'Нет доступа к кассе'),
      h(
        'div',
        { class: 'card', role: 'alert' },
        h('p', {}, 'Этот номер не привязан к партнёру.'),
        h('p', { class: 'muted' }, 'Попросите владельца бизнеса добавить ваш номер в сотрудники, затем войдите снова.'),
      ),
    );
  }
  try {
    state.business = await api.get(`/admin/businesses/${encodeURIComponent(state.me.staff.business_id)}`);
  } catch {
    state.business = null; // the role alone is enough to work
  }
  renderWho();
  return renderIdentify();
}

// ── Identify ─────────────────────────────────────────────────────────────

// A camera block: a big button, the live preview while scanning, a status.
function scanner(label, onText) {
  const video = h('video', { hidden: true, 'aria-label': 'Изображение с камеры' });
  const status = h('p', { class: 'scan-status', role: 'status' });
  const go = h('button', { type: 'button', class: 'primary block' }, label);
  const stop = h('button', { type: 'button', class: 'block', hidden: true }, 'Остановить камеру');
  const off = () => {
    cameraOff();
    video.hidden = true;
    stop.hidden = true;
    go.hidden = false;
  };
  stop.addEventListener('click', () => {
    off();
    status.textContent = '';
  });
  go.addEventListener('click', () =>
    guarded(go, async () => {
      cameraOff();
      status.textContent = 'Включаем камеру…';
      try {
        video.hidden = false;
        const stopThis = await startScan(video, (text) => {
          stopCamera = null;
          off();
          status.textContent = 'Код считан.';
          onText(text);
        });
        // The screen changed while the camera was starting: switch it off.
        if (!video.isConnected) return stopThis();
        stopCamera = stopThis;
        go.hidden = true;
        stop.hidden = false;
        status.textContent = 'Наведите камеру на QR-код или штрихкод карты.';
      } catch (err) {
        off();
        status.textContent = cameraProblem(err);
      }
    }),
  );
  return h('div', { class: 'scan-box' }, go, video, stop, status);
}

function renderIdentify() {
  state.member = null;
  state.tab = 'earn';
  const input = field('Номер карты или код', { name: 'code', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', enterkeyhint: 'search', required: true }, '13 цифр с карты или код из QR в приложении участника');
  const find = h('button', { type: 'submit', class: 'primary block' }, 'Найти покупателя');
  const form = h('form', { class: 'card', novalidate: true }, h('p', { class: 'form-error', role: 'alert', hidden: true }), input, h('div', { class: 'actions' }, find));

  async function identify(raw) {
    clearErrors(form);
    const ref = readCode(raw);
    if (ref.error) return formError(form, ref.error, 'code');
    try {
      const info = await api.post('/pos/identify', ref, { idempotencyKey: newIdempotencyKey() });
      state.member = { card: ref.card_number || null, qr: ref.qr_token || null, qrAt: ref.qr_token ? Date.now() : 0, via: ref.qr_token ? 'qr' : 'card', info };
      return renderMember();
    } catch (err) {
      // Everything about the member reference belongs to the one input.
      return apiError(form, err, err.status >= 400 && err.status < 500 ? 'code' : null);
    }
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(find, () => identify(input.input.value));
  });
  const scan = scanner('Сканировать QR или штрихкод', (text) => {
    input.input.value = text;
    guarded(find, () => identify(text));
  });
  show(
    h('h1', {}, 'Покупатель'),
    h('section', { class: 'card', 'aria-label': 'Сканирование' }, scan),
    h('p', { class: 'or' }, 'или введите вручную'),
    form,
    historyStrip(),
  );
}

// ── The identified member ────────────────────────────────────────────────

function memberCard() {
  const m = state.member;
  const name = m.info.first_name || 'Участник без имени';
  return h(
    'section',
    { class: 'card member-card', 'aria-labelledby': 'member-name' },
    h(
      'div',
      { class: 'spread' },
      h('h1', { id: 'member-name' }, name),
      h('p', { class: 'tier' }, 'Статус: ', h('span', { class: 'badge' }, TIERS[m.info.tier] || m.info.tier)),
    ),
    h('p', { class: 'balance' }, 'Доступно: ', points(m.info.available)),
    h('p', { class: 'via muted' }, m.via === 'qr' ? 'Найден по QR-коду' : 'Найден по номеру карты'),
  );
}

// Earning and compensating prefer the card number: it does not expire.
function memberRef() {
  const m = state.member;
  return m.card ? { card_number: m.card } : { qr_token: m.qr };
}

function nextCustomerButton(primary) {
  const b = h('button', { type: 'button', class: primary ? 'primary block' : 'block' }, 'Следующий покупатель');
  b.addEventListener('click', () => renderIdentify());
  return b;
}

const TABS = [
  ['earn', 'Начислить'],
  ['redeem', 'Списать'],
  ['compensate', 'Компенсировать'],
];

function renderMember() {
  const panel = h('div', { id: 'op-panel' });
  const tabs = h(
    'div',
    { class: 'ops', role: 'group', 'aria-label': 'Операция' },
    TABS.map(([id, label]) => {
      const b = h('button', { type: 'button', 'aria-pressed': String(state.tab === id), 'aria-controls': 'op-panel' }, label);
      b.addEventListener('click', () => {
        state.tab = id;
        tabs.querySelectorAll('button').forEach((x, i) => x.setAttribute('aria-pressed', String(TABS[i][0] === id)));
        mount(panel, operation());
        const first = panel.querySelector('input, select, button');
        if (first) first.focus();
      });
      return b;
    }),
  );
  mount(panel, operation());
  show(memberCard(), tabs, panel, h('div', { class: 'stack' }, nextCustomerButton(false)));
}

function operation() {
  cameraOff();
  if (state.tab === 'redeem') return redeemForm();
  if (state.tab === 'compensate') return compensateForm();
  return earnForm();
}

// Kopecks from a rubles input, or an error shown next to it.
function rublesFrom(form, wrap, name, what) {
  const v = parseRubles(wrap.input.value);
  if (v === null || v <= 0) {
    formError(form, `Введите ${what} в рублях, например 1 234,50.`, name);
    return null;
  }
  return v;
}

function opForm(title, fields, submitLabel) {
  const submit = h('button', { type: 'submit', class: 'primary block' }, submitLabel);
  const form = h('form', { class: 'card', novalidate: true, 'aria-label': title }, h('h2', {}, title), h('p', { class: 'form-error', role: 'alert', hidden: true }), fields, h('div', { class: 'actions' }, submit));
  form.submitButton = submit;
  return form;
}

// The member's writers live as long as the member is at the till, so a
// retry after switching tabs still carries the first attempt's key.
function writerFor(kind, path) {
  const w = state.member.writers || (state.member.writers = {});
  if (!w[kind]) w[kind] = writer(path);
  return w[kind];
}

// Earn: a paid purchase, cashback by the club's rules.
function earnForm() {
  const send = writerFor('earn', '/pos/purchases');
  const amount = field('Сумма покупки, ₽', { name: 'amount', inputmode: 'decimal', autocomplete: 'off', required: true, placeholder: '0,00' });
  const category = field('Категория', { tag: 'select', name: 'category', options: CATEGORIES, required: true });
  category.input.value = (state.business && state.business.category) || 'gastronomy';
  // The receipt number also stops the same sale being recorded twice.
  const receipt = field('Номер чека (необязательно)', { name: 'external_id', autocomplete: 'off', maxlength: 255 });
  const form = opForm('Начислить баллы', [amount, category, receipt], 'Начислить баллы');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(form.submitButton, async () => {
      clearErrors(form);
      const sum = rublesFrom(form, amount, 'amount', 'сумму покупки');
      if (sum === null) return;
      const body = { member: memberRef(), amount: sum, category: category.input.value };
      const ext = receipt.input.value.trim();
      if (ext) body.external_id = ext;
      try {
        const out = await send(body);
        if (out.points_status === 'available') state.member.info.available += out.points_earned || 0;
        renderDone('earn', { ...out, amount: sum });
      } catch (err) {
        if (err.code === 'QR_TOKEN_EXPIRED') return qrExpired(form, err);
        apiError(form, err);
      }
    });
  });
  return form;
}

// The points and the order number that redeem and compensate both ask for:
// {points, order_ref}, or null with the error shown on its field.
function pointsAndOrder(form, pts, order, missingOrder) {
  const p = rublesFrom(form, pts, 'points', 'количество баллов');
  if (p === null) return null;
  const ref = order.input.value.trim();
  if (!ref) {
    formError(form, missingOrder, 'order_ref');
    return null;
  }
  return { points: p, order_ref: ref };
}

// Redeem: spending needs the member's fresh QR token, never the card alone.
function redeemForm() {
  const m = state.member;
  const fresh = m.qr && Date.now() - m.qrAt < QR_FRESH_MS;
  if (!fresh) return freshQrBlock(m.qr ? 'QR-код устарел: он действует минуту. Попросите покупателя показать карту ещё раз.' : 'Для списания нужен QR-код из приложения покупателя: номера карты недостаточно.');
  const send = writerFor('redeem', '/pos/redemptions');
  const pts = field('Сколько баллов списать', { name: 'points', inputmode: 'decimal', autocomplete: 'off', required: true, placeholder: '0' }, `Доступно: ${points(m.info.available)}. 1 балл = 1 ₽`);
  const order = field('Номер заказа или чека', { name: 'order_ref', autocomplete: 'off', required: true, maxlength: 255 });
  const check = field('Сумма чека, ₽', { name: 'check_amount', inputmode: 'decimal', autocomplete: 'off' }, 'Нужна, когда партнёр ограничивает долю оплаты баллами');
  check.hidden = true;
  const form = opForm('Списать баллы', [pts, order, check], 'Списать баллы');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(form.submitButton, async () => {
      clearErrors(form);
      const asked = pointsAndOrder(form, pts, order, 'Укажите номер заказа или чека.');
      if (!asked) return;
      const body = { member: { qr_token: m.qr }, ...asked };
      if (!check.hidden) {
        const c = rublesFrom(form, check, 'check_amount', 'сумму чека');
        if (c === null) return;
        body.check_amount = c;
      }
      try {
        const out = await send(body);
        m.info.available = out.available;
        renderDone('redeem', out);
      } catch (err) {
        if (err.code === 'QR_TOKEN_EXPIRED') return qrExpired(form, err);
        if (err.code === 'CHECK_AMOUNT_REQUIRED') check.hidden = false;
        if (err.code === 'INSUFFICIENT_POINTS') {
          return apiError(form, err, 'points', `${tillMessage(err)} Доступно: ${points(m.info.available)}.`);
        }
        apiError(form, err);
      }
    });
  });
  return form;
}

// Asks for the member's current QR and checks it names the same member.
function freshQrBlock(reason, title = 'Списать баллы') {
  const m = state.member;
  const input = field('Код из QR', { name: 'qr', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', required: true }, 'Отсканируйте QR-код или вставьте код из приложения покупателя');
  const ok = h('button', { type: 'submit', class: 'primary block' }, 'Подтвердить QR-код');
  const form = h('form', { class: 'card', novalidate: true, 'aria-label': 'Свежий QR-код' }, h('p', { class: 'form-error', role: 'alert', hidden: true }), input, h('div', { class: 'actions' }, ok));
  async function check(raw) {
    clearErrors(form);
    const ref = readCode(raw);
    if (ref.error) return formError(form, ref.error, 'qr');
    if (!ref.qr_token) return formError(form, 'Это номер карты. Для списания нужен QR-код из приложения.', 'qr');
    try {
      const info = await api.post('/pos/identify', ref, { idempotencyKey: newIdempotencyKey() });
      if (info.member_id !== m.info.member_id) return formError(form, 'Это QR-код другого участника. Нажмите «Следующий покупатель», чтобы обслужить его.', 'qr');
      Object.assign(m, { qr: ref.qr_token, qrAt: Date.now(), info });
      return renderMember();
    } catch (err) {
      return apiError(form, err, 'qr');
    }
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(ok, () => check(input.input.value));
  });
  const scan = scanner('Сканировать QR-код', (text) => {
    input.input.value = text;
    guarded(ok, () => check(text));
  });
  return h(
    'div',
    { class: 'stack' },
    h('h2', {}, title),
    h('p', { class: 'notice', role: 'status' }, reason),
    h('div', { class: 'card' }, scan),
    form,
  );
}

// An expired token: the member shows the QR again; what was typed stays.
function qrExpired(form, err) {
  apiError(form, err);
  state.member.qrAt = 0;
  if (form.querySelector('.again')) return;
  const again = h('button', { type: 'button', class: 'block again' }, 'Отсканировать QR-код заново');
  // The typed values stay in the form behind; the same tab comes back.
  again.addEventListener('click', () => {
    const title = form.querySelector('h2').textContent;
    form.replaceWith(freshQrBlock('Попросите покупателя показать QR-код в приложении ещё раз.', title));
  });
  form.querySelector('.actions').append(again);
}

// Compensate: goodwill points for an order, capped per order by the club.
function compensateForm() {
  const send = writerFor('compensate', '/pos/compensations');
  const pts = field('Сколько баллов начислить', { name: 'points', inputmode: 'decimal', autocomplete: 'off', required: true, placeholder: '0' }, '1 балл = 1 ₽; лимит на один заказ задаёт клуб');
  const reason = field('Причина', { name: 'reason', autocomplete: 'off', required: true, maxlength: 500, placeholder: 'Например: недовес в доставке' });
  const order = field('Номер заказа', { name: 'order_ref', autocomplete: 'off', required: true, maxlength: 255 });
  const form = opForm('Компенсировать', [pts, reason, order], 'Начислить компенсацию');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    guarded(form.submitButton, async () => {
      clearErrors(form);
      const asked = pointsAndOrder(form, pts, order, 'Укажите номер заказа.');
      if (!asked) return;
      const why = reason.input.value.trim();
      if (!why) return formError(form, 'Укажите причину компенсации.', 'reason');
      try {
        const out = await send({ member: memberRef(), points: asked.points, reason: why, order_ref: asked.order_ref });
        state.member.info.available = out.available;
        renderDone('compensate', out);
      } catch (err) {
        if (err.code === 'QR_TOKEN_EXPIRED') return qrExpired(form, err);
        apiError(form, err);
      }
    });
  });
  return form;
}

// ── Confirmation and the session's history ───────────────────────────────

function renderDone(kind, out) {
  const name = state.member.info.first_name || 'Участник';
  const rows = [];
  let headline;
  let title = 'Готово';
  if (kind === 'earn') {
    const duplicate = out.status === 'duplicate';
    title = duplicate ? 'Чек уже был проведён' : 'Баллы начислены';
    headline = duplicate ? 'Повторно баллы не начислены' : `+${points(out.points_earned)}`;
    rows.push(['Покупка', money(out.amount)]);
    if (!duplicate) {
      rows.push([
        'Статус',
        out.points_status === 'available' ? 'Баллы уже доступны' : `Ожидают подтверждения${out.points_available_at ? ` до ${date(out.points_available_at)}` : ''}`,
      ]);
    }
  } else if (kind === 'redeem') {
    title = 'Баллы списаны';
    headline = `−${points(out.points)}`;
    rows.push(['Заказ', out.order_ref], ['Осталось', points(out.available)]);
  } else {
    title = 'Компенсация начислена';
    headline = `+${points(out.points)}`;
    rows.push(['Заказ', out.order_ref], ['Доступно', points(out.available)]);
  }
  rows.unshift(['Покупатель', name]);
  state.history.unshift({ text: `${title}: ${headline}`, name, at: new Date() });

  const more = h('button', { type: 'button', class: 'block' }, 'Ещё операция с этим покупателем');
  more.addEventListener('click', () => renderMember());
  show(
    h(
      'section',
      { class: 'card done', role: 'status', 'aria-live': 'polite' },
      h('div', { class: 'mark', 'aria-hidden': 'true' }, '✓'),
      h('h1', {}, title),
      h('p', { class: 'headline' }, headline),
      h('dl', {}, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    ),
    h('div', { class: 'actions bare' }, nextCustomerButton(true), more),
    historyStrip(),
  );
}

const timeFmt = new Intl.DateTimeFormat('ru-RU', { hour: '2-digit', minute: '2-digit' });
function historyStrip() {
  return h(
    'section',
    { class: 'card history', 'aria-labelledby': 'history-title' },
    h('h2', { id: 'history-title' }, 'Операции за эту смену'),
    state.history.length
      ? h(
          'ul',
          { class: 'list' },
          state.history.slice(0, 20).map((x) => h('li', {}, h('span', {}, `${x.name} — ${x.text}`), h('time', { datetime: x.at.toISOString() }, timeFmt.format(x.at)))),
        )
      : empty('Пока операций нет.'),
  );
}

start();
