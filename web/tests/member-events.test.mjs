// Browser tests of the member app's banners and app events: the live home
// banners under the balance card (not an inactive, future or other-placement
// one), a banner link that opens its route, and the telemetry batches sent to
// POST /ingest/events — screen views, banner and coupon impressions and
// clicks, a share and a FAQ search, accepted by the server, with no personal
// data; a refused or lost batch resent with the same ids; nothing sent
// signed out; the 10 s timer and the 50-event flush, at phone and desktop size.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, seedClub, launchBrowser, newPage, signIn, assertNoConsoleErrors, assertAccessible, screenshot, key, PHONE_SIZE, DESKTOP_SIZE } from './harness.mjs';

const MEMBER_PHONE = '+79993330001';
const FIRST_NAME = 'Марина';
const day = 24 * 3600 * 1000;
const iso = (ms) => new Date(Date.now() + ms).toISOString();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let app, browser, club, admin, member, me, linked, external, event, item, coupon;
let phone; // the phone-sized page the member browses with
let phoneSent; // what that page sent to /ingest/events

async function api(method, path, token, body, headers) {
  const r = await app.api(method, `/api/v1${path}`, { token, body, headers });
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/**
 * Records every POST /api/v1/ingest/events the page makes: its events and,
 * once known, the answer's status and body (status 0: no answer).
 */
function recordIngest(page) {
  const sent = [];
  page.on('request', (req) => {
    if (req.method() !== 'POST' || !req.url().endsWith('/api/v1/ingest/events')) return;
    const entry = { events: req.postDataJSON().events, status: null, body: null };
    sent.push(entry);
    entry.done = req
      .response()
      .then(async (resp) => {
        // The body first: a set status tells batchesAfter the entry is complete.
        entry.body = resp ? await resp.json().catch(() => null) : null;
        entry.status = resp ? resp.status() : 0;
      })
      .catch(() => {
        entry.status = 0;
      });
  });
  page.on('requestfailed', (req) => {
    const entry = sent.find((e) => e.status === null && req.url().endsWith('/api/v1/ingest/events'));
    if (entry) entry.status = 0;
  });
  return sent;
}

/** Waits until `sent` has more than `count` batches and all have their answer. */
async function batchesAfter(sent, count, timeout = 8000) {
  const until = Date.now() + timeout;
  while (Date.now() < until) {
    if (sent.length > count && sent.every((e) => e.status !== null)) return sent.slice(count);
    await sleep(50);
  }
  assert.fail(`no batch after ${count} within ${timeout} ms (have ${sent.length})`);
}

/** The page goes to the background, as when the member switches apps. */
async function hide(page) {
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
    // Back in front for the next steps (no event: the app only acts on hidden).
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
  });
}

