// Browser tests of the member app at "/": sign-in through the UI (phone typed
// the "8 (…)" way, code from the mock SMS, consent with a referral code), the
// card, the QR the till accepts, history after a POS purchase, coupons,
// referral, profile, sign-out and account deletion, at phone and desktop
// sizes, plus the service worker and what it keeps in Cache Storage.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startApp,
  seedClub,
  launchBrowser,
  newPage,
  signIn,
  assertNoConsoleErrors,
  assertAccessible,
  screenshot,
  decodeQr,
  key,
  PHONE_SIZE,
  DESKTOP_SIZE,
} from './harness.mjs';

const PHONE = '+79991234567';
const TYPED_PHONE = '8 (999) 123-45-67';
const FRIEND = '+79995550001';
const LEAVER = '+79995550002';

let app;
let browser;
let club;
let cashier; // staff tokens for the till
let friend; // an existing member who invites the new one; browsed at desktop size
let friendCode;
let page; // the phone-sized page the new member uses throughout

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function check(p, name) {
  await screenshot(p, name);
  await assertAccessible(p, name);
  assertNoConsoleErrors(p, name);
}

const visibleErrors = (p) => p.locator('.field-error:not([hidden]), .form-error:not([hidden])');

async function pos(path, body) {
  const r = await app.api('POST', path, { token: cashier.access_token, body, headers: { 'idempotency-key': key() } });
  return r;
}

/** The member's own tokens as the page stores them. */
async function pageSession(p) {
  return p.evaluate(() => JSON.parse(localStorage.getItem('krug.member') || 'null'));
}

// An independent EAN-13 reader for the drawn bars: widths → digits.
const L_CODES = ['0001101', '0011001', '0010011', '0111101', '0100011', '0110001', '0101111', '0111011', '0110111', '0001011'];
const FIRST = { LLLLLL: 0, LLGLGG: 1, LLGGLG: 2, LLGGGL: 3, LGLLGG: 4, LGGLLG: 5, LGGGLL: 6, LGLGLG: 7, LGLGGL: 8, LGGLGL: 9 };
function readEan13(bits) {
  assert.equal(bits.length, 95);
  assert.equal(bits.slice(0, 3), '101');
  assert.equal(bits.slice(45, 50), '01010');
  assert.equal(bits.slice(92), '101');
  const inv = (s) => s.replace(/./g, (b) => (b === '0' ? '1' : '0'));
  let parity = '';
  let digits = '';
  for (let i = 0; i < 6; i++) {
    const chunk = bits.slice(3 + i * 7, 10 + i * 7);
    const l = L_CODES.indexOf(chunk);
    const g = L_CODES.indexOf(inv(chunk).split('').reverse().join(''));
    assert.ok(l >= 0 || g >= 0, `left digit ${i} decodes`);
    parity += l >= 0 ? 'L' : 'G';
    digits += l >= 0 ? l : g;
  }
  for (let i = 0; i < 6; i++) {
    const d = L_CODES.indexOf(inv(bits.slice(50 + i * 7, 57 + i * 7)));
    assert.ok(d >= 0, `right digit ${i} decodes`);
    digits += d;
  }
  assert.ok(parity in FIRST, 'parity pattern names the first digit');
  const all = `${FIRST[parity]}${digits}`;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(all[i]) * (i % 2 ? 3 : 1);
  assert.equal((10 - (sum % 10)) % 10, Number(all[12]), 'check digit');
  return all;
}

