// Browser tests of the admin dashboard's community and analytics sections:
// moderation, events, proposals, referrals (CSV), support, preorders,
// business analytics with Chart.js charts and the club dashboard — real
// clicks and typing, effects checked through the API, screenshots, axe and
// console checks at phone and desktop sizes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  startApp,
  seedClub,
  launchBrowser,
  newPage,
  signIn,
  assertNoConsoleErrors,
  assertAccessible,
  screenshot,
  key,
  PHONE_SIZE,
  DESKTOP_SIZE,
} from './harness.mjs';

let app;
let browser;
let admin;
let bizA;
let bizB;
let phone;
let desktop;
const members = [];
let reviewId;
let ticketId;
let itemId;
let disputeId;
let ownerB;
let closedId;

const rub = new Intl.NumberFormat('ru-RU', { style: 'currency', currency: 'RUB' });
const norm = (s) => String(s).replace(/[\s\u00a0\u202f]+/g, ' ').trim();

async function ok(res, status = [200, 201]) {
  assert.ok([].concat(status).includes(res.status), `${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function purchase(staffToken, phoneNo, amount, category) {
  return ok(
    await app.api('POST', '/api/v1/pos/purchases', {
      token: staffToken,
      headers: { 'idempotency-key': key() },
      body: { member: { phone: phoneNo }, amount, category },
    }),
  );
}

before(async () => {
  // No points hold, so a referral's reward is due at once (manual payout).
  app = await startApp({ points_hold_days: '0' });
  const club = await seedClub(app);
  admin = club.admin;
  bizA = club.business;
  // Staff tokens for the tills: a member first, then staff, then a refreshed
  // pair that carries the role.
  const staffOf = async (biz, phoneNo, role) => {
    const first = await app.login(phoneNo);
    await ok(await app.api('POST', `/api/v1/admin/businesses/${biz.id}/staff`, { token: admin.access_token, body: { phone: phoneNo, role } }));
    return ok(await app.api('POST', '/api/v1/auth/refresh', { body: { refresh_token: first.refresh_token } }));
  };
  const ownerA = await staffOf(bizA, '+79990000004', 'manager');
  bizB = await ok(await app.api('POST', '/api/v1/admin/businesses', { token: admin.access_token, body: { name: 'Салон «Миндаль»', category: 'beauty' } }));
  ownerB = await staffOf(bizB, '+79990000003', 'owner');

  // Members who bought at B first and then at A: B is A's customer source.
  for (let i = 1; i <= 3; i++) {
    const p = `+7999111000${i}`;
    const t = await app.login(p, { first_name: `Анна${i}` });
    members.push({ phone: p, tokens: t });
    await purchase(ownerB.access_token, p, 250_000 + i * 10_000, 'beauty');
  }
  const buys = [];
  for (const m of members) buys.push(await purchase(ownerA.access_token, m.phone, 150_000, 'gastronomy'));
  await purchase(ownerA.access_token, members[0].phone, 90_000, 'gastronomy');

  // A review with a link waits for moderation.
  const review = await ok(
    await app.api('POST', '/api/v1/reviews', {
      token: members[0].tokens.access_token,
      body: { target: { type: 'business', business_id: bizA.id }, purchase_id: buys[0].purchase_id, rating: 2, text: 'Пишите мне: https://spam.example.com скидки' },
    }),
  );
  assert.equal(review.status, 'pending');
  reviewId = review.id;

  // A referred friend gives the referral list and its CSV a row.
  const me = await ok(await app.api('GET', '/api/v1/me', { token: members[1].tokens.access_token }));
  await app.login('+79991110009', { referral_code: me.referral_code });
  await purchase(ownerA.access_token, '+79991110009', 150_000, 'gastronomy');
  await app.job('referral-settle');

  // An event, a support ticket and a preorder item.
  const in3 = (days, hours = 19) => {
    const d = new Date(Date.now() + days * 86_400_000);
    d.setUTCHours(hours, 0, 0, 0);
    return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  };
  await ok(
    await app.api('POST', '/api/v1/admin/events', {
      token: admin.access_token,
      body: { title: 'Винный вечер', description: 'Дегустация', type: 'ужин', format: 'free', starts_at: in3(10), ends_at: in3(10, 22), business_id: bizA.id, capacity: 20 },
    }),
  );
  closedId = (
    await ok(
      await app.api('POST', '/api/v1/admin/events', {
        token: admin.access_token,
        body: { title: 'Закрытый ужин', description: 'Для своих', type: 'ужин', format: 'closed', starts_at: in3(12), ends_at: in3(12, 23), business_id: bizA.id, capacity: 8 },
      }),
    )
  ).id;
  const ticket = await ok(
    await app.api('POST', '/api/v1/support/tickets', {
      token: members[2].tokens.access_token,
      body: { subject: 'Не начислились баллы', body: 'Купила кофе вчера, баллов нет.', business_id: bizA.id },
    }),
  );
  ticketId = ticket.id;
  const dispute = await ok(
    await app.api('POST', '/api/v1/support/disputes', {
      token: members[1].tokens.access_token,
      body: { purchase_id: buys[1].purchase_id, reason: 'Капучино был холодный', requested: 'compensation', amount: 10_000 },
    }),
  );
  disputeId = dispute.id;
  const item = await ok(
    await app.api('POST', '/api/v1/admin/preorder-items', {
      token: admin.access_token,
      body: {
        business_id: bizA.id,
        title: 'Новогодний бокс',
        description: 'Кофе и сладости',
        release_at: in3(30),
        cancellation_deadline: in3(20),
        refund_policy: { full_until: in3(10), partial_percent: 50, none_after: in3(20) },
      },
    }),
  );
  itemId = item.id;
  await ok(
    await app.api('POST', `/api/v1/admin/preorder-items/${itemId}/tiers`, {
      token: admin.access_token,
      body: { name: 'Ранний', base_price: 500_000, discount_percent: 10, max_quantity: 50, early_access_days: 3, available_from: in3(-1), available_until: in3(25), priority: 1, bonuses: [{ type: 'points', value: 30_000, delivery: 'automatic' }] },
    }),
  );
  // The nightly job scores RFM segments, chains and the north star.
  await app.job('analytics-nightly');

  browser = await launchBrowser();
  phone = await newPage(browser, PHONE_SIZE);
  desktop = await newPage(browser, DESKTOP_SIZE);
  for (const p of [phone, desktop]) await signIn(p, 'admin', admin);
});

after(async () => {
  if (browser) await browser.close();
  if (app) await app.stop();
});

/** Opens a route on both pages and checks each: screenshot, axe, console. */
async function screens(route, name, ready) {
  for (const [page, size] of [
    [phone, 'phone'],
    [desktop, 'desktop'],
  ]) {
    await page.goto(`${app.url}/admin/#/${route}`);
    await ready(page);
    // No raw values leak into the text (null, undefined, NaN).
    assert.doesNotMatch(await page.locator('main').innerText(), /\bnull\b|undefined|NaN/, `${name} (${size}) text`);
    await screenshot(page, `admin-engage-${name}-${size}`);
    await assertAccessible(page, `${name} (${size})`);
    assertNoConsoleErrors(page, `${name} (${size})`);
  }
}

