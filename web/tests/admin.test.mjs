// Browser tests of the admin and owner dashboard (/admin/): the admin logs in
// through the UI, creates a business, staff, an API key (shown once, works at
// the till API), promos (quoted by a member), sees a server field error in
// Russian; an owner sees only their business; every core section renders
// without console errors, passes axe and is photographed at both sizes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startApp, launchBrowser, newPage, signIn, assertNoConsoleErrors, assertAccessible, screenshot,
  PHONE_SIZE, DESKTOP_SIZE, ADMIN_PHONE,
} from './harness.mjs';

const OWNER_PHONE = '+79990000002';
const NEW_STAFF_PHONE = '+79990000003';
const MEMBER_PHONE = '+79990000010';
const NOBODY_PHONE = '+79990000011';
const BIZ_NAME = 'Кофейня «Зерно»';
const OWNER_BIZ = 'Цветы «Лепесток»';

let app;
let browser;
let page; // the admin's desktop page, signed in through the UI
let admin; // the admin's tokens, read from the page after the UI login
let owner;
let member;
let nobody;
let bizId;
let ownerBizId;

// Waits until the section finished loading (no «Загружаем…» left in main).
async function settle(p) {
  await p.waitForFunction(() => !document.querySelector('main .loading'), null, { timeout: 10_000 });
}

// Opens a route and waits until the shell rendered it (main[data-route]).
async function go(p, hash) {
  await p.evaluate((h) => {
    location.hash = h;
  }, hash);
  await p.waitForFunction(() => {
    const m = document.querySelector('main');
    return m && m.dataset.route === location.hash && !m.hasAttribute('aria-busy');
  });
  await settle(p);
}

before(async () => {
  app = await startApp();
  browser = await launchBrowser();
  // People who have logged in once (staff must be members first).
  owner = await app.login(OWNER_PHONE);
  await app.login(NEW_STAFF_PHONE);
  member = await app.login(MEMBER_PHONE);
  nobody = await app.login(NOBODY_PHONE);
});

after(async () => {
  if (browser) await browser.close();
  if (app) await app.stop();
});

test('the admin logs in with the SMS code (consenting as a new member)', async () => {
  page = await newPage(browser, DESKTOP_SIZE, { permissions: ['clipboard-read', 'clipboard-write'] });
  await page.goto(`${app.url}/admin/`);
  await page.getByRole('heading', { name: 'Панель управления «Круга»' }).waitFor();
  // A bad phone is refused before anything is sent.
  await page.getByLabel('Телефон', { exact: true }).fill('12345');
  await page.getByRole('button', { name: 'Получить код' }).click();
  await page.getByText('Введите российский номер').waitFor();
  await assertAccessible(page, 'login');
  await screenshot(page, 'admin-login-desktop');

  const since = app.sms.length;
  await page.getByLabel('Телефон', { exact: true }).fill('8 (999) 000-00-01');
  await page.getByRole('button', { name: 'Получить код' }).click();
  const code = await app.codeFor(ADMIN_PHONE, since);
  await page.getByLabel('Код из СМС', { exact: true }).fill(code);
  await page.getByRole('button', { name: 'Войти' }).click();
  // The admin's phone has never logged in: the consent box appears.
  const consent = page.getByLabel('Согласен на обработку персональных данных', { exact: true });
  await consent.waitFor();
  await consent.check();
  await page.getByRole('button', { name: 'Войти' }).click();
  await page.getByRole('heading', { name: 'Партнёры', level: 1 }).waitFor();
  await settle(page);
  admin = JSON.parse(await page.evaluate(() => localStorage.getItem('krug.admin')));
  assert.ok(admin.access_token, 'tokens are stored under krug.admin');
  const me = await app.api('GET', '/api/v1/me', { token: admin.access_token });
  assert.ok(me.body.roles.includes('admin'));
  // The admin sees the club sections and the «Весь клуб» choice.
  const nav = page.getByRole('navigation', { name: 'Разделы панели' });
  for (const name of ['Партнёры', 'Флаги', 'Журнал', 'Акции', 'API-ключи']) await nav.getByRole('link', { name, exact: true }).waitFor();
  assert.equal(await page.locator('#biz-select option').first().textContent(), 'Весь клуб');
  assertNoConsoleErrors(page, 'login');
});