before(async () => {
  app = await startApp();
  club = await seedClub(app);
  cashier = club.staff; // the owner's tokens from seedClub work the till

  // A partner for cross-promo coupons: buying at the café issues one for it.
  const florist = await app.api('POST', '/api/v1/admin/businesses', { token: club.admin.access_token, body: { name: 'Цветы «Пион»', category: 'floristry' } });
  assert.equal(florist.status, 201, JSON.stringify(florist.body));
  const cp = await app.api('POST', '/api/v1/admin/cross-promos', {
    token: club.admin.access_token,
    body: { from_business_id: club.business.id, to_business_id: florist.body.id, title: 'Бонус в цветочной', bonus_pct: 15 },
  });
  assert.ok(cp.status === 201 || cp.status === 200, JSON.stringify(cp.body));

  friend = await app.login(FRIEND, { first_name: 'Ольга', last_name: 'Смирнова' });
  friendCode = (await app.api('GET', '/api/v1/referrals/me', { token: friend.access_token })).body.code;
  const fp = await pos('/api/v1/pos/purchases', { member: { phone: FRIEND }, amount: 420000, category: 'gastronomy' });
  assert.equal(fp.status, 201, JSON.stringify(fp.body));

  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (app) await app.stop();
});

test('a new member signs in through the UI: phone, SMS code, consent with a referral code', async () => {
  page = await newPage(browser, PHONE_SIZE, { permissions: ['clipboard-read', 'clipboard-write'] });
  await page.goto(`${app.url}/?ref=${friendCode}`);
  const phone = page.getByLabel('Телефон');
  await phone.waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'ru');
  assert.equal(await phone.getAttribute('type'), 'tel');
  await check(page, 'member-login-phone');

  // A phone that is not Russian is refused before anything is sent.
  const sent = app.sms.length;
  await phone.fill('12345');
  await page.getByRole('button', { name: 'Получить код' }).click();
  await visibleErrors(page).filter({ hasText: 'российский номер' }).waitFor();
  assert.equal(await phone.getAttribute('aria-invalid'), 'true');
  assert.equal(app.sms.length, sent, 'no SMS for an invalid phone');

  await phone.fill('');
  await phone.pressSequentially(TYPED_PHONE);
  await page.getByRole('button', { name: 'Получить код' }).click();
  const codeInput = page.getByLabel('Код из СМС');
  await codeInput.waitFor();
  assert.equal(await codeInput.getAttribute('autocomplete'), 'one-time-code');
  const code = await app.codeFor(PHONE, sent);
  const resend = page.getByRole('button', { name: /Отправить код ещё раз/ });
  assert.ok(await resend.isDisabled(), 'resend waits for the countdown');
  assert.match(await resend.textContent(), /через \d+ с/);
  await check(page, 'member-login-code');

  // A wrong code is explained in Russian next to the field.
  await codeInput.fill(code === '000000' ? '111111' : '000000');
  await page.getByRole('button', { name: 'Войти' }).click();
  await visibleErrors(page).filter({ hasText: 'Неверный или устаревший код' }).waitFor();

  await codeInput.fill(code);
  await page.getByRole('button', { name: 'Войти' }).click();
  await page.getByRole('heading', { name: 'Добро пожаловать в клуб' }).waitFor();
  assert.equal(await page.getByLabel('Код приглашения').inputValue(), friendCode, 'referral code from ?ref=');

  // The name and the consent are required before the form is sent.
  await page.getByRole('button', { name: 'Вступить в клуб' }).click();
  await visibleErrors(page).filter({ hasText: 'Введите имя' }).waitFor();
  await page.getByLabel('Имя', { exact: true }).fill('Анна');
  await page.getByRole('button', { name: 'Вступить в клуб' }).click();
  await visibleErrors(page).filter({ hasText: 'согласие на обработку' }).waitFor();
  await check(page, 'member-login-consent');

  await page.getByLabel('Согласен на обработку персональных данных').check();
  await page.getByRole('button', { name: 'Вступить в клуб' }).click();
  await page.getByTestId('balance-available').waitFor();
  assert.equal(new URL(page.url()).search, '', 'the ?ref= is dropped once signed in');

  const session = await pageSession(page);
  const me = await app.api('GET', '/api/v1/me', { token: session.access_token });
  assert.equal(me.status, 200);
  assert.equal(me.body.phone, PHONE);
  assert.equal(me.body.first_name, 'Анна');
  assert.equal(me.body.marketing_consent, false);
  const refs = await app.api('GET', '/api/v1/referrals/me', { token: friend.access_token });
  assert.equal(refs.body.invited, 1, 'the invitation was captured at registration');
});