const heading = (page, name) => page.getByRole('heading', { level: 1, name }).waitFor();

test('moderation: a pending review is rejected with a reason', async () => {
  await screens('moderation', 'moderation', async (page) => {
    await heading(page, 'Модерация отзывов');
    await page.getByText('https://spam.example.com').waitFor();
    await page.getByText('⚠ ссылка').waitFor();
  });
  const page = desktop;
  await page.getByRole('button', { name: 'Отклонить', exact: true }).click();
  // An empty reason is refused before sending.
  await page.getByRole('button', { name: 'Отклонить отзыв' }).click();
  await page.getByText('Напишите причину: её увидит автор.').waitFor();
  await page.getByLabel('Причина отклонения').fill('Реклама и ссылки запрещены правилами клуба.');
  await page.getByRole('button', { name: 'Отклонить отзыв' }).click();
  await page.getByText(/отклонён\.$/).first().waitFor();
  const rejected = await ok(await app.api('GET', '/api/v1/admin/reviews?status=rejected', { token: admin.access_token }));
  const r = rejected.items.find((x) => x.id === reviewId);
  assert.ok(r, 'the review is rejected');
  assert.equal(r.decision_reason, 'Реклама и ссылки запрещены правилами клуба.');
  await page.getByRole('button', { name: /Отклонённые/ }).click();
  await page.getByText('Реклама и ссылки запрещены правилами клуба.').waitFor();
  assertNoConsoleErrors(page, 'moderation after reject');
});

