// Browser tests of the dashboard's «Загрузка продаж» (/admin/#/ingest): an
// owner uploads a partner CSV (BOM, `;`, decimal commas) and sees the totals
// and every row's outcome in Russian; the members get exactly those purchases;
// the same file again only finds duplicates; a Windows-1251 file and a file
// over 10 MiB are refused (the latter before anything is sent); a manager can
// upload too; a plain member has no access.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  startApp, seedClub, launchBrowser, newPage, signIn, assertNoConsoleErrors, assertAccessible, screenshot,
  PHONE_SIZE, DESKTOP_SIZE,
} from './harness.mjs';

const ANNA = '+79990000021';
const BORIS = '+79990000022';
const STRANGER = '+79990000029'; // never logs in: their sale is parked
const MANAGER = '+79990000003';
const PLAIN = '+79990000030';

let app;
let browser;
let club;
let anna;
let boris;
let manager;
let plain;
let page; // the owner's desktop page

// Today in Moscow (the business's zone) as DD.MM.YYYY and YYYY-MM-DD.
const today = () => {
  const [d, m, y] = new Intl.DateTimeFormat('ru-RU', { timeZone: 'Europe/Moscow', day: '2-digit', month: '2-digit', year: 'numeric' }).format(new Date()).split('.');
  return { ru: `${d}.${m}.${y}`, iso: `${y}-${m}-${d}` };
};

const { ru, iso } = today();
const MAIN_CSV = Buffer.concat([
  Buffer.from([0xef, 0xbb, 0xbf]),
  Buffer.from(
    [
      'external_id;date;customer_phone;amount;category;description',
      `A-1;${ru} 09:15;8 999 000-00-21;1500;;Капучино`,
      `A-2;${iso};+7 (999) 000-00-22;2345,50;gastronomy;Торт`,
      `A-3;${ru};${STRANGER};990;;Гость`,
      `A-4;${ru};${ANNA};12 рублей;;Опечатка`,
      `A-5;${ru};${ANNA};"1 200,5";;Десерт`,
      '',
    ].join('\r\n'),
    'utf8',
  ),
]);

// Waits until the shell rendered the route and nothing is loading.
async function go(p, hash) {
  await p.evaluate((h) => {
    location.hash = h;
  }, hash);
  await p.waitForFunction(() => {
    const m = document.querySelector('main');
    return m && m.dataset.route === location.hash && !m.hasAttribute('aria-busy') && !m.querySelector('.loading');
  });
}

