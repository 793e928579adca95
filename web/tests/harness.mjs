// Browser-test harness: starts the app the way scripts/up does (the local
// host on the built WASM components, migrations applied) on a free 127.0.0.1
// port with a fresh state directory, a mock SMS gateway that records what the
// app sends, and Debian's Chromium driven by playwright-core.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, existsSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const ROOT = join(here, '..', '..');
/** Where screenshots for review go (gitignored). */
export const SHOTS = join(ROOT, 'web', 'screenshots');
/** The phone the test app gives the admin role. */
export const ADMIN_PHONE = '+79990000001';
export const PHONE_SIZE = { width: 390, height: 844 };
export const DESKTOP_SIZE = { width: 1366, height: 900 };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** A mock SMS gateway on 127.0.0.1 speaking the app's format: POST JSON {to, text}. */
async function startSms(token) {
  const messages = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        const msg = JSON.parse(body);
        messages.push({ ...msg, auth: req.headers.authorization || '' });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"queued"}');
      } catch {
        res.writeHead(400);
        res.end();
      }
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { srv, messages, url: `http://127.0.0.1:${srv.address().port}`, token };
}

/**
 * Starts the app. Needs `target/native/krug-host` and the WASM components
 * built (scripts/test builds both before the browser tests).
 */
export async function startApp(extraVariables = {}) {
  const host = join(ROOT, 'target', 'native', 'krug-host');
  assert.ok(existsSync(host), 'target/native/krug-host is built (scripts/test builds it)');
  const smsToken = randomBytes(8).toString('hex');
  const sms = await startSms(smsToken);
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), 'krug-web-'));
  const jobsToken = randomBytes(12).toString('hex');
  const variables = {
    jwt_secret: randomBytes(32).toString('hex'),
    jobs_token: jobsToken,
    admin_phones: ADMIN_PHONE,
    sms_gateway_url: sms.url,
    sms_gateway_token: smsToken,
    ...extraVariables,
  };
  const env = { ...process.env };
  for (const [k, v] of Object.entries(variables)) env[`SPIN_VARIABLE_${k.toUpperCase()}`] = v;
  const child = spawn(host, ['--manifest', join(ROOT, 'spin.toml'), '--listen', `127.0.0.1:${port}`, '--state-dir', state, '--no-cron'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr = (stderr + c).slice(-8000);
  });
  const url = `http://127.0.0.1:${port}`;
  // Bounded: up to 60 s for the host to listen and migrate (a busy machine
  // compiles the components slowly on a cold cache).
  let migrated = false;
  let last = 'no answer';
  const deadline = Date.now() + 60_000;
  while (!migrated && Date.now() < deadline && child.exitCode === null) {
    try {
      const r = await fetch(`${url}/internal/migrate`, { method: 'POST', headers: { authorization: `Bearer ${jobsToken}` } });
      migrated = r.ok;
      last = `${r.status} ${await r.text()}`;
    } catch (e) {
      last = String(e.cause || e);
    }
    if (!migrated) await sleep(100);
  }
  if (!migrated) {
    child.kill('SIGKILL');
    sms.srv.close();
    rmSync(state, { recursive: true, force: true });
  }
  assert.ok(migrated, `host started and migrated (last: ${last}):\n${stderr}`);

  const app = {
    url,
    sms: sms.messages,
    jobsToken,
    /** One JSON request; returns {status, body, headers}. */
    async api(method, path, { body, token, headers = {} } = {}) {
      const h = { ...headers };
      if (token) h.authorization = `Bearer ${token}`;
      if (body !== undefined) h['content-type'] = 'application/json';
      const r = await fetch(url + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await r.text();
      let parsed = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: r.status, body: parsed, headers: r.headers };
    },
    /** The newest code texted to `phone` after `since` messages (waits up to 5 s). */
    async codeFor(phone, since = 0) {
      for (let i = 0; i < 100; i++) {
        const hit = sms.messages.slice(since).reverse().find((m) => m.to === phone);
        if (hit) return hit.text.match(/\b(\d{6})\b/)[1];
        await sleep(50);
      }
      throw new Error(`no SMS to ${phone}`);
    },
    /** Logs `phone` in through the API (consenting when new) → tokens body. */
    async login(phone, extra = {}) {
      const since = sms.messages.length;
      const otp = await app.api('POST', '/api/v1/auth/otp', { body: { phone } });
      assert.equal(otp.status, 202, JSON.stringify(otp.body));
      const code = await app.codeFor(phone, since);
      const v = await app.api('POST', '/api/v1/auth/verify', {
        body: { phone, code, consents: { personal_data: true, marketing: false }, ...extra },
      });
      assert.equal(v.status, 200, JSON.stringify(v.body));
      return v.body;
    },
    /** Runs a job now through the internal route. */
    async job(name) {
      const r = await app.api('POST', `/internal/jobs/${name}`, { token: jobsToken });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    },
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(3000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      sms.srv.close();
      rmSync(state, { recursive: true, force: true });
    },
  };
  return app;
}