test('events: an event created through the form is listed', async () => {
  await screens('events', 'events', async (page) => {
    await heading(page, 'События');
    await page.getByRole('link', { name: 'Винный вечер' }).waitFor();
  });
  const page = desktop;
  await page.getByRole('link', { name: 'Новое событие' }).click();
  await heading(page, 'Новое событие');
  await screenshot(page, 'admin-engage-event-form-desktop');
  await assertAccessible(page, 'event form');
  // Validation first: nothing typed.
  await page.getByRole('button', { name: 'Создать событие' }).click();
  await page.getByText('Введите название.').waitFor();

  const local = (days, h) => {
    const d = new Date(Date.now() + days * 86_400_000);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(h)}:00`;
  };
  await page.getByLabel('Название').fill('Мастер-класс по букетам');
  await page.getByLabel('Описание').fill('Собираем зимние букеты с флористом.');
  await page.getByLabel('Тип').fill('мастер-класс');
  await page.getByLabel('Формат').selectOption('paid');
  await page.getByLabel('Цена места, ₽').fill('1 500');
  await page.getByLabel('Мест', { exact: true }).fill('12');
  await page.getByLabel('Начало').fill(local(14, 18));
  await page.getByLabel('Окончание').fill(local(14, 21));
  await page.locator('main').getByLabel('Партнёр').selectOption(bizB.id);
  await page.getByLabel('Адрес').fill('Москва, Цветной бульвар, 1');
  await page.getByLabel('Минимальный статус').selectOption('vip');
  await page.getByLabel('Можно прийти с гостем').check();
  await page.getByRole('button', { name: 'Добавить пункт программы' }).click();
  await page.getByLabel('Время (программа, 1)').fill('18:00');
  await page.getByLabel('Что происходит (программа, 1)').fill('Знакомство и кофе');
  await page.getByRole('button', { name: 'Добавить спикера' }).click();
  await page.getByLabel('Имя (спикеры, 1)').fill('Мария');
  await page.getByLabel('Кто она (спикеры, 1)').fill('флорист');
  await page.getByLabel('Что взять с собой').fill('Фартук\nСекатор');
  await page.getByRole('button', { name: 'Создать событие' }).click();
  await heading(page, 'Мастер-класс по букетам');
  await page.getByText('Бюджет событий').waitFor();

  const list = await ok(await app.api('GET', '/api/v1/events?status=all', { token: admin.access_token }));
  const ev = list.items.find((e) => e.title === 'Мастер-класс по букетам');
  assert.ok(ev, 'the new event is listed');
  assert.equal(ev.format, 'paid');
  assert.equal(ev.price, 150_000);
  assert.equal(ev.capacity, 12);
  assert.equal(ev.min_tier, 'vip');
  assert.equal(ev.location.business_id, bizB.id);
  const full = await ok(await app.api('GET', `/api/v1/events/${ev.id}`, { token: admin.access_token }));
  assert.deepEqual(full.program, [{ time: '18:00', activity: 'Знакомство и кофе' }]);
  assert.deepEqual(full.speakers, [{ name: 'Мария', title: 'флорист' }]);
  assert.deepEqual(full.what_to_bring, ['Фартук', 'Секатор']);
  assert.equal(full.plus_one_allowed, true);

  // The budget is 2 % of the seeded sales; asking for more is refused in Russian.
  await page.getByLabel('Сумма, ₽').fill('1000000');
  await page.getByRole('button', { name: 'Выделить бюджет' }).click();
  await page.getByText('Недостаточно средств в бюджете событий.').waitFor();
  await page.getByLabel('Сумма, ₽').fill('100');
  await page.getByRole('button', { name: 'Выделить бюджет' }).click();
  await page.getByText(/Выделено этому событию: 100,00/).waitFor();

  await screenshot(page, 'admin-engage-event-page-desktop');
  await assertAccessible(page, 'event page');
  // Editing sends what changed.
  await page.getByLabel('Мест', { exact: true }).fill('15');
  await page.getByRole('button', { name: 'Сохранить изменения' }).click();
  await page.getByText('Занято мест: 0 из 15').waitFor();
  assert.equal((await ok(await app.api('GET', `/api/v1/events/${ev.id}`, { token: admin.access_token }))).capacity, 15);
  // Cancelling asks first.
  await page.getByRole('button', { name: 'Отменить событие' }).click();
  await page.getByRole('button', { name: 'Да, отменить' }).click();
  await page.getByText(/Событие отменено\. Освобождено мест/).waitFor();
  const after = await ok(await app.api('GET', `/api/v1/events/${ev.id}`, { token: admin.access_token }));
  assert.equal(after.status, 'cancelled');
  assertNoConsoleErrors(page, 'event page');
});

test('events: a member is invited to a closed event by id', async () => {
  const page = desktop;
  await page.goto(`${app.url}/admin/#/events/${closedId}`);
  await heading(page, 'Закрытый ужин');
  const before = await ok(await app.api('GET', `/api/v1/events/${closedId}`, { token: members[0].tokens.access_token }));
  assert.equal(before.can_register, false);
  await page.getByLabel('Номер участницы (ID)').fill('не номер');
  await page.getByRole('button', { name: 'Пригласить' }).click();
  await page.getByText('Введите ID участницы целиком (36 символов).').waitFor();
  await page.getByLabel('Номер участницы (ID)').fill(members[0].tokens.member.id);
  await page.getByRole('button', { name: 'Пригласить' }).click();
  await page.getByText(`${members[0].tokens.member.id}: приглашена`).waitFor();
  const after = await ok(await app.api('GET', `/api/v1/events/${closedId}`, { token: members[0].tokens.access_token }));
  assert.equal(after.can_register, true);
  await assertAccessible(page, 'closed event');
  assertNoConsoleErrors(page, 'closed event');
});