async function go(page, hash, heading) {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  await page.waitForFunction((h) => location.hash === h, hash);
  if (heading) await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

/** Waits until a community screen is mounted and done loading. */
async function communityReady(page) {
  await page.waitForFunction(() => {
    const s = document.querySelector('section.community');
    return s && s.dataset.route === location.hash && !s.querySelector('.loading');
  });
}

async function check(page, name, where = name) {
  await screenshot(page, name);
  await assertAccessible(page, where);
  assertNoConsoleErrors(page, where);
}

const eventsOf = (batches) => batches.flatMap((b) => b.events);

/** Every property value of every event: none may carry the member's personal data. */
function assertNoPersonalData(events) {
  const secrets = [MEMBER_PHONE, MEMBER_PHONE.slice(1), MEMBER_PHONE.slice(2), me.card_number, FIRST_NAME, member.access_token, member.refresh_token].filter(Boolean);
  for (const e of events) {
    for (const [k, v] of Object.entries(e.properties || {})) {
      assert.ok(/^[A-Za-z0-9_]{1,64}$/.test(k), `property name ${k}`);
      assert.ok(v === null || ['string', 'number', 'boolean'].includes(typeof v), `flat value of ${k}`);
      for (const s of secrets) assert.ok(!String(v).includes(s), `${e.type}.${k} = ${v} carries personal data`);
    }
    assert.ok(Object.keys(e.properties || {}).length <= 20);
  }
}

/** Each batch was stored: 2xx and the counts add up to what was sent. */
function assertAccepted(batches, { fresh = true } = {}) {
  for (const b of batches) {
    assert.equal(b.status, 200, `batch answered ${b.status}: ${JSON.stringify(b.body)}`);
    assert.equal(b.body.accepted + b.body.duplicates, b.events.length, JSON.stringify(b.body));
    if (fresh) assert.equal(b.body.duplicates, 0, 'first sends are new');
    assert.ok(b.events.length >= 1 && b.events.length <= 1000);
    for (const e of b.events) {
      assert.match(e.id, UUID);
      assert.ok(Math.abs(Date.parse(e.occurred_at) - Date.now()) < 10 * 60_000, `occurred_at ${e.occurred_at}`);
    }
  }
}

before(async () => {
  app = await startApp();
  club = await seedClub(app);
  admin = club.admin.access_token;

  // A partner for a cross-promo coupon: a purchase at the café issues one.
  const florist = await api('POST', '/admin/businesses', admin, { name: 'Цветы «Пион»', category: 'floristry' });
  await api('POST', '/admin/cross-promos', admin, { from_business_id: club.business.id, to_business_id: florist.id, title: 'Бонус в цветочной', bonus_pct: 15 });

  member = await app.login(MEMBER_PHONE, { first_name: FIRST_NAME, last_name: 'Иванова' });
  await api('POST', '/pos/purchases', club.staff.access_token, { member: { phone: MEMBER_PHONE }, amount: 250_000, category: 'gastronomy' }, { 'idempotency-key': key() });
  me = await api('GET', '/me', member.access_token);
  assert.ok(me.card_number, 'the member has a card number after the purchase');
  coupon = (await api('GET', '/wallet/coupons', member.access_token)).items[0];
  assert.ok(coupon, 'a cross-promo coupon was issued');

  // Two live home banners (higher priority first), and three that must not show.
  linked = await api('POST', '/admin/banners', admin, {
    placement: 'home',
    title: 'Купон в цветочную',
    body: 'После покупки в «Зерне» — купон на +15 % баллов в «Пионе».',
    link_url: '/coupons',
    // An https picture from a CDN (served by the test, the machine is offline).
    image_url: 'https://cdn.example.com/flowers.svg',
    priority: 10,
  });
  external = await api('POST', '/admin/banners', admin, {
    placement: 'home',
    title: 'Двойные баллы по выходным',
    body: 'С пятницы по воскресенье баллы у партнёров — вдвойне.',
    link_url: 'https://example.com/weekend',
    priority: 5,
  });
  await api('POST', '/admin/banners', admin, { placement: 'home', title: 'Скрытый баннер', active: false, priority: 20 });
  await api('POST', '/admin/banners', admin, { placement: 'home', title: 'Будущий баннер', starts_at: iso(10 * day), priority: 20 });
  await api('POST', '/admin/banners', admin, { placement: 'category:gastronomy', title: 'Баннер категории', priority: 20 });
  // A banner link that is neither an app path nor https is refused by the API.
  const bad = await app.api('POST', '/api/v1/admin/banners', { token: admin, body: { placement: 'home', title: 'Плохая ссылка', link_url: 'javascript:alert(1)' } });
  assert.equal(bad.status, 422, JSON.stringify(bad.body));

  event = await api('POST', '/admin/events', admin, {
    title: 'Кофейная дегустация',
    description: 'Пробуем зерно из трёх стран.',
    type: 'tasting',
    format: 'free',
    starts_at: iso(10 * day),
    ends_at: iso(10 * day + 2 * 3600 * 1000),
    business_id: club.business.id,
    address: 'ул. Садовая, 5',
    capacity: 20,
  });
  item = await api('POST', '/admin/preorder-items', admin, {
    business_id: club.business.id,
    title: 'Рождественский набор',
    description: 'Кофе, пряники и кружка.',
    release_at: iso(30 * day),
    cancellation_deadline: iso(20 * day),
    refund_policy: { full_until: iso(10 * day), partial_percent: 50, none_after: iso(15 * day) },
  });
  await api('POST', `/admin/preorder-items/${item.id}/tiers`, admin, {
    name: 'Стандарт',
    base_price: 300_000,
    discount_percent: 10,
    max_quantity: 20,
    early_access_days: 3,
    available_from: iso(-3600 * 1000),
    available_until: iso(25 * day),
    priority: 1,
  });
  await api('POST', '/admin/faq', admin, { question: 'Когда начисляются баллы?', answer: 'Баллы становятся доступны через 14 дней после покупки.', position: 1 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.stop();
});


/** The banners' CDN, answered by the test (the machine has no network). */
async function withCdn(page) {
  await page.route('https://cdn.example.com/**', (route) =>
    route.fulfill({ contentType: 'image/svg+xml', body: '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#c36"/></svg>' }),
  );
}

test('the card shows the live home banners under the balance; the linked one opens its route', async () => {
  phone = await newPage(browser, PHONE_SIZE, { permissions: ['clipboard-read', 'clipboard-write'] });
  phoneSent = recordIngest(phone);
  await withCdn(phone);
  await signIn(phone, 'member', member);
  await phone.goto(`${app.url}/`);
  await phone.getByTestId('balance-available').waitFor();
  const banners = phone.getByRole('region', { name: 'Акции и новости' });
  await banners.getByRole('listitem').nth(1).waitFor();
  assert.equal(await banners.getByRole('listitem').count(), 2);
  assert.deepEqual(await banners.getByRole('heading', { level: 3 }).allTextContents(), [linked.title, external.title.concat(' (откроется в новой вкладке)')]);
  for (const hidden of ['Скрытый баннер', 'Будущий баннер', 'Баннер категории']) assert.equal(await phone.getByText(hidden).count(), 0, `${hidden} is not shown`);
  await banners.getByText(linked.body).waitFor();
  // Under the balance card, above the tier.
  const order = await phone.evaluate(() => [...document.querySelectorAll('.card-screen > *')].map((el) => el.className));
  assert.ok(order.indexOf('banners') === order.findIndex((c) => c.includes('balance')) + 1, order.join(' | '));

  const app_link = banners.getByRole('link', { name: linked.title });
  assert.equal(await app_link.getAttribute('href'), '#/coupons');
  assert.equal(await app_link.getAttribute('target'), null);
  const out = banners.getByRole('link', { name: new RegExp(external.title) });
  assert.equal(await out.getAttribute('href'), 'https://example.com/weekend');
  assert.equal(await out.getAttribute('target'), '_blank');
  assert.match(await out.getAttribute('rel'), /\bnoopener\b/);
  // The https picture is shown (the CSP allows https: images), once.
  const img = banners.locator('img');
  assert.equal(await img.count(), 1);
  assert.equal(await img.getAttribute('src'), 'https://cdn.example.com/flowers.svg');
  await phone.waitForFunction(() => {
    const el = document.querySelector('.banners img');
    return el && el.complete && el.naturalWidth > 0;
  });
  // The link and picture rules on their own, in the page.
  const rules = await phone.evaluate(async () => {
    const m = await import('/member/banners.js');
    const links = ['#/events', '/coupons', '/#/budget', 'https://example.com/a?b=1', '//evil.example', '/\\evil.example', 'javascript:alert(1)', 'http://example.com', ''];
    return {
      links: links.map((u) => m.bannerLink(u)),
      images: ['https://cdn.example.com/a.png', `https://${location.host}/icons/icon.svg`, 'http://example.com/a.png', 'data:image/png;base64,AAAA'].map((u) => m.bannerImage(u)),
    };
  });
  assert.deepEqual(rules.links, [
    { href: '#/events', external: false },
    { href: '#/coupons', external: false },
    { href: '#/budget', external: false },
    { href: 'https://example.com/a?b=1', external: true },
    null,
    null,
    null,
    null,
    null,
  ]);
  // Only https pictures: never http or data: from a banner.
  assert.deepEqual(rules.images, ['https://cdn.example.com/a.png', `https://${new URL(app.url).host}/icons/icon.svg`, null, null]);
  await check(phone, 'member-banners-phone', 'card with banners (phone)');

  // By keyboard: the first banner link is reachable and opens the coupons.
  await app_link.focus();
  await phone.keyboard.press('Enter');
  await phone.waitForFunction(() => location.hash === '#/coupons');
  await phone.getByRole('heading', { name: 'Купоны', level: 1 }).waitFor();
  await go(phone, '#/', 'Здравствуйте, Марина!');
  await banners.getByRole('listitem').nth(1).waitFor();

  // Hidden: what was queued goes out in a batch the server stores.
  await hide(phone);
  const until = Date.now() + 8000;
  while (Date.now() < until && !eventsOf(phoneSent).some((e) => e.type === 'banner_click')) await sleep(50);
  const batches = await batchesAfter(phoneSent, 0);
  assertAccepted(batches);
  const events = eventsOf(batches);
  assert.deepEqual(
    events.filter((e) => e.type === 'banner_click').map((e) => e.properties),
    [{ banner_id: linked.id, placement: 'home', position: 1 }],
  );
  assert.ok(events.filter((e) => e.type === 'banner_impression').length >= 2);
  assertNoConsoleErrors(phone, 'card flush');
});

test('browsing sends screen views, impressions, clicks, a share and a search; the server accepts every batch', async () => {
  const p = phone;
  const start = phoneSent.length;
  // The coupons: shown, and the activate button pressed.
  await p.getByRole('navigation', { name: 'Основные разделы' }).getByRole('link', { name: 'Купоны' }).click();
  await p.getByRole('heading', { name: 'Купоны', level: 1 }).waitFor();
  await p.getByRole('button', { name: 'Активировать' }).click();
  await p.getByTestId('activation-code').waitFor();
  // «Ещё» → invite a friend → share by clipboard.
  await p.getByRole('navigation', { name: 'Основные разделы' }).getByRole('link', { name: 'Ещё' }).click();
  await p.getByRole('link', { name: /Пригласить друга/ }).click();
  await p.getByRole('heading', { name: 'Пригласить друга', level: 1 }).waitFor();
  await p.evaluate(() => {
    delete Navigator.prototype.share;
  });
  await p.getByRole('button', { name: 'Поделиться ссылкой' }).click();
  await p.getByText('Ссылка скопирована').waitFor();
  // Support: a FAQ search.
  await go(p, '#/support');
  await communityReady(p);
  await p.getByLabel('Поиск по частым вопросам').fill('баллы');
  await p.getByRole('button', { name: 'Найти' }).click();
  await p.getByText('Когда начисляются баллы?').waitFor();
  // Events, an event, a preorder item.
  await go(p, '#/events');
  await communityReady(p);
  await p.getByRole('link', { name: event.title }).first().click();
  await p.waitForFunction((id) => location.hash === `#/events/${id}`, event.id);
  await communityReady(p);
  await go(p, `#/preorders/items/${item.id}`);
  await communityReady(p);
  await p.getByRole('heading', { name: item.title, level: 1 }).waitFor();
  // Back to the card, and a click on the linked banner.
  await p.getByRole('navigation', { name: 'Основные разделы' }).getByRole('link', { name: 'Карта' }).click();
  const banners = p.getByRole('region', { name: 'Акции и новости' });
  await banners.getByRole('listitem').nth(1).waitFor();
  // Anywhere on the banner card follows its link.
  await banners.getByRole('listitem').first().click();
  await p.waitForFunction(() => location.hash === '#/coupons');
  await p.getByRole('heading', { name: 'Купоны', level: 1 }).waitFor();
  assertNoConsoleErrors(p, 'browsing');

  await hide(p);
  // Everything up to the last screen view has gone out (some batches may
  // have left earlier on the 10 s timer).
  const until = Date.now() + 8000;
  let events = [];
  while (Date.now() < until) {
    events = eventsOf(phoneSent.slice(start));
    if (events.some((e) => e.type === 'banner_click') && events.filter((e) => e.type === 'screen_view' && e.properties.screen === 'coupons').length >= 2 && phoneSent.every((b) => b.status !== null)) break;
    await sleep(50);
  }
  const batches = phoneSent.slice(start);
  assert.ok(batches.length >= 1);
  assertAccepted(batches);
  const all = eventsOf(phoneSent); // the first test's events are in the first batch
  assertNoPersonalData(all);
  assert.equal(new Set(all.map((e) => e.id)).size, all.length, 'every event has its own id');

  const views = all.filter((e) => e.type === 'screen_view');
  const screens = views.map((e) => e.properties.screen);
  for (const s of ['card', 'coupons', 'more', 'referral', 'support', 'events', 'events/detail', 'preorders/items/detail']) assert.ok(screens.includes(s), `screen_view ${s} in ${screens}`);
  assert.deepEqual(views.find((e) => e.properties.screen === 'events/detail').properties, { screen: 'events/detail', event_id: event.id });
  assert.deepEqual(views.find((e) => e.properties.screen === 'preorders/items/detail').properties, { screen: 'preorders/items/detail', item_id: item.id });
  for (const v of views) assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}/i.test(v.properties.screen), `no id in ${v.properties.screen}`);

  // Impressions: both banners on the first card visit, at most once per banner per visit.
  let visit = null;
  const visits = [];
  for (const e of all) {
    if (e.type === 'screen_view') {
      visit = e.properties.screen === 'card' ? [] : null;
      if (visit) visits.push(visit);
    } else if (e.type === 'banner_impression') {
      assert.ok(visit, 'banner impressions only on the card');
      visit.push(e.properties.banner_id);
    }
  }
  assert.ok(visits.length >= 3, `card visits: ${visits.length}`);
  assert.deepEqual(visits[0].sort(), [linked.id, external.id].sort());
  for (const v of visits) assert.equal(new Set(v).size, v.length, `one impression per banner per visit: ${v}`);
  const imp = all.find((e) => e.type === 'banner_impression' && e.properties.banner_id === linked.id);
  assert.deepEqual(imp.properties, { banner_id: linked.id, placement: 'home', position: 1 });

  // This browse clicked one banner once.
  assert.deepEqual(
    events.filter((e) => e.type === 'banner_click').map((e) => e.properties),
    [{ banner_id: linked.id, placement: 'home', position: 1 }],
  );
  assert.ok(all.some((e) => e.type === 'coupon_impression' && e.properties.coupon_id === coupon.id));
  assert.equal(all.filter((e) => e.type === 'coupon_click' && e.properties.coupon_id === coupon.id).length, 1);
  assert.deepEqual(all.find((e) => e.type === 'share').properties, { screen: 'referral', method: 'clipboard' });
  const searches = all.filter((e) => e.type === 'search');
  assert.deepEqual(
    searches.map((e) => e.properties),
    [{ length: 5 }],
    'the FAQ search sends the query length only',
  );
  assertNoConsoleErrors(p, 'after the flush');
});

test('a refused batch (feature off) and a lost answer: screens keep working, the same ids go with the next flush', async () => {
  const p = phone;
  // The API answers 404 FEATURE_DISABLED once, without storing anything.
  let refused = 0;
  await p.route(
    '**/api/v1/ingest/events',
    async (route) => {
      refused++;
      await route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ error: { code: 'FEATURE_DISABLED', message: 'feature disabled' } }) });
    },
    { times: 1 },
  );
  let n = phoneSent.length;
  await go(p, '#/history', 'История');
  await go(p, '#/more', 'Ещё');
  await hide(p);
  const [off] = await batchesAfter(phoneSent, n);
  assert.equal(refused, 1);
  assert.equal(off.status, 404);
  assert.ok(off.events.some((e) => e.type === 'screen_view' && e.properties.screen === 'history'));
  // The screen is as it was; nothing shown, nothing logged.
  await p.getByRole('link', { name: /Пригласить друга/ }).waitFor();
  assert.equal(await p.locator('.toast.error, .error-box').count(), 0);
  assertNoConsoleErrors(p, 'ingest answered 404 FEATURE_DISABLED');

  // The next flush carries the refused events with their ids; all are new to the server.
  n = phoneSent.length;
  await go(p, '#/profile', 'Профиль');
  await hide(p);
  const next = await batchesAfter(phoneSent, n);
  assertAccepted(next);
  const resent = eventsOf(next);
  for (const e of off.events) assert.ok(resent.some((r) => r.id === e.id && r.type === e.type && r.occurred_at === e.occurred_at), `event ${e.id} resent`);
  assert.ok(resent.some((e) => e.properties.screen === 'profile'));
  assert.equal(next.reduce((s, b) => s + b.body.accepted, 0), resent.length);

  // A lost answer: the server stores the batch but the app never hears back.
  let lost = null;
  await p.route(
    '**/api/v1/ingest/events',
    async (route) => {
      const resp = await route.fetch();
      lost = await resp.json();
      await route.abort('connectionreset');
    },
    { times: 1 },
  );
  n = phoneSent.length;
  await go(p, '#/coupons', 'Купоны');
  await hide(p);
  const [gone] = await batchesAfter(phoneSent, n);
  assert.equal(gone.status, 0);
  assert.equal(lost.accepted, gone.events.length, 'the server stored the lost batch');
  // Chromium reports the reset connection itself; the app logs nothing.
  p.errors = p.errors.filter((e) => !/net::ERR_CONNECTION_RESET/.test(e));
  assertNoConsoleErrors(p, 'ingest answer lost');
  await p.getByRole('heading', { name: 'Купоны', level: 1 }).waitFor();

  n = phoneSent.length;
  await go(p, '#/more', 'Ещё');
  await hide(p);
  const again = await batchesAfter(phoneSent, n);
  assertAccepted(again, { fresh: false });
  const ids = new Set(eventsOf(again).map((e) => e.id));
  for (const e of gone.events) assert.ok(ids.has(e.id), `lost event ${e.id} resent with its id`);
  assert.equal(
    again.reduce((s, b) => s + b.body.duplicates, 0),
    gone.events.length,
    'the resent events are stored once: the server counts them as duplicates',
  );
  assertNoPersonalData(eventsOf(phoneSent));
  assertNoConsoleErrors(p, 'after the resend');
});

