// The three apps together: the till earns for a member identified by a typed
// card number, the member's card shows the new pending points after a reload,
// and the QR on the member's screen — taken as a screenshot and decoded —
// pays at the till. Also the member app's first-load weight.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, seedClub, launchBrowser, newPage, signIn, decodeQr, key, assertNoConsoleErrors, assertAccessible, screenshot, report, PHONE_SIZE } from './harness.mjs';

const MEMBER = '+79991112233';
let app;
let browser;
let club;

before(async () => {
  app = await startApp();
  club = await seedClub(app);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.stop();
});

/** The member's points as the card screen shows them, in kopecks. */
async function shownPoints(page, id) {
  const text = await page.getByTestId(id).innerText();
  return Math.round(parseFloat(text.replace(/[^\d,]/g, '').replace(',', '.')) * 100);
}

test('till earn shows on the member card; the on-screen QR pays at the till', async () => {
  const member = await app.login(MEMBER, { first_name: 'Вера' });
  const staff = club.staff;
  const wallet = async () => (await app.api('GET', '/api/v1/wallet', { token: member.access_token })).body;
  const card = (await wallet()).card_number;

  const phone = await newPage(browser, PHONE_SIZE);
  await signIn(phone, 'member', member);
  await phone.goto(`${app.url}/#/`);
  await phone.getByTestId('balance-pending').waitFor();
  assert.equal(await shownPoints(phone, 'balance-pending'), 0);

  const till = await newPage(browser, PHONE_SIZE);
  await signIn(till, 'pos', staff);
  await till.goto(`${app.url}/pos/`);
  await till.getByLabel('Номер карты или код').fill(card);
  await till.getByRole('button', { name: 'Найти покупателя' }).click();
  await till.getByRole('heading', { name: 'Вера' }).waitFor();
  await till.getByLabel('Сумма покупки, ₽').fill('2 000');
  await till.getByLabel('Категория').selectOption('gastronomy');
  const answered = till.waitForResponse((r) => r.url().endsWith('/api/v1/pos/purchases'));
  await till.getByRole('button', { name: 'Начислить баллы' }).click();
  const earned = await (await answered).json();
  await till.getByRole('heading', { name: 'Баллы начислены' }).waitFor();
  assert.ok(earned.points_earned > 0);

  await phone.reload();
  await phone.getByTestId('balance-pending').waitFor();
  assert.equal(await shownPoints(phone, 'balance-pending'), earned.points_earned, 'pending points after reload');

  // Earned points wait out the hold; a goodwill compensation is available at
  // once, so the member has something to spend with the QR.
  const comp = await app.api('POST', '/api/v1/pos/compensations', {
    token: staff.access_token,
    headers: { 'idempotency-key': key() },
    body: { member: { card_number: card }, points: 10000, reason: 'Недовес', order_ref: 'FLOW-0' },
  });
  assert.equal(comp.status, 201, JSON.stringify(comp.body));
  await phone.reload();
  await phone.getByTestId('balance-available').waitFor();
  assert.equal(await shownPoints(phone, 'balance-available'), 10000);
  await phone.goto(`${app.url}/#/qr`);
  const qr = phone.getByTestId('qr');
  await qr.waitFor();
  await phone.waitForFunction(() => {
    const img = document.querySelector('[data-testid="qr"]');
    return img && img.complete && img.naturalWidth > 0;
  });
  const token = await decodeQr(await qr.screenshot());
  assert.ok(token, 'the QR on screen decodes');

  await till.getByRole('button', { name: 'Ещё операция с этим покупателем' }).click();
  await till.getByRole('button', { name: 'Списать' }).click();
  await till.getByLabel('Код из QR').fill(token);
  await till.getByRole('button', { name: 'Подтвердить QR-код' }).click();
  await till.getByLabel('Сколько баллов списать').fill('50');
  await till.getByLabel('Номер заказа или чека').fill('FLOW-1');
  await till.getByRole('button', { name: 'Списать баллы' }).click();
  await till.getByRole('heading', { name: 'Баллы списаны' }).waitFor();
  assert.equal((await wallet()).balance.available, 10000 - 5000);

  await phone.goto(`${app.url}/#/`);
  await phone.getByTestId('balance-available').waitFor();
  assert.equal(await shownPoints(phone, 'balance-available'), 10000 - 5000);
  assertNoConsoleErrors(phone, 'member card');
  assertNoConsoleErrors(till, 'till');
  await phone.context().close();
  await till.context().close();
});