test('referrals: the list with totals and the CSV download', async () => {
  await screens('referrals', 'referrals', async (page) => {
    await heading(page, 'Реферальная программа');
    await page.getByText(/^Код [A-Za-z2-9]{8}$/).first().waitFor();
  });
  const page = desktop;
  // The friend's purchase made the reward due: the admin pays it.
  await page.getByRole('button', { name: 'Выплатить награду' }).click();
  await page.locator('.referral .badge', { hasText: 'Награждены' }).waitFor();
  const list = await ok(await app.api('GET', '/api/v1/admin/referrals', { token: admin.access_token }));
  assert.equal(list.items[0].state, 'rewarded');
  assert.equal(list.totals.rewarded, 1);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Скачать CSV' }).click()]);
  assert.match(download.suggestedFilename(), /^referrals-\d{4}-\d{2}-\d{2}\.csv$/);
  const text = readFileSync(await download.path(), 'utf8');
  assert.ok(text.startsWith('\ufeff'), 'the CSV carries a BOM');
  const lines = text.replace(/^\ufeff/, '').trim().split(/\r?\n/);
  assert.match(lines[0], /^id,created_at,state/);
  assert.equal(lines.length, 2, 'one referral row');
  assert.match(lines[1], /,rewarded,/);
  assertNoConsoleErrors(page, 'referrals CSV');
});