test('the card shows the balance and tier; the QR screen gives a token the till accepts', async () => {
  await page.getByRole('heading', { name: 'Здравствуйте, Анна!' }).waitFor();
  assert.match(await page.getByTestId('balance-available').textContent(), /^0\s/);
  assert.match(await page.getByTestId('balance-pending').textContent(), /^0\s/);
  assert.equal(await page.getByTestId('tier').textContent(), 'Инсайдер');
  assert.ok(await page.locator('svg.ring[role=img]').getAttribute('aria-label'));
  await page.getByText('Потрачено за 12 месяцев').waitFor();
  await page.getByText('Добро пожаловать').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Карта' }).getAttribute('aria-current'), 'page');
  await check(page, 'member-card-phone');

  await page.getByRole('button', { name: 'Показать карту' }).click();
  const qr = page.getByTestId('qr');
  await qr.waitFor();
  assert.equal(await qr.getAttribute('alt'), 'QR-код карты участника');
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid=qr]');
    return img && img.complete && img.naturalWidth > 0;
  });
  const token = await decodeQr(await qr.screenshot());
  assert.ok(token, 'the QR screenshot decodes');

  const session = await pageSession(page);
  const me = (await app.api('GET', '/api/v1/me', { token: session.access_token })).body;
  const seen = await pos('/api/v1/pos/identify', { qr_token: token });
  assert.equal(seen.status, 200, JSON.stringify(seen.body));
  assert.equal(seen.body.member_id, me.id);
  assert.equal(seen.body.first_name, 'Анна');

  // The barcode under the QR is the card number, with a valid check digit.
  const card = page.getByTestId('card-number');
  assert.equal(await card.getAttribute('data-number'), me.card_number);
  assert.equal((await card.locator('figcaption').textContent()).replace(/\D/g, ''), me.card_number);
  const bars = await card.locator('svg rect[data-bar]').evaluateAll((rects) => rects.map((r) => [Number(r.getAttribute('x')), Number(r.getAttribute('width'))]));
  const bits = Array(95).fill('0');
  for (const [x, w] of bars) for (let i = x - 11; i < x - 11 + w; i++) bits[i] = '1';
  assert.equal(readEan13(bits.join('')), me.card_number);

  const left = Number((await page.locator('.countdown').textContent()).match(/через (\d+) с/)[1]);
  assert.ok(left > 30 && left <= 60, `refresh ~10 s before expiry, got ${left} s`);
  await check(page, 'member-qr-phone');

  await page.getByRole('button', { name: 'Закрыть' }).click();
  await page.getByTestId('balance-available').waitFor();
});

test('coupons: the empty state before any purchase', async () => {
  await page.getByRole('link', { name: 'Купоны' }).click();
  await page.getByRole('heading', { name: 'Купоны' }).waitFor();
  await page.getByText('Купонов пока нет').waitFor();
  await check(page, 'member-coupons-empty-phone');
});