test('banners that fail to load or are none: the card is the same without them', async () => {
  const p = await newPage(browser, PHONE_SIZE);
  await withCdn(p);
  await signIn(p, 'member', member);
  let aborted = 0;
  await p.route(
    /\/api\/v1\/banners\?/,
    (route) => {
      aborted++;
      return route.abort('failed');
    },
    { times: 1 },
  );
  await p.goto(`${app.url}/`);
  await p.getByTestId('balance-available').waitFor();
  await p.getByRole('heading', { name: /^Статус/ }).waitFor();
  await sleep(300);
  assert.equal(aborted, 1, 'the banners request failed');
  assert.equal(await p.getByRole('region', { name: 'Акции и новости' }).count(), 0);
  assert.equal(await p.locator('.error-box, .toast.error').count(), 0);
  // Chromium reports the failed request itself; the app logs nothing.
  p.errors = p.errors.filter((e) => !/net::ERR_FAILED/.test(e));
  assertNoConsoleErrors(p, 'banners failed');

  let none = 0;
  await p.route(
    /\/api\/v1\/banners\?/,
    (route) => {
      none++;
      return route.fulfill({ status: 200, contentType: 'application/json', body: '{"items":[],"next_cursor":null}' });
    },
    { times: 1 },
  );
  await go(p, '#/more', 'Ещё');
  await go(p, '#/', 'Здравствуйте, Марина!');
  await p.getByRole('heading', { name: /^Статус/ }).waitFor();
  await sleep(300);
  assert.equal(none, 1, 'the banners request answered none');
  assert.equal(await p.getByRole('region', { name: 'Акции и новости' }).count(), 0);
  await assertAccessible(p, 'card without banners');
  assertNoConsoleErrors(p, 'no banners');
  await p.context().close();
});