test('support: replying to a ticket, the FAQ and the Telegram outbox', async () => {
  await screens('support', 'support', async (page) => {
    await heading(page, 'Поддержка');
    await page.getByRole('link', { name: 'Не начислились баллы' }).waitFor();
  });
  const page = desktop;
  await page.getByRole('link', { name: 'Не начислились баллы' }).click();
  await heading(page, 'Обращение: Не начислились баллы');
  await page.getByText('Купила кофе вчера, баллов нет.').waitFor();
  await page.getByLabel('Ответ', { exact: true }).fill('Проверили: баллы придут через 14 дней.');
  await page.getByRole('button', { name: 'Отправить ответ' }).click();
  await page.locator('.messages').getByText('Проверили: баллы придут через 14 дней.').waitFor();
  const t = await ok(await app.api('GET', `/api/v1/support/tickets/${ticketId}`, { token: admin.access_token }));
  assert.ok(t.messages.some((m) => m.body === 'Проверили: баллы придут через 14 дней.' && m.author_role !== 'member'));
  assert.equal(t.status, 'in_progress');
  await page.getByLabel('Статус', { exact: true }).selectOption('resolved');
  await page.getByRole('button', { name: 'Сохранить' }).click();
  await page.getByText(/Статус: Решено/).waitFor();
  await screenshot(page, 'admin-engage-ticket-desktop');
  await assertAccessible(page, 'ticket page');
  assertNoConsoleErrors(page, 'ticket page');
  const t2 = await ok(await app.api('GET', `/api/v1/support/tickets/${ticketId}`, { token: admin.access_token }));
  assert.equal(t2.status, 'resolved');

  await screens('support/faq', 'faq', async (p) => heading(p, 'Частые вопросы'));
  await page.getByLabel('Вопрос', { exact: true }).fill('Когда приходят баллы?');
  await page.getByLabel('Ответ', { exact: true }).fill('Через 14 дней после покупки.');
  await page.getByRole('button', { name: 'Добавить вопрос' }).click();
  await page.getByRole('heading', { name: 'Когда приходят баллы?' }).waitFor();
  const faq = await ok(await app.api('GET', '/api/v1/admin/faq', { token: admin.access_token }));
  assert.ok(faq.items.some((f) => f.question === 'Когда приходят баллы?'));

  // A dispute is opened by its number and decided.
  await page.goto(`${app.url}/admin/#/support`);
  await page.getByLabel('Номер спора').fill(disputeId);
  await page.getByRole('button', { name: 'Открыть спор' }).click();
  await heading(page, 'Спор по покупке');
  await page.getByText('Капучино был холодный').waitFor();
  await page.getByLabel('Решение').selectOption('accept');
  await page.getByLabel('Баллы компенсации, ₽').fill('50');
  await page.getByLabel('Комментарий для участницы').fill('Извините, начислили баллы.');
  await screenshot(page, 'admin-engage-dispute-desktop');
  await assertAccessible(page, 'dispute page');
  await page.getByRole('button', { name: 'Принять решение' }).click();
  await page.getByText('Принят', { exact: true }).waitFor();
  const d = await ok(await app.api('GET', `/api/v1/support/disputes/${disputeId}`, { token: admin.access_token }));
  assert.equal(d.status, 'accepted');
  assert.equal(d.points, 5_000);
  assertNoConsoleErrors(page, 'dispute page');

  await screens('support/outbox', 'outbox', async (p) => {
    await heading(p, 'Отправка в Telegram');
    await p.getByRole('region', { name: 'Отправка уведомлений в Telegram' }).waitFor();
  });
});

test('proposals and preorders render with their states', async () => {
  await screens('proposals', 'proposals', async (page) => {
    await heading(page, 'Предложения событий');
    await page.getByText('Предложений с таким статусом нет.').waitFor();
  });
  await screens('preorders', 'preorders', async (page) => {
    await heading(page, 'Предзаказы');
    await page.getByRole('link', { name: 'Новогодний бокс' }).waitFor();
  });
  await screens(`preorders/${itemId}`, 'preorder-item', async (page) => {
    await heading(page, 'Предзаказ: Новогодний бокс');
    await page.getByRole('region', { name: 'Варианты предзаказа' }).waitFor();
    await page.getByRole('region', { name: 'Повышения и возвраты' }).waitFor();
  });
});