test('the admin creates a business through the form', async () => {
  const form = page.locator('form').first();
  // Client-side check first: the name is required.
  await form.getByRole('button', { name: 'Создать партнёра' }).click();
  await page.getByText('Заполните это поле.').waitFor();
  // A server field error lands on its input.
  await page.getByLabel('Название', { exact: true }).fill(BIZ_NAME);
  await page.getByLabel('Категория', { exact: true }).selectOption('gastronomy');
  await page.getByLabel('Часовой пояс', { exact: true }).fill('Mars/Olympus');
  await form.getByRole('button', { name: 'Создать партнёра' }).click();
  await page.getByText('Неверный часовой пояс.').waitFor();
  assert.equal(await page.getByLabel('Часовой пояс', { exact: true }).getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Часовой пояс', { exact: true }).fill('Europe/Moscow');
  await page.getByLabel('Множитель баллов', { exact: true }).fill('1,5');
  await form.getByRole('button', { name: 'Создать партнёра' }).click();
  await page.getByRole('heading', { name: BIZ_NAME, level: 1 }).waitFor();
  await page.getByText('× 1,5').waitFor();

  const list = await app.api('GET', '/api/v1/admin/businesses', { token: admin.access_token });
  const biz = list.body.items.find((b) => b.name === BIZ_NAME);
  assert.ok(biz, 'the business exists');
  assert.equal(biz.category, 'gastronomy');
  assert.equal(biz.points_multiplier, 1.5);
  bizId = biz.id;
  await assertAccessible(page, 'business details');
  await screenshot(page, 'admin-business-details-desktop');

  // The owner's business (as seedClub makes it), through the API.
  const ob = await app.api('POST', '/api/v1/admin/businesses', { token: admin.access_token, body: { name: OWNER_BIZ, category: 'floristry' } });
  assert.equal(ob.status, 201);
  ownerBizId = ob.body.id;
  const st = await app.api('POST', `/api/v1/admin/businesses/${ownerBizId}/staff`, { token: admin.access_token, body: { phone: OWNER_PHONE, role: 'owner' } });
  assert.equal(st.status, 201);

  // «Выбрать в шапке» selects the business and opens its staff.
  await page.getByRole('button', { name: 'Выбрать в шапке' }).click();
  await page.getByRole('heading', { name: `Сотрудники · ${BIZ_NAME}` }).waitFor();
  assert.equal(await page.locator('#biz-select').inputValue(), bizId);
  assertNoConsoleErrors(page, 'businesses');
});

test('the admin adds a staff member by phone and removes them', async () => {
  await go(page, '#/staff');
  await page.getByText('Сотрудников пока нет.').waitFor();
  // Someone who never logged in is not a member: the error is on the phone field.
  await page.getByLabel('Телефон сотрудника', { exact: true }).fill('+7 999 000-99-99');
  await page.getByRole('button', { name: 'Добавить сотрудника' }).click();
  await page.getByText('Участник не найден.').waitFor();
  assert.equal(await page.getByLabel('Телефон сотрудника', { exact: true }).getAttribute('aria-invalid'), 'true');

  await page.getByLabel('Телефон сотрудника', { exact: true }).fill('8 999 000 00 03');
  await page.getByLabel('Роль', { exact: true }).selectOption('manager');
  await page.getByRole('button', { name: 'Добавить сотрудника' }).click();
  const row = page.getByRole('row', { name: new RegExp(NEW_STAFF_PHONE.replace('+', '\\+')) });
  await row.waitFor();
  await row.getByText('Менеджер').waitFor();
  let staff = await app.api('GET', `/api/v1/admin/businesses/${bizId}/staff`, { token: admin.access_token });
  assert.deepEqual(staff.body.items.map((s) => [s.phone, s.role]), [[NEW_STAFF_PHONE, 'manager']]);
  await assertAccessible(page, 'staff');
  await screenshot(page, 'admin-staff-desktop');

  await row.getByRole('button', { name: `Удалить сотрудника ${NEW_STAFF_PHONE}` }).click();
  const dlg = page.getByRole('dialog', { name: 'Удалить сотрудника?' });
  await dlg.waitFor();
  await assertAccessible(page, 'staff remove dialog');
  await dlg.getByRole('button', { name: 'Удалить' }).click();
  await page.getByText('Сотрудников пока нет.').waitFor();
  staff = await app.api('GET', `/api/v1/admin/businesses/${bizId}/staff`, { token: admin.access_token });
  assert.equal(staff.body.items.length, 0);
  // Add them back for the screens below.
  await page.getByLabel('Телефон сотрудника', { exact: true }).fill(NEW_STAFF_PHONE);
  await page.getByRole('button', { name: 'Добавить сотрудника' }).click();
  await row.waitFor();
  assertNoConsoleErrors(page, 'staff');
});

test('an API key is shown once, works at the POS API and can be revoked', async () => {
  await go(page, '#/api-keys');
  await page.getByText('Ключей пока нет.').waitFor();
  await page.getByLabel('Название ключа', { exact: true }).fill('Касса в зале');
  await page.getByRole('button', { name: 'Создать ключ' }).click();
  const dlg = page.getByRole('dialog', { name: 'Новый API-ключ' });
  await dlg.waitFor();
  await dlg.getByText('показывается только один раз').waitFor();
  const key = (await dlg.locator('code').textContent()).trim();
  assert.match(key, /^krug_pk_/);
  await dlg.getByRole('button', { name: 'Скопировать' }).click();
  await dlg.getByText(/Скопировано|Выделено/).waitFor();
  await assertAccessible(page, 'api key dialog');
  await screenshot(page, 'admin-api-key-dialog-desktop');
  await dlg.getByRole('button', { name: /закрыть/ }).click();
  await settle(page);
  await page.getByRole('cell', { name: 'Касса в зале' }).waitFor();

  // After a reload the key is nowhere on the page, only its prefix.
  await page.reload();
  await settle(page);
  await page.getByRole('cell', { name: 'Касса в зале' }).waitFor();
  const text = await page.locator('body').innerText();
  assert.ok(!text.includes(key), 'the full key is not shown again');
  assert.ok(text.includes(key.slice(0, 12)), 'its prefix is listed');

  // The key identifies a member at this business's till.
  const me = await app.api('GET', '/api/v1/me', { token: member.access_token });
  const id = await app.api('POST', '/api/v1/pos/identify', { token: key, body: { card_number: me.body.card_number } });
  assert.equal(id.status, 200, JSON.stringify(id.body));
  assert.equal(id.body.member_id, me.body.id);

  // Revoked, it stops working.
  await page.getByRole('button', { name: /Отозвать ключ/ }).click();
  await page.getByRole('dialog', { name: 'Отозвать ключ?' }).getByRole('button', { name: 'Отозвать' }).click();
  await page.getByText(/^Отозван/).waitFor();
  const again = await app.api('POST', '/api/v1/pos/identify', { token: key, body: { card_number: me.body.card_number } });
  assert.equal(again.status, 401);
  await screenshot(page, 'admin-api-keys-desktop');
  assertNoConsoleErrors(page, 'api keys');
});

test('a percent promo made in the form is applied at checkout; a taken code is shown on its field', async () => {
  await go(page, '#/promos');
  await page.getByText('Акций пока нет').waitFor();
  await page.getByRole('link', { name: 'Новая акция' }).click();
  await page.getByRole('heading', { name: 'Новая акция' }).waitFor();
  // Client-side checks: the name and a latin code.
  await page.getByRole('button', { name: 'Создать акцию' }).click();
  await page.getByText('Заполните это поле.').waitFor();
  await page.getByLabel('Название', { exact: true }).fill('Осенняя скидка');
  await page.getByLabel('Промокод', { exact: true }).fill('ОСЕНЬ15');
  await page.getByRole('button', { name: 'Создать акцию' }).click();
  await page.getByText('Промокод — от 3 до 32 латинских букв').waitFor();
  await page.getByLabel('Промокод', { exact: true }).fill('AUTUMN15');
  await page.getByLabel('Скидка, %', { exact: true }).fill('150');
  await page.getByRole('button', { name: 'Создать акцию' }).click();
  await page.getByRole('alert').filter({ hasText: 'Нужно целое число от 1 до 100.' }).waitFor();
  await page.getByLabel('Скидка, %', { exact: true }).fill('15');
  // The selected business is ticked already.
  assert.ok(await page.getByRole('checkbox', { name: BIZ_NAME }).isChecked());
  await page.getByLabel('Максимальная скидка, ₽', { exact: true }).fill('500');
  await page.getByLabel('Всего использований', { exact: true }).fill('100');
  await assertAccessible(page, 'promo form');
  await screenshot(page, 'admin-promo-form-desktop');
  await page.getByRole('button', { name: 'Создать акцию' }).click();
  await page.getByRole('heading', { name: 'Акции', level: 1 }).waitFor();
  await settle(page);
  const row = page.getByRole('row', { name: /Осенняя скидка/ });
  await row.getByText('AUTUMN15').waitFor();
  await row.getByText('Действует').waitFor();
  await assertAccessible(page, 'promo list');
  await screenshot(page, 'admin-promos-desktop');

  const promos = await app.api('GET', '/api/v1/admin/promos', { token: admin.access_token });
  const p = promos.body.items.find((x) => x.code === 'AUTUMN15');
  assert.equal(p.kind, 'percent');
  assert.equal(p.value, 15);
  assert.equal(p.max_discount, 50000);
  assert.deepEqual(p.businesses, [bizId]);
  assert.equal(p.limits.total, 100);

  // A member quotes a 1 000 ₽ cart with the code (any case): 15 % off.
  const quote = await app.api('POST', '/api/v1/checkout/quote', {
    token: member.access_token,
    body: { business_id: bizId, channel: 'app', items: [{ sku: 'latte', category: 'gastronomy', quantity: 2, unit_price: 50000 }], promo_codes: ['autumn15'] },
  });
  assert.equal(quote.status, 200, JSON.stringify(quote.body));
  assert.deepEqual(quote.body.applied.map((a) => [a.code, a.discount]), [['AUTUMN15', 15000]]);
  assert.equal(quote.body.total, 85000);

  // The same code again: the server's PROMO_CODE_TAKEN, in Russian, on the code field.
  await go(page, '#/promos/new');
  await page.getByLabel('Название', { exact: true }).fill('Двойник');
  await page.getByLabel('Промокод', { exact: true }).fill('autumn15');
  await page.getByLabel('Скидка, %', { exact: true }).fill('10');
  await page.getByRole('button', { name: 'Создать акцию' }).click();
  const codeInput = page.getByLabel('Промокод', { exact: true });
  await page.getByText('Такой промокод уже есть — придумайте другой.').waitFor();
  assert.equal(await codeInput.getAttribute('aria-invalid'), 'true');
  const errId = (await codeInput.getAttribute('aria-describedby')).split(' ').find((x) => x.endsWith('-error'));
  assert.equal(await page.locator(`#${errId}`).textContent(), 'Такой промокод уже есть — придумайте другой.');
  await screenshot(page, 'admin-promo-error-desktop');
  assertNoConsoleErrors(page, 'promos');
});

test('a fixed promo in rubles with a happy-hours window, then edited', async () => {
  await go(page, '#/promos/new');
  await page.getByLabel('Название', { exact: true }).fill('Счастливые часы');
  await page.getByLabel('Промокод', { exact: true }).fill('HAPPY250');
  await page.getByLabel('Тип акции', { exact: true }).selectOption('fixed');
  await page.getByLabel('Скидка, ₽', { exact: true }).fill('250,50');
  await page.getByLabel('Минимальная сумма заказа, ₽', { exact: true }).fill('1 000');
  await page.getByRole('checkbox', { name: 'Касса' }).check();
  await page.getByRole('button', { name: 'Добавить окно' }).click();
  const win = page.locator('.window-row').first();
  await win.getByRole('checkbox', { name: 'Сб' }).check();
  await win.getByLabel('С', { exact: true }).fill('16:00');
  await win.getByLabel('До', { exact: true }).fill('19:00');
  await page.getByLabel('На участника в день', { exact: true }).fill('1');
  await page.getByLabel('Бюджет скидок, ₽', { exact: true }).fill('10000');
  await page.getByLabel('Суммируется с другими акциями', { exact: true }).check();
  await page.getByRole('button', { name: 'Создать акцию' }).click();
  await page.getByRole('heading', { name: 'Акции', level: 1 }).waitFor();
  await settle(page);
  let promos = await app.api('GET', '/api/v1/admin/promos', { token: admin.access_token });
  let p = promos.body.items.find((x) => x.code === 'HAPPY250');
  assert.equal(p.kind, 'fixed');
  assert.equal(p.value, 25050);
  assert.equal(p.conditions.min_subtotal, 100000);
  assert.deepEqual(p.conditions.channels, ['pos']);
  assert.deepEqual(p.conditions.schedule.weekly, [{ days: [1, 2, 3, 4, 5, 6], from: '16:00', to: '19:00' }]);
  assert.equal(p.limits.per_member_per_day, 1);
  assert.equal(p.limits.budget, 1000000);
  assert.equal(p.stackable, true);

  // Edit: the form comes back filled; turn it into 2 + 1 (bogo) and switch it off.
  await page.getByRole('link', { name: 'Изменить акцию «Счастливые часы»' }).click();
  await page.getByRole('heading', { name: 'Акция «Счастливые часы»' }).waitFor();
  assert.equal(await page.getByLabel('Скидка, ₽', { exact: true }).inputValue(), '250,5');
  await page.getByLabel('Тип акции', { exact: true }).selectOption('bogo');
  await page.getByLabel('Купить, шт.', { exact: true }).fill('2');
  await page.getByLabel('В подарок, шт.', { exact: true }).fill('1');
  await page.getByLabel('Включена', { exact: true }).uncheck();
  await assertAccessible(page, 'promo edit');
  await page.getByRole('button', { name: 'Сохранить изменения' }).click();
  await page.getByRole('heading', { name: 'Акции', level: 1 }).waitFor();
  await settle(page);
  await page.getByRole('row', { name: /Счастливые часы/ }).getByText('Выключена').waitFor();
  promos = await app.api('GET', '/api/v1/admin/promos', { token: admin.access_token });
  p = promos.body.items.find((x) => x.code === 'HAPPY250');
  assert.equal(p.kind, 'bogo');
  assert.equal(p.value, null);
  assert.equal(p.buy_qty, 2);
  assert.equal(p.free_qty, 1);
  assert.equal(p.active, false);
  assertNoConsoleErrors(page, 'promo edit');
});

test('banners, cross-promos, commissions, integration and flags save through their forms', async () => {
  // Banner
  await go(page, '#/banners/new');
  await page.getByLabel('Заголовок', { exact: true }).fill('Осень в клубе');
  await page.getByLabel('Картинка (адрес)', { exact: true }).fill('http://example.com/a.png');
  await page.getByRole('button', { name: 'Создать баннер' }).click();
  await page.getByText('Адрес картинки начинается с https://.').waitFor();
  await page.getByLabel('Картинка (адрес)', { exact: true }).fill('https://example.com/a.png');
  await page.getByLabel('Где показывать', { exact: true }).selectOption('category:gastronomy');
  await page.getByRole('button', { name: 'Создать баннер' }).click();
  await page.getByRole('heading', { name: 'Баннеры', level: 1 }).waitFor();
  await settle(page);
  await page.getByRole('row', { name: /Осень в клубе/ }).getByText('Показывается').waitFor();
  const banners = await app.api('GET', '/api/v1/admin/banners', { token: admin.access_token });
  assert.equal(banners.body.items[0].placement, 'category:gastronomy');

  // Cross-promo A → B
  await go(page, '#/cross-promos');
  await page.getByLabel('Куда приглашаем (B)', { exact: true }).selectOption(ownerBizId);
  await page.getByLabel('Название купона', { exact: true }).fill('Букет со скидкой после кофе');
  await page.getByLabel('Минимальная покупка у A, ₽', { exact: true }).fill('500');
  await page.getByRole('button', { name: 'Создать кросс-акцию' }).click();
  await page.getByRole('cell', { name: 'Букет со скидкой после кофе' }).waitFor();
  const cp = await app.api('GET', '/api/v1/admin/cross-promos', { token: admin.access_token });
  assert.equal(cp.body.items[0].from_business_id, bizId);
  assert.equal(cp.body.items[0].min_amount, 50000);

  // Commission 2,5 %
  await go(page, '#/commissions');
  await page.getByLabel('Комиссия, %', { exact: true }).fill('2,5');
  await page.getByRole('button', { name: 'Установить ставку' }).click();
  await page.getByRole('cell', { name: '2,5 %' }).waitFor();
  const cr = await app.api('GET', `/api/v1/admin/commission-rates?business_id=${bizId}`, { token: admin.access_token });
  assert.equal(cr.body.items[0].rate_bp, 250);

  // Integration: a CSV link (not reachable from the test host), then a manual sync.
  await go(page, '#/integration');
  await page.getByText('Интеграция не настроена.').waitFor();
  await page.getByLabel('Тип системы', { exact: true }).selectOption('csv_url');
  await page.getByRole('button', { name: 'Сохранить интеграцию' }).click();
  await page.getByText('Заполните это поле.').waitFor();
  await page.getByLabel('Адрес CSV-файла', { exact: true }).fill('https://crm.example.com/sales.csv');
  await page.getByLabel('Заголовок Authorization', { exact: true }).fill('Bearer secret-token-123');
  await page.getByRole('button', { name: 'Сохранить интеграцию' }).click();
  await page.getByRole('heading', { name: 'Состояние' }).waitFor();
  await settle(page);
  const integ = await app.api('GET', `/api/v1/admin/businesses/${bizId}/integration`, { token: admin.access_token });
  assert.equal(integ.body.type, 'csv_url');
  assert.deepEqual(integ.body.secrets_set, ['authorization']);
  // The credential is never put back into the page.
  assert.equal(await page.getByLabel('Заголовок Authorization', { exact: true }).inputValue(), '');
  assert.ok(!(await page.content()).includes('secret-token-123'));
  await page.getByRole('button', { name: 'Синхронизировать' }).click();
  await settle(page);
  await page.getByRole('row', { name: /вручную/ }).getByText('Ошибка').waitFor();
  const runs = await app.api('GET', `/api/v1/admin/businesses/${bizId}/integration/sync-runs`, { token: admin.access_token });
  assert.equal(runs.body.items.length, 1);
  assert.equal(runs.body.items[0].started_by, 'manual');

  // Flags: preorders for half of the members, VIP and above.
  await go(page, '#/flags');
  const card = page.locator('section.card', { has: page.getByRole('heading', { name: 'Предзаказы' }) });
  await card.getByLabel('Доля участников, %', { exact: true }).fill('50');
  await card.getByRole('checkbox', { name: 'VIP' }).check();
  await card.getByRole('button', { name: 'Сохранить «Предзаказы»' }).click();
  await page.getByText('Флаг «Предзаказы» сохранён.').waitFor();
  const flags = await app.api('GET', '/api/v1/admin/flags', { token: admin.access_token });
  const f = flags.body.items.find((x) => x.name === 'preorders');
  assert.equal(f.percent, 50);
  assert.deepEqual(f.tiers, ['vip']);
  assertNoConsoleErrors(page, 'forms');
});

test('every core section renders, passes axe and is photographed at phone and desktop sizes', async () => {
  const phone = await newPage(browser, PHONE_SIZE);
  await signIn(phone, 'admin', { ...admin, expires_in: Math.round((admin.expires_at - Date.now()) / 1000) });
  await phone.goto(`${app.url}/admin/#/businesses`);
  await settle(phone);
  // On a phone the navigation hides behind «Меню».
  const menu = phone.getByRole('button', { name: 'Меню' });
  assert.equal(await phone.getByRole('navigation', { name: 'Разделы панели' }).isVisible(), false);
  await menu.click();
  assert.equal(await menu.getAttribute('aria-expanded'), 'true');
  await assertAccessible(phone, 'phone menu');
  await screenshot(phone, 'admin-menu-phone');
  await phone.getByRole('link', { name: 'Журнал' }).click();
  await settle(phone);
  await phone.getByRole('heading', { name: 'Журнал', level: 1 }).waitFor();
  await phone.locator('#biz-select').selectOption(bizId);

  const sections = ['businesses', 'commissions', 'flags', 'staff', 'api-keys', 'integration', 'promos', 'banners', 'cross-promos', 'audit', 'alerts'];
  for (const id of sections) {
    for (const [p, size] of [[page, 'desktop'], [phone, 'phone']]) {
      await go(p, `#/${id}`);
      await p.locator('main h1').first().waitFor();
      assert.equal(await p.locator('main .error-box').count(), 0, `${id} loads without an error`);
      await assertAccessible(p, `${id} (${size})`);
      await screenshot(p, `admin-${id}-${size}`);
    }
  }
  // The audit log shows what happened, in Russian, and filters by subject.
  await go(page, '#/audit');
  await page.getByRole('cell', { name: /Выпущен API-ключ/ }).waitFor();
  await page.getByLabel('Тип объекта', { exact: true }).selectOption('promo');
  await page.getByRole('button', { name: 'Показать' }).click();
  await settle(page);
  await page.getByRole('cell', { name: /Создана акция/ }).first().waitFor();
  assert.equal(await page.getByRole('cell', { name: /Выпущен API-ключ/ }).count(), 0);
  // Promo form and details on a phone.
  await go(phone, '#/promos/new');
  await assertAccessible(phone, 'promo form (phone)');
  await screenshot(phone, 'admin-promo-form-phone');
  assertNoConsoleErrors(page, 'sections (desktop)');
  assertNoConsoleErrors(phone, 'sections (phone)');
  await phone.context().close();
});

test('an owner sees only their own business; a plain member has no access', async () => {
  const op = await newPage(browser, DESKTOP_SIZE);
  await signIn(op, 'admin', owner);
  await op.goto(`${app.url}/admin/`);
  await settle(op);
  const header = op.getByRole('banner');
  await header.getByText(OWNER_BIZ).waitFor();
  assert.equal(await op.locator('#biz-select').count(), 0, 'no business selector for an owner');
  const nav = op.getByRole('navigation', { name: 'Разделы панели' });
  for (const name of ['Сотрудники', 'API-ключи', 'Интеграции', 'Акции', 'Баннеры']) await nav.getByRole('link', { name, exact: true }).waitFor();
  for (const name of ['Партнёры', 'Флаги', 'Журнал', 'Комиссии', 'Кросс-акции', 'Оповещения']) {
    assert.equal(await nav.getByRole('link', { name, exact: true }).count(), 0, `${name} is admin-only`);
  }
  await go(op, '#/staff');
  await op.getByRole('heading', { name: `Сотрудники · ${OWNER_BIZ}` }).waitFor();
  await op.getByRole('cell', { name: OWNER_PHONE }).waitFor();
  assert.equal(await op.getByText(NEW_STAFF_PHONE).count(), 0);
  // The admin's promos for the other business are not listed.
  await go(op, '#/promos');
  await op.getByText('Акций пока нет').waitFor();
  assert.equal(await op.getByText('AUTUMN15').count(), 0);
  // The owner creates a promo of their own: it is for their business only.
  await go(op, '#/promos/new');
  await op.getByText(`Акция действует у партнёра ${OWNER_BIZ}.`).waitFor();
  await op.getByLabel('Название', { exact: true }).fill('Тюльпаны −10 %');
  await op.getByLabel('Промокод', { exact: true }).fill('TULIP10');
  await op.getByLabel('Скидка, %', { exact: true }).fill('10');
  await op.getByRole('button', { name: 'Создать акцию' }).click();
  await op.getByRole('heading', { name: 'Акции', level: 1 }).waitFor();
  await settle(op);
  await op.getByText('TULIP10').waitFor();
  const promos = await app.api('GET', '/api/v1/admin/promos', { token: owner.access_token });
  assert.deepEqual(promos.body.items.map((p) => [p.code, p.businesses]), [['TULIP10', [ownerBizId]]]);
  // A hash for an admin-only section falls back to the owner's first section.
  await go(op, '#/flags');
  await op.getByRole('heading', { name: `Сотрудники · ${OWNER_BIZ}` }).waitFor();
  await assertAccessible(op, 'owner staff');
  await screenshot(op, 'admin-owner-staff-desktop');
  assertNoConsoleErrors(op, 'owner');
  await op.context().close();

  const np = await newPage(browser, PHONE_SIZE);
  await signIn(np, 'admin', nobody);
  await np.goto(`${app.url}/admin/`);
  await np.getByRole('heading', { name: 'Нет доступа к панели' }).waitFor();
  await assertAccessible(np, 'no access');
  await screenshot(np, 'admin-no-access-phone');
  await np.getByRole('button', { name: 'Выйти' }).click();
  await np.getByRole('heading', { name: 'Панель управления «Круга»' }).waitFor();
  assertNoConsoleErrors(np, 'no access');
  await np.context().close();

  // Under the real Content-Security-Policy the dashboard runs without violations.
  const cp = await newPage(browser, DESKTOP_SIZE);
  await signIn(cp, 'admin', owner);
  await cp.goto(`${app.url}/admin/#/promos`);
  await cp.getByText('TULIP10').waitFor();
  assertNoConsoleErrors(cp, 'dashboard under CSP');
  await cp.context().close();
});
