// The admin and owner dashboard shell: SMS login, role check, the business
// selector, the grouped side navigation and a hash router (#/<section>/<rest>)
// that renders the core sections and the engage helper's sections.

import { createApi, normalizePhone } from '/shared/api.js';
import { h, mount, field, guarded, showError, clearErrors, loading, failed } from '/shared/ui.js';
import { messageFor } from '/shared/errors.js';
import { sections as coreSections } from './core/index.js';

const api = createApi('admin');
const root = document.getElementById('app');
const BIZ_KEY = 'krug.admin.business';

// The engage sections come from another folder; a broken file there must not
// take the whole dashboard down, so it is loaded with a fallback.
async function loadEngage() {
  try {
    const mod = await import('./engage/index.js');
    return Array.isArray(mod.sections) ? mod.sections : [];
  } catch (e) {
    console.warn('engage sections unavailable', e);
    return [];
  }
}

/* ---------- Login ---------- */

function loginView() {
  let phone = null;
  const phoneField = field('Телефон', { name: 'phone', type: 'tel', autocomplete: 'tel', inputmode: 'tel', required: true, placeholder: '+7 999 123-45-67' });
  const sendBtn = h('button', { type: 'submit', class: 'primary block' }, 'Получить код');
  const phoneForm = h('form', { novalidate: true }, phoneField, sendBtn);

  const codeField = field('Код из СМС', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, required: true });
  const consent = h('input', { type: 'checkbox', id: 'login-consent', name: 'personal_data' });
  const consentBox = h(
    'div',
    { class: 'field', hidden: true },
    h('label', { class: 'check', for: 'login-consent' }, consent, 'Согласен на обработку персональных данных'),
  );
  const verifyBtn = h('button', { type: 'submit', class: 'primary block' }, 'Войти');
  const backBtn = h('button', { type: 'button', class: 'block' }, 'Изменить номер');
  const sentTo = h('p', { class: 'muted' });
  const codeForm = h('form', { novalidate: true, hidden: true }, sentTo, codeField, consentBox, verifyBtn, h('p'), backBtn);

  phoneForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(sendBtn, async () => {
      clearErrors(phoneForm);
      phone = normalizePhone(phoneField.input.value);
      if (!phone) return showError(phoneForm, { message: messageFor('INVALID_PHONE') }, 'phone');
      try {
        await api.requestCode(phone);
      } catch (e) {
        // A code sent a minute ago is still good: go on to the code step.
        if (e.code !== 'OTP_TOO_SOON') return showError(phoneForm, e, e.field ? null : 'phone');
      }
      sentTo.textContent = `Код отправлен на ${phone}.`;
      phoneForm.hidden = true;
      codeForm.hidden = false;
      codeField.input.focus();
    });
  });
  backBtn.addEventListener('click', () => {
    codeForm.hidden = true;
    phoneForm.hidden = false;
    phoneField.input.focus();
  });
  codeForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(verifyBtn, async () => {
      clearErrors(codeForm);
      const code = codeField.input.value.trim();
      if (!/^\d{6}$/.test(code)) return showError(codeForm, { message: messageFor('INVALID_CODE_FORMAT') }, 'code');
      const body = { phone, code };
      if (!consentBox.hidden) {
        if (!consent.checked) return showError(codeForm, { message: messageFor('CONSENT_REQUIRED') });
        body.consents = { personal_data: true, marketing: false };
      }
      try {
        await api.verify(body);
      } catch (e) {
        if (e.code === 'CONSENT_REQUIRED') {
          consentBox.hidden = false;
          consent.focus();
          return showError(codeForm, e);
        }
        return showError(codeForm, e, e.field ? null : 'code');
      }
      start();
    });
  });

  return h(
    'main',
    { id: 'main', class: 'wrap', tabindex: '-1' },
    h('div', { class: 'card' }, h('h1', {}, 'Панель управления «Круга»'), h('p', { class: 'muted' }, 'Для администраторов клуба и владельцев бизнесов-партнёров.'), phoneForm, codeForm),
  );
}