test('preorders: an item and a tier are created through the forms', async () => {
  const page = desktop;
  const local = (days) => {
    const d = new Date(Date.now() + days * 86_400_000);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T12:00`;
  };
  await page.goto(`${app.url}/admin/#/preorders`);
  await heading(page, 'Предзаказы');
  await page.getByText('Новый предзаказ').click();
  await page.locator('main').getByLabel('Партнёр').selectOption(bizB.id);
  await page.getByLabel('Название', { exact: true }).fill('Весенняя коллекция');
  await page.getByLabel('Описание').fill('Лаки и уход');
  await page.getByLabel('Дата выхода').fill(local(40));
  await page.getByLabel('Отмена возможна до').fill(local(30));
  await page.getByLabel('Полный возврат до').fill(local(10));
  await page.getByLabel('Без возврата после').fill(local(30));
  await page.getByRole('button', { name: 'Создать предзаказ' }).click();
  await heading(page, 'Предзаказ: Весенняя коллекция');
  await page.getByText('Вариантов пока нет').waitFor();
  await page.locator('summary', { hasText: 'Добавить вариант' }).click();
  await page.getByLabel('Название варианта').fill('Базовый');
  await page.getByLabel('Цена, ₽').fill('3000');
  await page.getByLabel('Скидка, %').fill('10');
  await page.getByLabel('Сколько штук').fill('20');
  await page.getByLabel('Бонус', { exact: true }).selectOption('points');
  await page.getByLabel('Размер или описание бонуса').fill('100');
  await page.getByRole('button', { name: 'Добавить вариант' }).click();
  await page.getByRole('region', { name: 'Варианты предзаказа' }).getByText('Базовый').waitFor();
  await page.getByRole('region', { name: 'Продажи по вариантам' }).getByText('Базовый').waitFor();
  const id = page.url().split('/').pop();
  const item = await ok(await app.api('GET', `/api/v1/preorders/items/${id}`, { token: admin.access_token }));
  assert.equal(item.business_id, bizB.id);
  assert.equal(item.refund_policy.partial_percent, 50);
  assert.equal(item.tiers.length, 1);
  assert.equal(item.tiers[0].base_price, 300_000);
  assert.equal(item.tiers[0].final_price, 270_000);
  assert.equal(item.tiers[0].max_quantity, 20);
  assert.deepEqual(item.tiers[0].bonuses, [{ type: 'points', value: 10_000, delivery: 'automatic' }]);
  assertNoConsoleErrors(page, 'preorder forms');
});

test('owner: sees their own business, its analytics and no admin sections', async () => {
  const page = await newPage(browser, PHONE_SIZE);
  await signIn(page, 'admin', ownerB);
  await page.goto(`${app.url}/admin/#/analytics`);
  await heading(page, 'Аналитика: Салон «Миндаль»');
  // B's customers went on to A.
  await page.getByRole('img', { name: /^Куда клиенты пошли дальше/ }).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('canvas')].length >= 2 && [...document.querySelectorAll('canvas')].every((c) => window.Chart && window.Chart.getChart(c)));
  await page.getByRole('region', { name: 'Следующие партнёры клиентов' }).getByText('Кофейня «Зерно»', { exact: true }).waitFor({ state: 'attached' });
  const nav = await page.locator('#sidenav').innerText();
  assert.doesNotMatch(nav, /Модерация|Рефералы|Клуб\b/);
  assert.match(nav, /События/);
  await screenshot(page, 'admin-engage-owner-analytics-phone');
  await assertAccessible(page, 'owner analytics');
  await page.goto(`${app.url}/admin/#/events`);
  await heading(page, 'События');
  await page.getByText('События партнёра «Салон «Миндаль»».').waitFor();
  await assertAccessible(page, 'owner events');
  assertNoConsoleErrors(page, 'owner');
  await page.context().close();
});