test('a POS purchase shows in the ledger, the purchases and the coupons', async () => {
  const session = await pageSession(page);
  const me = (await app.api('GET', '/api/v1/me', { token: session.access_token })).body;
  const bought = await pos('/api/v1/pos/purchases', { member: { card_number: me.card_number }, amount: 150000, category: 'gastronomy' });
  assert.equal(bought.status, 201, JSON.stringify(bought.body));
  const earned = bought.body.points_earned;
  assert.ok(earned > 0);

  await page.getByRole('link', { name: 'История' }).click();
  const entry = page.locator('li.entry').first();
  await entry.waitFor();
  const text = await entry.textContent();
  assert.match(text, /Начисление/);
  assert.match(text, /Кэшбэк — Кофейня «Зерно»/);
  assert.ok(text.includes(`+${(earned / 100).toLocaleString('ru-RU')}`), `signed amount in ${text}`);
  assert.match(text, /Ожидает/);
  assert.equal(await page.locator('li.entry .amount.plus').count(), 1);
  await check(page, 'member-history-ledger-phone');

  await page.getByRole('link', { name: 'Покупки' }).click();
  const purchase = page.locator('li.purchase').first();
  await purchase.waitFor();
  const ptext = await purchase.textContent();
  assert.match(ptext, /Кофейня «Зерно»/);
  assert.match(ptext, /1\s500,00\s₽/);
  assert.match(ptext, /Гастрономия/);
  const review = purchase.getByRole('link', { name: 'Оставить отзыв' });
  assert.equal(await review.getAttribute('href'), `#/reviews/new?purchase=${bought.body.purchase_id}&business=${club.business.id}`);
  assert.equal(await page.getByRole('link', { name: 'Покупки' }).getAttribute('aria-current'), 'page');
  await check(page, 'member-history-purchases-phone');

  await page.getByRole('link', { name: 'Карта' }).click();
  await page.getByTestId('balance-pending').filter({ hasText: (earned / 100).toLocaleString('ru-RU') }).waitFor();

  // The café purchase issued a coupon for the florist; activating it gives a code.
  await page.getByRole('link', { name: 'Купоны' }).click();
  const coupon = page.locator('li.coupon').first();
  await coupon.waitFor();
  assert.match(await coupon.textContent(), /Бонус в цветочной/);
  assert.match(await coupon.textContent(), /\+15% баллов/);
  await coupon.getByRole('button', { name: 'Активировать' }).click();
  const codeEl = page.getByTestId('activation-code');
  await codeEl.waitFor();
  assert.match(await codeEl.textContent(), /^\S{8}$/);
  const list = await app.api('GET', '/api/v1/wallet/coupons', { token: session.access_token });
  assert.equal(list.body.items[0].status, 'activated');
  await page.getByText('Код действует до').first().waitFor();
  await check(page, 'member-coupons-phone');
});

test('«Ещё» and the referral screen: code, link and sharing by clipboard', async () => {
  await page.getByRole('link', { name: 'Ещё' }).click();
  await page.getByRole('heading', { name: 'Ещё' }).waitFor();
  await check(page, 'member-more-phone');

  await page.getByRole('link', { name: /Пригласить друга/ }).click();
  await page.getByRole('heading', { name: 'Пригласить друга' }).waitFor();
  const session = await pageSession(page);
  const ref = (await app.api('GET', '/api/v1/referrals/me', { token: session.access_token })).body;
  assert.equal(await page.getByTestId('referral-code').textContent(), ref.code);
  assert.equal(await page.getByLabel('Ссылка-приглашение').inputValue(), ref.link);
  assert.equal(await page.getByTestId('ref-invited').textContent(), '0');
  // Headless Chromium may offer a share sheet; the clipboard path is tested.
  await page.evaluate(() => {
    delete Navigator.prototype.share;
  });
  await page.getByRole('button', { name: 'Поделиться ссылкой' }).click();
  await page.getByText('Ссылка скопирована').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), ref.link);
  await check(page, 'member-referral-phone');
});