function noAccessView(me) {
  const out = h('button', { type: 'button' }, 'Выйти');
  out.addEventListener('click', () => guarded(out, async () => { await api.logout(); start(); }));
  return h(
    'main',
    { id: 'main', class: 'wrap', tabindex: '-1' },
    h('div', { class: 'card' }, h('h1', {}, 'Нет доступа к панели'), h('p', {}, `Номер ${me.phone} не является администратором клуба или владельцем бизнеса-партнёра.`), h('p', { class: 'muted' }, 'Если это ошибка, попросите администратора клуба добавить вас сотрудником.'), out),
  );
}

/* ---------- Shell ---------- */

async function allBusinesses() {
  const items = [];
  let cursor = null;
  for (let i = 0; i < 50; i++) {
    const page = await api.get('/admin/businesses', { limit: 100, cursor });
    items.push(...(page.items || []));
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items.sort((a, b) => a.name.localeCompare(b.name, 'ru'));
}

async function start() {
  mount(root, h('main', { id: 'main', class: 'wrap', tabindex: '-1' }, loading()));
  if (!api.isSignedIn()) return mount(root, loginView());
  let me;
  try {
    me = await api.get('/me');
  } catch (e) {
    if (!api.isSignedIn()) return mount(root, loginView());
    return mount(root, h('main', { id: 'main', class: 'wrap', tabindex: '-1' }, h('h1', {}, 'Панель управления'), failed(e, start)));
  }
  const isAdmin = (me.roles || []).includes('admin');
  const staffRole = me.staff && (me.staff.role === 'owner' || me.staff.role === 'manager') ? me.staff.role : null;
  if (!isAdmin && !staffRole) return mount(root, noAccessView(me));
  let businesses;
  try {
    businesses = await allBusinesses();
  } catch (e) {
    return mount(root, h('main', { id: 'main', class: 'wrap', tabindex: '-1' }, h('h1', {}, 'Панель управления'), failed(e, start)));
  }
  const engage = await loadEngage();
  shell(me, isAdmin, isAdmin ? 'admin' : staffRole, businesses, [...coreSections, ...engage]);
}

function shell(me, isAdmin, role, businesses, allSections) {
  const sections = allSections.filter((s) => (s.roles || []).includes(role));
  const ctx = {
    api,
    me,
    isAdmin,
    role,
    business: null,
    businesses,
    navigate(hash) {
      if (location.hash === hash) render();
      else location.hash = hash;
    },
    refresh: () => render(),
    /** Picks the header's business (admins) and re-renders. */
    setBusiness(id) {
      selectBusiness(id);
      render();
    },
    /** Reloads the business list after a business was created. */
    async reloadBusinesses() {
      ctx.businesses = await allBusinesses();
      fillSelect();
    },
  };

  function selectBusiness(id) {
    ctx.business = ctx.businesses.find((b) => b.id === id) || null;
    if (isAdmin) {
      if (ctx.business) localStorage.setItem(BIZ_KEY, ctx.business.id);
      else localStorage.removeItem(BIZ_KEY);
      if (select) select.value = ctx.business ? ctx.business.id : '';
    }
  }

  // The header: the business selector for admins, the fixed business for staff.
  let select = null;
  let bizBox;
  if (isAdmin) {
    select = h('select', { id: 'biz-select', name: 'business' });
    bizBox = h('div', { class: 'biz' }, h('label', { for: 'biz-select' }, 'Партнёр'), select);
    select.addEventListener('change', () => ctx.setBusiness(select.value));
  } else {
    bizBox = h('p', { class: 'biz' });
  }
  function fillSelect() {
    if (!select) return;
    mount(select, h('option', { value: '' }, 'Весь клуб'), ctx.businesses.map((b) => h('option', { value: b.id }, b.name)));
    select.value = ctx.business ? ctx.business.id : '';
  }
  if (isAdmin) {
    fillSelect();
    selectBusiness(localStorage.getItem(BIZ_KEY) || '');
  } else {
    ctx.business = businesses.find((b) => b.id === me.staff.business_id) || businesses[0] || null;
    mount(bizBox, h('span', { class: 'muted' }, 'Партнёр: '), h('strong', {}, ctx.business ? ctx.business.name : '—'));
  }

  const menuBtn = h('button', { type: 'button', class: 'menu-toggle', 'aria-expanded': 'false', 'aria-controls': 'sidenav' }, 'Меню');
  const logoutBtn = h('button', { type: 'button', class: 'small' }, 'Выйти');
  logoutBtn.addEventListener('click', () => guarded(logoutBtn, async () => {
    await api.logout();
    location.hash = '';
    start();
  }));
  const roleName = { admin: 'администратор', owner: 'владелец', manager: 'менеджер' }[role];
  const header = h(
    'header',
    { class: 'topbar' },
    menuBtn,
    h('p', { class: 'brand' }, 'Круг · панель'),
    bizBox,
    h('span', { class: 'who' }, `${me.first_name || me.phone} · ${roleName}`),
    logoutBtn,
  );

  // The navigation, grouped in the order groups first appear.
  const groups = [];
  for (const s of sections) {
    let g = groups.find((x) => x.name === (s.group || 'Разделы'));
    if (!g) groups.push((g = { name: s.group || 'Разделы', items: [] }));
    g.items.push(s);
  }
  const links = new Map();
  const nav = h(
    'nav',
    { id: 'sidenav', class: 'sidenav', 'aria-label': 'Разделы панели' },
    groups.map((g, i) =>
      h(
        'div',
        {},
        h('span', { class: 'group-label', id: `nav-g${i}` }, g.name),
        h(
          'ul',
          { 'aria-labelledby': `nav-g${i}` },
          g.items.map((s) => {
            const a = h('a', { href: `#/${s.id}` }, s.title);
            links.set(s.id, a);
            return h('li', {}, a);
          }),
        ),
      ),
    ),
  );
  menuBtn.addEventListener('click', () => {
    const open = !nav.classList.contains('open');
    nav.classList.toggle('open', open);
    menuBtn.setAttribute('aria-expanded', String(open));
  });
  nav.addEventListener('click', (ev) => {
    if (ev.target.closest('a')) {
      nav.classList.remove('open');
      menuBtn.setAttribute('aria-expanded', 'false');
    }
  });

  const main = h('main', { id: 'main', class: 'content', tabindex: '-1' });
  mount(root, header, h('div', { class: 'shell' }, nav, main));

  let seq = 0;
  // Marks main busy while a section loads and records which route it shows.
  const done = () => {
    main.removeAttribute('aria-busy');
    main.dataset.route = location.hash;
  };
  async function render() {
    const my = ++seq;
    main.setAttribute('aria-busy', 'true');
    const m = (location.hash || '').match(/^#\/([^/?]+)(?:\/(.*))?$/);
    const id = m ? decodeURIComponent(m[1]) : null;
    const section = sections.find((s) => s.id === id);
    if (!section) {
      if (sections.length) return ctx.navigate(`#/${sections[0].id}`);
      mount(main, h('h1', {}, 'Панель управления'), h('p', {}, 'Для вашей роли пока нет разделов.'));
      return done();
    }
    const rest = m[2] ? m[2].split('/').filter(Boolean).map(decodeURIComponent) : [];
    links.forEach((a, sid) => (sid === section.id ? a.setAttribute('aria-current', 'page') : a.removeAttribute('aria-current')));
    document.title = `${section.title} — Круг`;
    if (section.needsBusiness && !ctx.business) {
      mount(
        main,
        h('h1', {}, section.title),
        h('div', { class: 'card' }, h('p', {}, 'Выберите партнёра в шапке страницы: этот раздел относится к одному бизнесу.'), select ? h('button', { type: 'button', onclick: () => select.focus() }, 'Выбрать партнёра') : null),
      );
      return done();
    }
    mount(main, h('h1', {}, section.title), loading());
    try {
      const node = await section.render(ctx, rest);
      if (my !== seq) return;
      mount(main, node);
    } catch (e) {
      if (my !== seq) return;
      if (!api.isSignedIn()) return start();
      mount(main, h('h1', {}, section.title), failed(e, render));
    }
    done();
    main.focus({ preventScroll: true });
  }
  window.onhashchange = render;
  render();
}

api.onSignedOut(() => {
  window.onhashchange = null;
  mount(root, loginView());
});
start();
