// Browser tests of the member app's community screens: reviews from a
// purchase, event registration (plus-one ticket, waitlist), weighted votes on
// proposals, the events budget, support tickets and disputes, and preorders —
// real clicks and typing, effects checked through the API, with screenshots,
// axe and console checks at phone and desktop sizes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, seedClub, launchBrowser, newPage, signIn, assertNoConsoleErrors, assertAccessible, screenshot, decodeQr, PHONE_SIZE, DESKTOP_SIZE } from './harness.mjs';
import { randomUUID } from 'node:crypto';

const VIP_PHONE = '+79990001001';
const INSIDER_PHONE = '+79990001002';
const INNER_PHONE = '+79990001003';
const day = 24 * 3600 * 1000;
const iso = (ms) => new Date(Date.now() + ms).toISOString();

let app, browser, club, admin, posKey, vip, insider, inner, vipPurchases, event, item;

async function api(method, path, token, body) {
  const r = await app.api(method, `/api/v1${path}`, { token, body });
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function buy(phone, amount, category) {
  const r = await app.api('POST', '/api/v1/pos/purchases', { token: posKey, headers: { 'idempotency-key': randomUUID() }, body: { member: { phone }, amount, category } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** A signed-in page at `size` opened on `hash`, waiting for the screen. */
async function open(tokens, size, hash) {
  // The app's CSP forbids inline scripts; axe is injected inline.
  const page = await newPage(browser, size);
  await signIn(page, 'member', tokens);
  await page.goto(`${app.url}/${hash}`);
  await ready(page);
  return page;
}

/** Waits until a community screen is mounted and done loading. */
async function ready(page) {
  await page.waitForFunction(() => {
    const s = document.querySelector('section.community');
    return s && s.dataset.route === location.hash && !s.querySelector('.loading');
  });
}

/** Waits for `text` inside `selector`, whitespace (no-break spaces of money) normalised. */
async function seeText(page, selector, text) {
  await page.waitForFunction(
    ([sel, t]) => [...document.querySelectorAll(sel)].some((el) => el.textContent.replace(/\s+/g, ' ').includes(t)),
    [selector, text],
  );
}

async function go(page, hash) {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  await page.waitForFunction((h) => location.hash === h, hash);
  await ready(page);
}

/** Screenshot + axe + console check of the screen on show. */
async function check(page, name, where = name) {
  await screenshot(page, name);
  await assertAccessible(page, where);
  assertNoConsoleErrors(page, where);
}

before(async () => {
  app = await startApp();
  club = await seedClub(app);
  admin = club.admin.access_token;
  // The till's writes go through the business's API key (the staff phone
  // already asked for a code in seedClub, a second code within 60 s is 429).
  posKey = (await api('POST', `/admin/businesses/${club.business.id}/api-keys`, admin, { name: 'Касса' })).api_key;
  vip = await app.login(VIP_PHONE, { first_name: 'Анна', last_name: 'Смирнова' });
  insider = await app.login(INSIDER_PHONE, { first_name: 'Вера' });
  // 36 000 ₽ in three categories makes Анна a VIP.
  for (const c of ['beauty', 'gastronomy', 'home']) await buy(VIP_PHONE, 1_200_000, c);
  await buy(INSIDER_PHONE, 250_000, 'gastronomy');
  // 207 000 ₽ across all nine categories reaches the inner circle.
  inner = await app.login(INNER_PHONE, { first_name: 'Ольга' });
  for (const c of ['beauty', 'cosmetology', 'dentistry', 'medicine', 'gastronomy', 'floristry', 'optics', 'home', 'legal']) await buy(INNER_PHONE, 2_300_000, c);
  assert.equal((await api('GET', '/me', inner.access_token)).tier, 'inner_circle');
  vipPurchases = (await api('GET', '/wallet/purchases', vip.access_token)).items;
  assert.equal((await api('GET', '/me', vip.access_token)).tier, 'vip');

  event = await api('POST', '/admin/events', admin, {
    title: 'Кофейная дегустация',
    description: 'Пробуем зерно из трёх стран.',
    full_description: 'Бариста расскажет о происхождении зерна и покажет три способа заваривания.',
    type: 'tasting',
    format: 'free',
    starts_at: iso(10 * day),
    ends_at: iso(10 * day + 2 * 3600 * 1000),
    business_id: club.business.id,
    address: 'ул. Садовая, 5',
    capacity: 2,
    plus_one_allowed: true,
    program: [
      { time: '19:00', activity: 'Знакомство' },
      { time: '19:30', activity: 'Дегустация' },
    ],
    speakers: [{ name: 'Ирина Кофейникова', title: 'Бариста-чемпион' }],
    what_to_bring: ['Хорошее настроение'],
  });
  item = await api('POST', '/admin/preorder-items', admin, {
    business_id: club.business.id,
    title: 'Рождественский набор',
    description: 'Кофе, пряники и кружка ручной работы.',
    release_at: iso(30 * day),
    cancellation_deadline: iso(20 * day),
    refund_policy: { full_until: iso(10 * day), partial_percent: 50, none_after: iso(15 * day) },
  });
  for (const [name, base, priority] of [
    ['Стандарт', 300_000, 1],
    ['Премиум', 600_000, 2],
  ]) {
    await api('POST', `/admin/preorder-items/${item.id}/tiers`, admin, {
      name,
      base_price: base,
      discount_percent: 10,
      max_quantity: 20,
      early_access_days: 3,
      available_from: iso(-3600 * 1000),
      available_until: iso(25 * day),
      priority,
      bonuses: [{ type: 'points', value: 20_000, delivery: 'automatic' }],
    });
  }
  await api('POST', '/admin/faq', admin, { question: 'Когда начисляются баллы?', answer: 'Баллы становятся доступны через 14 дней после покупки.', position: 1 });
  await api('POST', '/admin/faq', admin, { question: 'Как пригласить подругу?', answer: 'Поделитесь ссылкой из раздела «Пригласить».', position: 2 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.stop();
});

test('a review written from a purchase (stars by keyboard) shows in «Мои отзывы» and the API', async () => {
  const p = vipPurchases[0];
  const page = await open(vip, PHONE_SIZE, `#/reviews/new?purchase=${p.id}&business=${p.business_id}`);
  await page.getByRole('heading', { name: 'Новый отзыв' }).waitFor();
  await page.getByText('Кофейня «Зерно»').first().waitFor();
  // Sending without stars is stopped before the API.
  await page.getByRole('button', { name: 'Опубликовать отзыв' }).click();
  await page.getByText('Выберите оценку от 1 до 5 звёзд.').waitFor();
  await check(page, 'community-review-new-phone', 'review form (phone)');
  // Keyboard: focus the first star, arrows move the choice to 4.
  await page.getByRole('radio', { name: /^1 из 5/ }).focus();
  await page.keyboard.press('Space');
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
  assert.ok(await page.getByRole('radio', { name: /^4 из 5/ }).isChecked());
  await page.getByText('Ваша оценка: 4 из 5').waitFor();
  await page.getByLabel('Отзыв (необязательно)').fill('Отличный кофе и очень приветливый бариста.');
  await page.getByText('42 / 2000').waitFor();
  await page.getByRole('button', { name: 'Опубликовать отзыв' }).click();
  await page.getByRole('heading', { name: 'Спасибо! Отзыв опубликован' }).waitFor();

  const mine = (await api('GET', '/reviews/mine', vip.access_token)).items;
  assert.equal(mine.length, 1);
  assert.equal(mine[0].rating, 4);
  assert.equal(mine[0].purchase_id, p.id);
  assert.equal(mine[0].status, 'published');

  await page.getByRole('link', { name: 'Мои отзывы' }).last().click();
  await ready(page);
  await page.getByRole('heading', { name: 'Мои отзывы' }).waitFor();
  await page.getByText('Отличный кофе и очень приветливый бариста.').waitFor();
  await page.getByText('Опубликован', { exact: true }).waitFor();
  await check(page, 'community-reviews-phone', 'my reviews (phone)');

  // Edit within 48 h: click the fifth star and save.
  await page.getByRole('button', { name: 'Изменить' }).click();
  await page.locator('.c-stars label').nth(4).click();
  await page.getByRole('button', { name: 'Сохранить' }).click();
  await page.getByText('Оценка 5 из 5').waitFor();
  assert.equal((await api('GET', '/reviews/mine', vip.access_token)).items[0].rating, 5);

  // Withdraw, after the confirmation dialog.
  await page.getByRole('button', { name: 'Отозвать' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Да, отозвать' }).click();
  await page.getByText('Отозван', { exact: true }).waitFor();
  assert.equal((await api('GET', '/reviews/mine', vip.access_token)).items[0].status, 'withdrawn');
  assertNoConsoleErrors(page, 'reviews');
  await page.context().close();
});

test('registering with a plus-one shows the ticket QR; the next member lands on the waitlist', async () => {
  const page = await open(vip, PHONE_SIZE, '#/events');
  await page.getByRole('heading', { name: 'События', level: 1 }).waitFor();
  await page.getByText('Осталось мест: 2 из 2').waitFor();
  await check(page, 'community-events-phone', 'events list (phone)');
  await page.getByRole('link', { name: 'Кофейная дегустация' }).click();
  await ready(page);
  await page.getByRole('heading', { name: 'Кофейная дегустация', level: 1 }).waitFor();
  await page.getByText('Ирина Кофейникова').waitFor();
  await page.getByText('Дегустация', { exact: false }).first().waitFor();
  await page.getByLabel('Приду с гостем (займёт 2 места)').check();
  await page.getByLabel('Ограничения в питании (необязательно)').fill('Без лактозы');
  await page.getByRole('button', { name: 'Записаться' }).click();
  await page.getByRole('heading', { name: 'Вы записаны — ваш билет' }).waitFor();
  await page.getByText('Вы и гость (2 места)').waitFor();
  const qr = page.getByRole('img', { name: /QR-код билета/ });
  await qr.waitFor();
  await page.waitForFunction(() => document.querySelector('img.c-qr')?.complete);

  const detail = await api('GET', `/events/${event.id}`, vip.access_token);
  assert.equal(detail.my_registration.status, 'confirmed');
  assert.equal(detail.my_registration.seats, 2);
  assert.equal(detail.seats_left, 0);
  await page.getByText(detail.my_registration.ticket.code).waitFor();
  assert.equal(await decodeQr(await qr.screenshot()), detail.my_registration.ticket.code);
  await check(page, 'community-event-ticket-phone', 'event with ticket (phone)');
  await page.context().close();

  // The event is full now: Вера joins the waitlist.
  const other = await open(insider, PHONE_SIZE, `#/events/${event.id}`);
  await other.getByText('Мест нет — можно встать в лист ожидания', { exact: false }).first().waitFor();
  await other.getByRole('button', { name: 'Встать в лист ожидания' }).click();
  await other.getByRole('heading', { name: 'Вы в листе ожидания' }).waitFor();
  await other.getByText('1-е место в очереди').waitFor();
  const mine = await api('GET', `/events/${event.id}`, insider.access_token);
  assert.equal(mine.my_registration.status, 'waitlist');
  assert.equal(mine.my_registration.position, 1);
  await check(other, 'community-event-waitlist-phone', 'event waitlist (phone)');
  await other.context().close();
});

test('a VIP proposes an event; votes show each member’s weight', async () => {
  const page = await open(vip, PHONE_SIZE, '#/proposals');
  await page.getByText('Вес вашего голоса: 2').first().waitFor();
  await page.getByRole('link', { name: 'Предложить событие' }).click();
  await ready(page);
  await page.getByRole('heading', { name: 'Предложить событие', level: 1 }).waitFor();
  await page.getByLabel('Название').fill('Вечер настольных игр');
  await page.getByLabel('Тип события').fill('Нетворкинг');
  await page.getByLabel('Описание').fill('Играем в «Каркассон» и знакомимся.');
  await page.getByLabel('Желаемая дата').fill(new Date(Date.now() + 20 * day).toISOString().slice(0, 10));
  await page.getByLabel('Бюджет на человека, ₽').fill('1 500');
  await page.getByLabel('Максимум участниц').fill('12');
  await page.getByRole('button', { name: 'Добавить пункт программы' }).click();
  await page.getByLabel('Время пункта программы').fill('19:00');
  await page.getByLabel('Что происходит').fill('Правила игр');
  await check(page, 'community-proposal-new-phone', 'proposal form (phone)');
  await page.getByRole('button', { name: 'Отправить на голосование' }).click();
  await page.waitForFunction(() => location.hash === '#/proposals');
  await ready(page);
  const card = page.locator('li.c-proposal', { hasText: 'Вечер настольных игр' });
  await card.waitFor();
  await card.getByText('вы ещё не голосовали').waitFor();
  await card.getByRole('button', { name: 'За' }).click();
  await card.getByText('Голосов: 1 (за — 1, против — 0)').waitFor();
  await card.getByText('Вес вашего голоса: 2').waitFor();
  await check(page, 'community-proposals-phone', 'proposals (phone)');
  await page.context().close();

  const list = (await api('GET', '/events/proposals?status=voting', vip.access_token)).items;
  const prop = list.find((x) => x.title === 'Вечер настольных игр');
  assert.equal(prop.budget_per_person, 150_000);
  assert.equal(prop.capacity, 12);
  assert.deepEqual(prop.program, [{ time: '19:00', activity: 'Правила игр' }]);
  assert.equal(prop.tally.user_vote_weight, 2);

  // An insider votes with weight 1 and is told proposing opens at VIP.
  const other = await open(insider, PHONE_SIZE, '#/proposals');
  await other.getByText('Предлагать свои события можно со статуса VIP').waitFor();
  assert.equal(await other.getByRole('link', { name: 'Предложить событие' }).count(), 0);
  const c2 = other.locator('li.c-proposal', { hasText: 'Вечер настольных игр' });
  await c2.getByText('Вес вашего голоса: 1').waitFor();
  await c2.getByRole('button', { name: 'Против' }).click();
  await c2.getByText('Голосов: 2 (за — 1, против — 1)').waitFor();
  await c2.getByText('Взвешенный счёт: +1').waitFor();
  await c2.getByText('66,7 %').waitFor();
  assert.equal(await c2.getByRole('button', { name: 'Против' }).getAttribute('aria-pressed'), 'true');
  const tally = (await api('GET', '/events/proposals?status=voting', insider.access_token)).items.find((x) => x.id === prop.id).tally;
  assert.equal(tally.user_vote_weight, 1);
  assert.equal(tally.weighted_score, 1);
  await other.context().close();

  // The inner circle votes with weight 5 and may veto, with a reason.
  const ic = await open(inner, PHONE_SIZE, '#/proposals');
  const c3 = ic.locator('li.c-proposal', { hasText: 'Вечер настольных игр' });
  await c3.getByText('Вес вашего голоса: 5').waitFor();
  await c3.getByRole('button', { name: 'За' }).click();
  await c3.getByText('Голосов: 3 (за — 2, против — 1)').waitFor();
  await c3.getByText('Взвешенный счёт: +6').waitFor();
  await c3.getByText('Наложить вето (Внутренний круг)').click();
  await c3.getByRole('button', { name: 'Наложить вето' }).click();
  await c3.getByText('Укажите причину вето.').waitFor();
  await c3.getByLabel('Причина вето').fill('Такое событие уже было в ноябре.');
  await c3.getByRole('button', { name: 'Наложить вето' }).click();
  await c3.getByText('Такое событие уже было в ноябре.').waitFor();
  await c3.getByText('Вето', { exact: true }).waitFor();
  const vetoed = (await api('GET', '/events/proposals?status=voting', inner.access_token)).items.find((x) => x.id === prop.id);
  assert.equal(vetoed.vetoed, true);
  assert.equal(vetoed.tally.user_vote_weight, 5);
  await check(ic, 'community-proposals-veto-phone', 'proposals after veto (phone)');
  await ic.context().close();
});

test('the events budget shows «Ваш вклад» from the member’s purchases', async () => {
  const budget = await api('GET', '/events/budget', vip.access_token);
  assert.equal(budget.my_contribution, 72_000);
  const page = await open(vip, PHONE_SIZE, '#/budget');
  await page.getByRole('heading', { name: 'Ваш вклад' }).waitFor();
  const mine = page.locator('.c-mine');
  assert.match((await mine.textContent()).replace(/\s/g, ' '), /720,00 ₽/);
  assert.match((await mine.textContent()).replace(/\s/g, ' '), /36 000,00 ₽/);
  await page.getByText('VIP-события').waitFor();
  await check(page, 'community-budget-phone', 'budget (phone)');
  // An earlier month has nothing from this member.
  const prev = new Date();
  prev.setUTCDate(1);
  prev.setUTCMonth(prev.getUTCMonth() - 1);
  const ym = prev.toISOString().slice(0, 7);
  await page.getByLabel('Месяц').fill(ym);
  await page.waitForFunction((m) => location.hash === `#/budget?month=${m}`, ym);
  await page.waitForFunction(() => /0,00/.test(document.querySelector('.c-mine .big')?.textContent || '') && !/720/.test(document.querySelector('.c-mine .big').textContent));
  assertNoConsoleErrors(page, 'budget month');
  await page.context().close();
});

test('a support ticket is created, answered by the member, closed and reopened; FAQ search; a dispute', async () => {
  const page = await open(insider, PHONE_SIZE, '#/support');
  await page.getByText('Как пригласить подругу?').waitFor();
  await page.getByLabel('Поиск по частым вопросам').fill('баллы');
  await page.getByRole('button', { name: 'Найти' }).click();
  await page.waitForFunction(() => !document.body.textContent.includes('Как пригласить подругу?'));
  await page.getByText('Когда начисляются баллы?').click();
  await page.getByText('через 14 дней после покупки').waitFor();
  await check(page, 'community-support-phone', 'support (phone)');

  await page.getByRole('button', { name: 'Отправить обращение' }).click();
  await page.getByText('Укажите тему обращения.').waitFor();
  await page.getByLabel('Тема').fill('Не пришли баллы');
  await page.getByLabel('Сообщение').fill('Купила кофе вчера, баллов нет.');
  await page.getByLabel('Партнёр (необязательно)').selectOption({ label: 'Кофейня «Зерно»' });
  await page.getByRole('button', { name: 'Отправить обращение' }).click();
  await page.waitForFunction(() => /^#\/support\/[0-9a-f-]{36}$/.test(location.hash));
  await ready(page);
  await page.getByRole('heading', { name: 'Не пришли баллы', level: 1 }).waitFor();
  await page.getByText('Купила кофе вчера, баллов нет.').waitFor();
  const id = page.url().split('#/support/')[1];
  await page.getByLabel('Ваш ответ').fill('Номер чека 12345.');
  await page.getByRole('button', { name: 'Отправить', exact: true }).click();
  await page.locator('.c-msg', { hasText: 'Номер чека 12345.' }).waitFor();
  const t = await api('GET', `/support/tickets/${id}`, insider.access_token);
  assert.equal(t.business_id, club.business.id);
  assert.deepEqual(
    t.messages.map((m) => m.body),
    ['Купила кофе вчера, баллов нет.', 'Номер чека 12345.'],
  );
  await check(page, 'community-ticket-phone', 'ticket (phone)');

  await page.getByRole('button', { name: 'Закрыть обращение' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Закрыть обращение' }).click();
  await page.getByText('Закрыто', { exact: true }).waitFor();
  assert.equal((await api('GET', `/support/tickets/${id}`, insider.access_token)).status, 'closed');
  await page.getByRole('button', { name: 'Открыть снова' }).click();
  await page.getByText('Открыто', { exact: true }).waitFor();
  assert.equal((await api('GET', `/support/tickets/${id}`, insider.access_token)).status, 'open');
  await go(page, '#/support');
  await page.getByRole('link', { name: 'Не пришли баллы' }).waitFor();
  assertNoConsoleErrors(page, 'support flow');
  await page.context().close();

  // A dispute from a purchase id opens a ticket.
  const p = vipPurchases[1];
  const d = await open(vip, PHONE_SIZE, `#/support/dispute?purchase=${p.id}`);
  await d.getByLabel('Что случилось').fill('Заказ собрали не полностью.');
  await d.getByLabel('Чего вы хотите').selectOption('compensation');
  await d.getByLabel('Сумма, ₽ (необязательно)').fill('300');
  await check(d, 'community-dispute-phone', 'dispute (phone)');
  await d.getByRole('button', { name: 'Открыть спор' }).click();
  await d.waitForFunction(() => /^#\/support\/[0-9a-f-]{36}$/.test(location.hash));
  await ready(d);
  const tickets = (await api('GET', '/support/tickets', vip.access_token)).items;
  assert.equal(tickets.length, 1);
  assert.equal(tickets[0].purchase_id, p.id);
  assert.equal(tickets[0].priority, 'high');
  assertNoConsoleErrors(d, 'dispute');
  await d.context().close();
});

test('preorders: the list, placing a preorder, and cancelling it', async () => {
  const page = await open(vip, PHONE_SIZE, '#/preorders');
  await seeText(page, '.c-cards li', 'от 2 700,00 ₽');
  await check(page, 'community-preorders-phone', 'preorders (phone)');
  await page.getByRole('link', { name: 'Рождественский набор' }).click();
  await ready(page);
  await page.getByRole('heading', { name: 'Рождественский набор', level: 1 }).waitFor();
  await page.getByRole('radio', { name: 'Премиум' }).check();
  await check(page, 'community-preorder-item-phone', 'preorder item (phone)');
  await page.getByRole('button', { name: 'Оформить предзаказ' }).click();
  await page.getByRole('heading', { name: 'Предзаказ оформлен — осталось оплатить' }).waitFor();
  const ref = await page.locator('.c-result code').textContent();
  assert.match(ref, /^preorder:[0-9a-f-]{36}$/);
  const id = ref.slice('preorder:'.length);
  const po = await api('GET', `/preorders/${id}`, vip.access_token);
  assert.equal(po.status, 'pending_payment');
  assert.equal(po.total, 540_000);
  await seeText(page, '.c-result', 'К оплате5 400,00 ₽');

  await go(page, '#/preorders');
  await page.getByRole('heading', { name: 'Мои предзаказы' }).waitFor();
  const mine = await api('GET', '/preorders', vip.access_token);
  assert.deepEqual(mine.items.map((x) => x.id), [id], 'the API lists the member their own preorder');
  await page.getByRole('link', { name: 'Рождественский набор · 5 400,00 ₽' }).click();
  await ready(page);
  await page.getByText('Ждёт оплаты').waitFor();
  await check(page, 'community-preorder-phone', 'my preorder (phone)');
  await page.getByRole('button', { name: 'Отменить предзаказ' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Да, отменить' }).click();
  await page.getByText('Отменён', { exact: true }).waitFor();
  assert.equal((await api('GET', `/preorders/${id}`, vip.access_token)).status, 'cancelled');
  assertNoConsoleErrors(page, 'preorders');
  await page.context().close();
});

test('every community screen at desktop size: screenshot, axe, no console errors', async () => {
  const tickets = (await api('GET', '/support/tickets', vip.access_token)).items;
  const p = vipPurchases[2];
  const screens = [
    ['#/events', 'events'],
    [`#/events/${event.id}`, 'event-ticket'],
    ['#/proposals', 'proposals'],
    ['#/proposals/new', 'proposal-new'],
    ['#/budget', 'budget'],
    [`#/reviews/new?purchase=${p.id}&business=${p.business_id}`, 'review-new'],
    ['#/reviews', 'reviews'],
    ['#/support', 'support'],
    [`#/support/${tickets[0].id}`, 'ticket'],
    [`#/support/dispute?purchase=${p.id}`, 'dispute'],
    ['#/preorders', 'preorders'],
    [`#/preorders/items/${item.id}`, 'preorder-item'],
  ];
  const page = await open(vip, DESKTOP_SIZE, screens[0][0]);
  for (const [hash, name] of screens) {
    await go(page, hash);
    await check(page, `community-${name}-desktop`, `${name} (desktop)`);
  }
  await page.context().close();
});

test('a capability switched off shows «раздел выключен»', async () => {
  await api('PUT', '/admin/flags/preorders', admin, { enabled: false });
  try {
    const page = await open(insider, PHONE_SIZE, '#/preorders');
    await page.getByText('Этот раздел сейчас выключен.').waitFor();
    await check(page, 'community-disabled-phone', 'disabled section');
    // The shell's «Ещё» screen lists the menu without the switched-off entry.
    await page.evaluate(() => {
      location.hash = '#/more';
    });
    await page.getByRole('link', { name: 'Голосования за события' }).waitFor();
    await page.getByRole('link', { name: 'Поддержка и FAQ' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Предзаказы' }).count(), 0);
    await page.context().close();
  } finally {
    await api('PUT', '/admin/flags/preorders', admin, { enabled: true });
  }
});