test('the member app shell weighs under 200 KB on first load', async () => {
  const page = await newPage(browser, PHONE_SIZE);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const sizes = new Map();
  cdp.on('Network.responseReceived', (e) => sizes.set(e.requestId, { url: e.response.url, bytes: 0 }));
  cdp.on('Network.loadingFinished', (e) => {
    const s = sizes.get(e.requestId);
    if (s) s.bytes = e.encodedDataLength;
  });
  await page.goto(`${app.url}/`, { waitUntil: 'networkidle' });
  await page.getByLabel('Телефон').waitFor();
  const files = [...sizes.values()];
  const total = files.reduce((n, f) => n + f.bytes, 0);
  report('member-first-load', { kilobytes: +(total / 1024).toFixed(1), requests: files.length, files });
  console.log(`member app first load: ${(total / 1024).toFixed(1)} KB in ${files.length} requests`);
  assert.ok(total < 200 * 1024, `first load ${total} bytes`);
  // Every file the shell loads is in the service worker's list, so the app
  // opens offline after one visit.
  const sw = await (await fetch(`${app.url}/sw.js`)).text();
  const shell = new Set([...sw.slice(sw.indexOf('const SHELL')).split('];')[0].matchAll(/'([^']+)'/g)].map((m) => m[1]));
  const loaded = files.map((f) => new URL(f.url)).filter((u) => u.origin === app.url && !u.pathname.startsWith('/api/')).map((u) => u.pathname);
  assert.deepEqual(loaded.filter((p) => !shell.has(p)), [], 'loaded but not cached by the worker');
  assertNoConsoleErrors(page, 'member login');
  await page.context().close();
});

test('the member app is installable: the browser finds no fault in its manifest, icons or worker', async () => {
  const page = await newPage(browser, PHONE_SIZE);
  await page.goto(`${app.url}/`, { waitUntil: 'networkidle' });
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  const cdp = await page.context().newCDPSession(page);
  const manifest = await cdp.send('Page.getAppManifest');
  assert.deepEqual(manifest.errors, [], 'manifest parses');
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  // A test browser context is always incognito-like; nothing else may fail.
  const faults = installabilityErrors.map((e) => e.errorId).filter((id) => id !== 'in-incognito');
  assert.deepEqual(faults, []);
  assertNoConsoleErrors(page, 'member login');
  await page.context().close();
});

test('a new member joins and opens the card with the keyboard alone', async () => {
  const phone = '+79995550101';
  const page = await newPage(browser, PHONE_SIZE);
  await page.goto(`${app.url}/`);
  await page.getByLabel('Телефон').waitFor();
  const focused = () => page.evaluate(() => document.activeElement && (document.activeElement.labels?.[0]?.textContent || document.activeElement.textContent || '').trim());
  /** Presses Tab until the focused element's label or text starts with `name` (at most 25 times). */
  async function tabTo(name) {
    for (let i = 0; i < 25; i++) {
      if ((await focused()).startsWith(name)) return;
      await page.keyboard.press('Tab');
    }
    assert.fail(`no focusable «${name}» by Tab`);
  }
  await tabTo('Телефон');
  const since = app.sms.length;
  await page.keyboard.type('8 999 555-01-01');
  await page.keyboard.press('Enter');
  await page.getByLabel('Код из СМС').waitFor();
  await tabTo('Код из СМС');
  await page.keyboard.type(await app.codeFor(phone, since));
  await page.keyboard.press('Enter');
  await page.getByLabel('Имя').waitFor();
  await tabTo('Имя');
  await page.keyboard.type('Ольга');
  await tabTo('Согласен на обработку персональных данных');
  await page.keyboard.press('Space');
  await tabTo('Вступить в клуб');
  await page.keyboard.press('Enter');
  await page.getByTestId('balance-available').waitFor();
  await tabTo('Показать карту');
  await page.keyboard.press('Enter');
  await page.getByTestId('qr').waitFor();
  assert.match(page.url(), /#\/qr$/);
  assertNoConsoleErrors(page, 'keyboard join');
  await page.context().close();
});

test('dark theme: the main screens of all three apps keep their contrast (axe)', async () => {
  const member = await app.login('+79995550202', { first_name: 'Нина' });
  const screens = [
    ['member', member, '/#/', 'balance-available', 'card'],
    ['member', member, '/#/history', null, 'history'],
    ['member', member, '/#/events', null, 'events'],
    ['pos', club.staff, '/pos/', null, 'identify'],
    ['admin', club.admin, '/admin/#/promos', null, 'promos'],
    ['admin', club.admin, '/admin/#/analytics', null, 'analytics'],
  ];
  for (const [scope, tokens, path, testId, name] of screens) {
    const page = await newPage(browser, PHONE_SIZE, { colorScheme: 'dark' });
    await signIn(page, scope, tokens);
    await page.goto(`${app.url}${path}`, { waitUntil: 'networkidle' });
    if (testId) await page.getByTestId(testId).waitFor();
    await page.locator('h1').first().waitFor();
    await assertAccessible(page, `${path} (dark)`);
    await screenshot(page, `dark-${scope}-${name}-phone`);
    assertNoConsoleErrors(page, `${path} (dark)`);
    await page.context().close();
  }
});