test('the profile saves through the form (with field errors); «Выйти» returns to the login', async () => {
  await page.getByRole('link', { name: 'Ещё' }).click();
  await page.getByRole('link', { name: /Профиль/ }).click();
  await page.getByRole('heading', { name: 'Профиль', level: 1 }).waitFor();
  assert.equal(await page.getByLabel('Имя', { exact: true }).inputValue(), 'Анна');

  // Checked in the browser first…
  await page.getByLabel('Электронная почта').fill('anna-at-mail');
  await page.getByRole('button', { name: 'Сохранить' }).click();
  await visibleErrors(page).filter({ hasText: 'Неверный адрес электронной почты' }).waitFor();
  assert.equal(await page.getByLabel('Электронная почта').getAttribute('aria-invalid'), 'true');
  // …and the server's details.field lands next to its input.
  await page.getByLabel('Электронная почта').fill('');
  await page.getByLabel('Имя', { exact: true }).fill('Ма\u200bрия');
  await page.getByRole('button', { name: 'Сохранить' }).click();
  await visibleErrors(page).first().waitFor();
  assert.equal(await page.getByLabel('Имя', { exact: true }).getAttribute('aria-invalid'), 'true');

  await page.getByLabel('Имя', { exact: true }).fill('Мария');
  await page.getByLabel('Фамилия').fill('Иванова');
  await page.getByLabel('Электронная почта').fill('maria@example.ru');
  await page.getByLabel('Дата рождения').fill('1990-05-17');
  await page.getByLabel('Город').fill('Москва');
  await page.getByRole('button', { name: 'Сохранить' }).click();
  await page.getByText('Профиль сохранён').waitFor();
  const session = await pageSession(page);
  const me = (await app.api('GET', '/api/v1/me', { token: session.access_token })).body;
  assert.equal(me.first_name, 'Мария');
  assert.equal(me.last_name, 'Иванова');
  assert.equal(me.email, 'maria@example.ru');
  assert.equal(me.birth_date, '1990-05-17');
  assert.equal(me.city, 'Москва');
  await page.locator('.who-name').filter({ hasText: 'Мария' }).waitFor();
  await check(page, 'member-profile-phone');

  await page.getByRole('button', { name: 'Выйти' }).click();
  await page.getByRole('heading', { name: 'Вход в клуб' }).waitFor();
  assert.equal(await pageSession(page), null, 'tokens forgotten');
  assert.ok(await page.locator('#tabs').isHidden());
  const again = await app.api('POST', '/api/v1/auth/refresh', { body: { refresh_token: session.refresh_token } });
  assert.equal(again.status, 401, 'the refresh token was revoked');
  await check(page, 'member-logged-out-phone');
  await page.context().close();
});

test('every screen at desktop size; the QR refreshes itself before it expires', async () => {
  const p = await newPage(browser, DESKTOP_SIZE);
  await signIn(p, 'member', friend);
  await p.clock.install();
  let qrFetches = 0;
  p.on('request', (r) => {
    if (r.url().endsWith('/api/v1/wallet/qr')) qrFetches++;
  });
  const screens = [
    ['#/', 'card', () => p.getByTestId('balance-available').waitFor()],
    ['#/history', 'history-ledger', () => p.locator('li.entry').first().waitFor()],
    ['#/history/purchases', 'history-purchases', () => p.locator('li.purchase').first().waitFor()],
    ['#/coupons', 'coupons', () => p.locator('li.coupon').first().waitFor()],
    ['#/more', 'more', () => p.getByRole('heading', { name: 'Ещё' }).waitFor()],
    ['#/referral', 'referral', () => p.getByTestId('ref-invited').filter({ hasText: '1' }).waitFor()],
    ['#/profile', 'profile', () => p.getByLabel('Город').waitFor()],
    ['#/qr', 'qr', () => p.getByTestId('qr').waitFor()],
  ];
  await p.goto(`${app.url}/`);
  for (const [hash, name, ready] of screens) {
    await p.evaluate((h) => {
      location.hash = h;
    }, hash);
    await ready();
    await check(p, `member-${name}-desktop`);
  }
  assert.match(await p.locator('.qr-who').textContent(), /Ольга/);
  const before = qrFetches;
  assert.ok(before >= 1);
  await p.clock.fastForward('00:55');
  for (let i = 0; i < 50 && qrFetches === before; i++) await sleep(100);
  assert.ok(qrFetches > before, 'a new QR token was fetched before the old one expired');
  await p.getByTestId('qr').waitFor();
  assertNoConsoleErrors(p, 'qr refresh');

  // The dark theme keeps its contrast too.
  await p.emulateMedia({ colorScheme: 'dark' });
  await p.evaluate(() => {
    location.hash = '#/';
  });
  await p.getByTestId('balance-available').waitFor();
  await check(p, 'member-card-dark-desktop');

  // An unknown route gets a Russian page, not a blank screen.
  await p.evaluate(() => {
    location.hash = '#/nowhere';
  });
  await p.getByRole('heading', { name: 'Страница не найдена' }).waitFor();
  await p.context().close();
});