test('analytics: charts are drawn and the overview matches the API', async () => {
  const q = (() => {
    const to = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
    return `from=${from}&to=${to}`;
  })();
  const ov = await ok(await app.api('GET', `/api/v1/analytics/businesses/${bizA.id}/overview?${q}`, { token: admin.access_token }));
  assert.ok(ov.total_revenue > 0);
  for (const page of [phone, desktop]) {
    await page.goto(`${app.url}/admin/#/analytics`);
    await page.locator('#biz-select').selectOption(bizA.id);
  }
  await screens('analytics', 'analytics', async (page) => {
    await heading(page, `Аналитика: ${bizA.name}`);
    for (const name of ['Выручка: этот и прошлый период', 'Новые клиенты по источникам', 'Клиенты по сегментам']) {
      await page.getByRole('img', { name: new RegExp(`^${name}`) }).waitFor();
    }
    await page.waitForFunction(() => document.querySelectorAll('canvas').length >= 3 && [...document.querySelectorAll('canvas')].every((c) => c.width > 0 && c.height > 0));
  });
  const page = desktop;
  const canvases = await page.locator('canvas').all();
  assert.ok(canvases.length >= 3, `charts drawn: ${canvases.length}`);
  for (const c of canvases) {
    const box = await c.boundingBox();
    assert.ok(box && box.width > 50 && box.height > 50, `canvas has a size: ${JSON.stringify(box)}`);
    assert.equal(await c.getAttribute('role'), 'img');
  }
  // Each chart got an instance that drew pixels.
  const drawn = await page.evaluate(() => [...document.querySelectorAll('canvas')].map((c) => !!window.Chart.getChart(c)));
  assert.ok(drawn.every(Boolean), 'every canvas has its chart');
  const tile = async (label) => norm(await page.locator('.stat', { hasText: label }).first().locator('.big').textContent());
  assert.equal(await tile('Выручка'), norm(rub.format(ov.total_revenue / 100)));
  assert.equal(await tile('Покупок'), String(ov.total_transactions));
  assert.equal(await tile('Средний чек'), norm(rub.format(ov.avg_check / 100)));
  assert.equal(await tile('Новые клиенты'), String(ov.new_customers));
  // The sources table names the other partner.
  await page.locator('.report', { hasText: 'Откуда приходят' }).getByText('Таблица данных').first().click();
  await page.getByRole('region', { name: 'Новые клиенты по источникам' }).getByText('Салон «Миндаль»').waitFor();

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Скачать покупки (CSV)' }).click()]);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.match(csv.replace(/^\ufeff/, ''), /^purchase_id,paid_at,member_id/);
  assert.equal(csv.trim().split(/\r?\n/).length, 1 + ov.total_transactions);
  assertNoConsoleErrors(page, 'analytics');
});

test('club: the dashboard with members by tier', async () => {
  const club = await ok(await app.api('GET', '/api/v1/analytics/club', { token: admin.access_token }));
  await screens('club', 'club', async (page) => {
    await heading(page, 'Клуб');
    await page.getByRole('img', { name: /^Число участниц в каждом статусе/ }).waitFor();
    await page.waitForFunction(() => {
      const c = document.querySelector('canvas');
      return c && c.width > 0 && window.Chart && window.Chart.getChart(c);
    });
  });
  const page = desktop;
  const box = await page.locator('canvas').first().boundingBox();
  assert.ok(box.width > 50 && box.height > 50);
  const members = norm(await page.locator('.stat', { hasText: 'Участниц' }).first().locator('.big').textContent());
  assert.equal(members, String(club.members_total));
  assert.equal(norm(await page.locator('.stat', { hasText: 'Выручка партнёров' }).locator('.big').textContent()), norm(rub.format(club.total_revenue / 100)));
});