async function purchases(tokens) {
  const r = await app.api('GET', '/api/v1/wallet/purchases', { token: tokens.access_token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.items.map((p) => ({ amount: p.amount, business_id: p.business_id })).sort((a, b) => a.amount - b.amount);
}

// Chooses a file in the section's picker and presses «Загрузить».
async function upload(p, name, buffer, mimeType = 'text/csv') {
  await p.getByLabel('Файл с продажами (CSV)').setInputFiles({ name, mimeType, buffer });
  await p.getByText(`Выбран файл: ${name}`).waitFor();
  await p.getByRole('button', { name: 'Загрузить', exact: true }).click();
}

// The report's big numbers, read from the screen.
async function totals(p) {
  const list = p.getByRole('list', { name: 'Итоги загрузки' });
  await list.waitFor();
  const out = {};
  for (const li of await list.getByRole('listitem').all()) {
    const [n, label] = (await li.innerText()).split('\n').map((s) => s.trim());
    out[label] = Number(n);
  }
  return out;
}

// The report table's rows as {row, id, status, reason}.
async function tableRows(p) {
  const rows = await p.getByRole('region', { name: 'Строки файла' }).locator('tbody tr').all();
  const out = [];
  for (const r of rows) {
    const [row, id, status, reason] = await r.locator('td').allInnerTexts();
    out.push({ row, id, status, reason });
  }
  return out;
}

before(async () => {
  app = await startApp();
  browser = await launchBrowser();
  club = await seedClub(app);
  anna = await app.login(ANNA);
  boris = await app.login(BORIS);
  manager = await app.login(MANAGER);
  plain = await app.login(PLAIN);
  const st = await app.api('POST', `/api/v1/admin/businesses/${club.business.id}/staff`, {
    token: club.admin.access_token,
    body: { phone: MANAGER, role: 'manager' },
  });
  assert.ok(st.status === 201 || st.status === 200, JSON.stringify(st.body));
});

after(async () => {
  if (browser) await browser.close();
  if (app) await app.stop();
});

test('the owner opens the section: format, sample file, checks before sending', async () => {
  page = await newPage(browser, DESKTOP_SIZE);
  await signIn(page, 'admin', club.staff);
  await page.goto(`${app.url}/admin/#/ingest`);
  await go(page, '#/ingest');
  await page.getByRole('heading', { name: `Загрузка продаж · ${club.business.name}`, level: 1 }).waitFor();
  await page.getByRole('navigation', { name: 'Разделы панели' }).getByRole('link', { name: 'Загрузка продаж' }).waitFor();
  await page.getByText('external_id, date, customer_phone, amount, category, description').waitFor();
  await page.getByRole('group', { name: /Перетащите CSV-файл сюда/ }).waitFor();
  await page.getByText('Повторная загрузка того же файла безопасна').waitFor();

  // The sample is made in the browser and has the expected header.
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Скачать пример CSV' }).click()]);
  const sample = readFileSync(await dl.path(), 'utf8');
  assert.ok(sample.startsWith('\ufeffexternal_id;date;customer_phone;amount;category;description\r\n'), sample);
  assert.match(sample, /;3000,50;gastronomy;/);

  // Nothing chosen: a Russian message next to the picker, no request.
  const sent = [];
  const watch = (r) => r.url().includes('/ingest/') && sent.push(r.url());
  page.on('request', watch);
  await page.getByRole('button', { name: 'Загрузить', exact: true }).click();
  await page.getByText('Выберите CSV-файл с продажами.').waitFor();
  assert.equal(await page.getByLabel('Файл с продажами (CSV)').getAttribute('aria-invalid'), 'true');

  // Over 10 MiB: refused in the browser, nothing sent.
  await upload(page, 'big.csv', Buffer.alloc(10 * 1024 * 1024 + 1, 0x41));
  await page.getByText(/Файл слишком большой .*можно до 10 МБ\. Разделите его на части/).waitFor();
  await page.waitForTimeout(300);
  page.off('request', watch);
  assert.deepEqual(sent, [], 'no upload request for a file over 10 MiB');

  await assertAccessible(page, 'ingest (before upload)');
  await screenshot(page, 'admin-ingest-desktop');
  assertNoConsoleErrors(page, 'ingest (before upload)');
});

test('the owner uploads a CSV: totals, rows in Russian, the members get exactly those purchases', async () => {
  // A double click sends one request (the button is guarded).
  const sent = [];
  const watch = (r) => r.url().includes('/api/v1/ingest/transactions.csv') && sent.push(r);
  page.on('request', watch);
  await page.getByLabel('Файл с продажами (CSV)').setInputFiles({ name: 'prodazhi.csv', mimeType: 'text/csv', buffer: MAIN_CSV });
  await page.getByRole('button', { name: 'Загрузить', exact: true }).dblclick();
  await page.getByRole('heading', { name: 'Результат: prodazhi.csv' }).waitFor();
  page.off('request', watch);
  assert.equal(sent.length, 1, 'one upload for a double click');
  assert.match(sent[0].url(), new RegExp(`business_id=${club.business.id}`));
  assert.match(sent[0].headers()['content-type'], /^text\/csv/);

  assert.deepEqual(await totals(page), { Принято: 3, Дубликаты: 0, Отклонено: 1, Отложено: 1 });
  const rows = await tableRows(page);
  assert.deepEqual(rows.map((r) => [r.row, r.id, r.status]), [
    ['1', 'A-1', 'Принята'],
    ['2', 'A-2', 'Принята'],
    ['3', 'A-3', 'Отложена'],
    ['4', 'A-4', 'Отклонена'],
    ['5', 'A-5', 'Принята'],
  ]);
  assert.match(rows[3].reason, /^Неверная сумма: укажите рубли/);
  assert.match(rows[3].reason, /Столбец: amount\./);
  assert.match(rows[2].reason, /ещё не участник клуба/);
  // No English leaks into the report.
  const text = await page.locator('main').innerText();
  assert.doesNotMatch(text, /INVALID_|amount must|rubles like/);

  // The filter shows only the problem rows.
  await page.getByLabel(/Только проблемные строки/).check();
  assert.deepEqual((await tableRows(page)).map((r) => r.id), ['A-3', 'A-4']);

  // The problem rows download: our columns, then the file's own cells.
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Скачать проблемные строки (CSV)' }).click()]);
  const csv = readFileSync(await dl.path(), 'utf8');
  const lines = csv.replace(/^\ufeff/, '').trim().split('\r\n');
  assert.equal(lines[0], 'строка;статус;причина;external_id;date;customer_phone;amount;category;description');
  assert.equal(lines.length, 3, csv);
  assert.match(lines[1], /^3;Отложена;.*;A-3;/);
  assert.match(lines[2], /^4;Отклонена;Неверная сумма.*;A-4;.*;12 рублей;;Опечатка$/);

  // Through the API: exactly the accepted sales, at this business.
  const biz = club.business.id;
  assert.deepEqual(await purchases(anna), [{ amount: 120050, business_id: biz }, { amount: 150000, business_id: biz }]);
  assert.deepEqual(await purchases(boris), [{ amount: 234550, business_id: biz }]);

  await assertAccessible(page, 'ingest report');
  await screenshot(page, 'admin-ingest-report-desktop');
  assertNoConsoleErrors(page, 'ingest report');
});

test('the same file again only finds duplicates; nothing is doubled', async () => {
  await page.getByRole('button', { name: 'Загрузить', exact: true }).click();
  await page.waitForFunction(() => document.querySelector('.ingest-totals li .big')?.textContent === '0');
  assert.deepEqual(await totals(page), { Принято: 0, Дубликаты: 4, Отклонено: 1, Отложено: 0 });
  const rows = await tableRows(page);
  assert.deepEqual(rows.map((r) => r.status), ['Дубликат', 'Дубликат', 'Дубликат', 'Отклонена', 'Дубликат']);
  await page.getByText('эти продажи уже были загружены раньше').waitFor();
  assert.equal((await purchases(anna)).length, 2);
  assert.equal((await purchases(boris)).length, 1);
  assertNoConsoleErrors(page, 'ingest re-upload');
});

test('a Windows-1251 file gets the Russian encoding message', async () => {
  const cp1251 = Buffer.concat([
    Buffer.from(`external_id;date;customer_phone;amount;category;description\r\nW-1;${ru};${BORIS};100;;`, 'ascii'),
    Buffer.from([0xcf, 0xf0, 0xe8]),
    Buffer.from('\r\n', 'ascii'),
  ]);
  await upload(page, 'windows.csv', cp1251);
  await page.getByText('Сохраните файл в кодировке UTF-8 и загрузите снова.').waitFor();
  assert.equal((await purchases(boris)).length, 1, 'nothing recorded from the refused file');
  // A file without the required columns, chosen with the «Выбрать файл…»
  // button: the whole-file message too.
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Выбрать файл…' }).click()]);
  await chooser.setFiles({ name: 'wrong.csv', mimeType: 'text/csv', buffer: Buffer.from('id,sum\n1,100\n') });
  await page.getByText('Выбран файл: wrong.csv').waitFor();
  await page.getByRole('button', { name: 'Загрузить', exact: true }).click();
  await page.getByText('В файле не хватает обязательных столбцов').waitFor();
  await assertAccessible(page, 'ingest file error');
  assertNoConsoleErrors(page, 'ingest file error');
});

test('a manager uploads on a phone; a plain member has no access', async () => {
  const mp = await newPage(browser, PHONE_SIZE);
  await signIn(mp, 'admin', manager);
  await mp.goto(`${app.url}/admin/#/ingest`);
  await go(mp, '#/ingest');
  await mp.getByRole('heading', { name: `Загрузка продаж · ${club.business.name}`, level: 1 }).waitFor();
  await mp.getByText('менеджер').first().waitFor();
  await assertAccessible(mp, 'ingest on a phone');
  await screenshot(mp, 'admin-ingest-phone');

  // Dropped onto the drop zone (a comma file with a quoted decimal comma).
  const text = `external_id,date,customer_phone,amount\r\nM-1,${iso},${BORIS},"99,90"\r\n`;
  const dt = await mp.evaluateHandle((t) => {
    const d = new DataTransfer();
    d.items.add(new File([t], 'manager.csv', { type: 'text/csv' }));
    return d;
  }, text);
  await mp.getByRole('group', { name: /Перетащите CSV-файл сюда/ }).dispatchEvent('drop', { dataTransfer: dt });
  await mp.getByText('Выбран файл: manager.csv').waitFor();
  await mp.getByRole('button', { name: 'Загрузить', exact: true }).click();
  await mp.getByRole('heading', { name: 'Результат: manager.csv' }).waitFor();
  assert.deepEqual(await totals(mp), { Принято: 1, Дубликаты: 0, Отклонено: 0, Отложено: 0 });
  assert.equal(await mp.getByRole('button', { name: 'Скачать проблемные строки (CSV)' }).isDisabled(), true);
  assert.deepEqual((await purchases(boris)).map((p) => p.amount), [9990, 234550]);
  await assertAccessible(mp, 'ingest report on a phone');
  await screenshot(mp, 'admin-ingest-report-phone');
  assertNoConsoleErrors(mp, 'ingest (manager)');
  await mp.context().close();

  // A member without a staff role: no dashboard, and the API refuses too.
  const np = await newPage(browser, PHONE_SIZE);
  await signIn(np, 'admin', plain);
  await np.goto(`${app.url}/admin/#/ingest`);
  await np.getByRole('heading', { name: 'Нет доступа к панели' }).waitFor();
  assert.equal(await np.getByText('Файл с продажами (CSV)').count(), 0);
  const r = await fetch(`${app.url}/api/v1/ingest/transactions.csv?business_id=${club.business.id}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${plain.access_token}`, 'content-type': 'text/csv' },
    body: text,
  });
  assert.equal(r.status, 403);
  assertNoConsoleErrors(np, 'no access');
  await np.context().close();
});