test('deleting the account needs a confirmation and ends the session', async () => {
  const leaver = await app.login(LEAVER, { first_name: 'Вера' });
  const p = await newPage(browser, DESKTOP_SIZE);
  await signIn(p, 'member', leaver);
  await p.goto(`${app.url}/#/profile`);
  await p.getByRole('button', { name: 'Удалить аккаунт' }).click();
  await p.getByRole('button', { name: 'Отмена' }).click();
  await p.getByRole('button', { name: 'Удалить аккаунт' }).click();
  const yes = p.getByRole('button', { name: 'Да, удалить навсегда' });
  await yes.waitFor();
  await check(p, 'member-delete-confirm-desktop');
  assert.equal((await app.api('GET', '/api/v1/me', { token: leaver.access_token })).status, 200, 'nothing deleted before confirming');
  await yes.click();
  await p.getByRole('heading', { name: 'Вход в клуб' }).waitFor();
  const gone = await app.api('GET', '/api/v1/me', { token: leaver.access_token });
  assert.equal(gone.status, 401, JSON.stringify(gone.body));
  await check(p, 'member-login-desktop');
  await p.context().close();
});

test('the service worker registers, serves the shell offline and never caches /api/', async () => {
  const p = await newPage(browser, PHONE_SIZE);
  await signIn(p, 'member', friend);
  await p.goto(`${app.url}/`);
  await p.getByTestId('balance-available').waitFor();
  const script = await p.evaluate(async () => (await navigator.serviceWorker.ready).active.scriptURL);
  assert.equal(new URL(script).pathname, '/sw.js');
  // Browse with the worker in control so its fetch handler sees API calls too.
  await p.reload();
  await p.waitForFunction(() => !!navigator.serviceWorker.controller);
  for (const hash of ['#/', '#/history', '#/history/purchases', '#/coupons', '#/referral', '#/profile', '#/qr']) {
    await p.evaluate((h) => {
      location.hash = h;
    }, hash);
    await p.locator('main h1').first().waitFor();
    await sleep(150);
  }
  await p.getByTestId('qr').waitFor();
  assertNoConsoleErrors(p, 'browsing with the service worker');
  const cached = await p.evaluate(async () => {
    const out = {};
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      out[name] = (await cache.keys()).map((r) => new URL(r.url).pathname);
    }
    return out;
  });
  const names = Object.keys(cached);
  assert.ok(names.some((n) => /^krug-member-v\d+$/.test(n)), `versioned cache in ${names}`);
  const urls = Object.values(cached).flat();
  for (const u of ['/', '/member/app.js', '/shared/ui.js', '/member/app.css', '/manifest.webmanifest', '/icons/icon.svg']) assert.ok(urls.includes(u), `${u} cached`);
  assert.deepEqual(urls.filter((u) => u.startsWith('/api/')), [], 'no API response in Cache Storage');

  const manifest = await app.api('GET', '/manifest.webmanifest');
  assert.equal(manifest.status, 200);
  const m = typeof manifest.body === 'string' ? JSON.parse(manifest.body) : manifest.body;
  assert.equal(m.start_url, '/');
  assert.equal(m.display, 'standalone');
  assert.equal(m.lang, 'ru');
  assert.ok(m.icons.some((i) => i.sizes === 'any' && i.src.endsWith('.svg')));
  assert.equal(await p.locator('link[rel=manifest]').getAttribute('href'), '/manifest.webmanifest');

  // Offline, the shell still opens from the cache and explains the situation.
  await p.context().setOffline(true);
  const resp = await p.reload();
  assert.ok(resp && resp.fromServiceWorker(), 'the page came from the service worker');
  await p.getByText('Нет связи с сервером').waitFor();
  await p.locator('.brand').filter({ hasText: 'Круг' }).waitFor();
  await p.context().setOffline(false);
  await p.context().close();
});