test('desktop: banners, the 10 s timer, and a flush at 50 queued events', async () => {
  const p = await newPage(browser, DESKTOP_SIZE);
  await withCdn(p);
  const sent = recordIngest(p);
  await p.clock.install();
  await signIn(p, 'member', member);
  await p.goto(`${app.url}/`);
  await p.getByTestId('balance-available').waitFor();
  const banners = p.getByRole('region', { name: 'Акции и новости' });
  await banners.getByRole('listitem').nth(1).waitFor();
  await check(p, 'member-banners-desktop', 'card with banners (desktop)');
  // Queued, not sent: nothing goes before the timer.
  await sleep(500);
  assert.equal(sent.length, 0, 'events wait for the batch');
  await p.clock.fastForward(10_500);
  const [timed] = await batchesAfter(sent, 0);
  assertAccepted([timed]);
  assert.ok(timed.events.some((e) => e.type === 'screen_view' && e.properties.screen === 'card'));
  assert.equal(timed.events.filter((e) => e.type === 'banner_impression').length, 2);

  // Fifty screen views go at once, without waiting for the timer.
  const n = sent.length;
  for (let i = 0; i < 50; i++) {
    await p.evaluate((h) => {
      location.hash = h;
    }, i % 2 ? '#/more' : '#/history');
  }
  const burst = await batchesAfter(sent, n, 4000);
  assertAccepted(burst);
  assert.ok(burst[0].events.length >= 50, `batch of ${burst[0].events.length}`);
  await p.getByRole('heading', { level: 1 }).first().waitFor();
  assertNoConsoleErrors(p, 'desktop burst');
  await p.context().close();
});

test('signed out: nothing is sent, and a sign-out drops what was queued', async () => {
  const p = await newPage(browser, PHONE_SIZE);
  await withCdn(p);
  const sent = recordIngest(p);
  await p.goto(`${app.url}/`);
  await p.getByLabel('Телефон').waitFor();
  await p.evaluate(() => {
    location.hash = '#/coupons';
  });
  await hide(p);
  await sleep(800);
  assert.equal(sent.length, 0, 'nothing sent before sign-in');
  await assertAccessible(p, 'login');
  assertNoConsoleErrors(p, 'login');
  await p.context().close();

  // The phone page: screens queued, then «Выйти»; nothing goes after it.
  await go(phone, '#/more', 'Ещё');
  await go(phone, '#/profile', 'Профиль');
  const n = phoneSent.length;
  await phone.getByRole('button', { name: 'Выйти' }).click();
  await phone.getByLabel('Телефон').waitFor();
  await hide(phone);
  await sleep(800);
  assert.equal(phoneSent.length, n, 'nothing sent after signing out');
  assertNoConsoleErrors(phone, 'signed out');
  await phone.context().close();
});