/**
 * A club to test with: the admin's tokens, one business, and a staff member
 * (owner) of it with their tokens (`staff`, issued before they joined the
 * business: /me reads the role fresh), all made through the public API.
 */
export async function seedClub(app, { staffPhone = '+79990000002', role = 'owner', name = 'Кофейня «Зерно»', category = 'gastronomy' } = {}) {
  const admin = await app.login(ADMIN_PHONE);
  // Staff are members first: the phone logs in once before it can be added.
  const staff = await app.login(staffPhone);
  const biz = await app.api('POST', '/api/v1/admin/businesses', { token: admin.access_token, body: { name, category } });
  assert.equal(biz.status, 201, JSON.stringify(biz.body));
  const added = await app.api('POST', `/api/v1/admin/businesses/${biz.body.id}/staff`, {
    token: admin.access_token,
    body: { phone: staffPhone, role },
  });
  assert.ok(added.status === 201 || added.status === 200, JSON.stringify(added.body));
  // The staff's tokens are returned too: a second login of the same phone
  // within a minute is refused (one code per phone per 60 s).
  return { admin, business: biz.body, staffPhone, staff };
}

/** Debian's Chromium, headless, with no background traffic. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/**
 * A new page at `size` that records console errors and uncaught exceptions;
 * `page.errors` lists them (expected 4xx responses the app handles are fine,
 * so failed-resource console lines for API calls are not counted).
 */
export async function newPage(browser, size = PHONE_SIZE, options = {}) {
  const context = await browser.newContext({ viewport: size, locale: 'ru-RU', timezoneId: 'Europe/Moscow', ...options });
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // The browser logs every non-2xx fetch; the app shows those itself.
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    page.errors.push(text);
  });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.setDefaultTimeout(10_000);
  return page;
}

/** Fails when the page logged console errors or threw. */
export function assertNoConsoleErrors(page, where) {
  assert.deepEqual(page.errors, [], `console errors on ${where}`);
}

/** Runs axe-core on the page; fails on serious or critical violations. */
export async function assertAccessible(page, where) {
  // Evaluated through the DevTools protocol, which the app's CSP (no inline
  // scripts) does not apply to, so the page is checked as served.
  await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(violations, [], `accessibility violations on ${where}`);
}

/** Saves a screenshot for review under web/screenshots/. */
export async function screenshot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Decodes the QR code in a PNG (a screenshot) with jsQR → its text, or null. */
export async function decodeQr(png) {
  const { PNG } = await import('pngjs');
  const jsQR = (await import('jsqr')).default;
  const img = PNG.sync.read(png);
  const hit = jsQR(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height);
  return hit ? hit.data : null;
}

/** A fresh idempotency key. */
export const key = () => randomUUID();

/** Writes a small JSON report next to the screenshots (page weights etc.). */
export function report(name, data) {
  mkdirSync(SHOTS, { recursive: true });
  writeFileSync(join(SHOTS, `${name}.json`), JSON.stringify(data, null, 2));
}

/**
 * Signs `page` in to one app ('member' | 'pos' | 'admin') with tokens from
 * app.login, the way the app itself stores them, before any page script runs.
 */
export async function signIn(page, scope, tokens) {
  const session = {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_at: Date.now() + (tokens.expires_in || 900) * 1000,
  };
  await page.addInitScript(
    ([k, v]) => {
      if (!localStorage.getItem(k)) localStorage.setItem(k, v);
    },
    [`krug.${scope}`, JSON.stringify(session)],
  );
}
