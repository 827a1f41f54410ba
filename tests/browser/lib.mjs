// Shared helpers of the browser tests: the settings from the environment (set by
// tests/integration/test_browser.py), Debian's Chromium launched headless through
// playwright-core, a context that records console errors, page errors and dialogs
// (a dialog means injected script ran: every test fails on one), screenshots per step,
// and logging in through the form as a person does.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

export function env(name) {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`environment variable ${name} is not set (see tests/browser/README.md)`);
  return v;
}

export const BASE = (process.env.KINERJA_WEB_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const ARTIFACTS = process.env.KINERJA_ARTIFACTS || path.resolve('artifacts');
export const PERIOD = process.env.KINERJA_PERIOD || '';
const CHROMIUM = process.env.KINERJA_CHROMIUM || '/usr/bin/chromium';

export async function launch() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (apt-get install chromium)`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // --no-sandbox: CI runs as root. The rest keep Chromium from reaching out to the
  // network at start (this machine's network is closed; refused connections pile up).
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

// A fresh context (its own cookies: one person) with watchers on every page it opens.
// problems() lists console errors, uncaught page errors and dialogs seen so far.
export async function person(browser, options = {}) {
  const context = await browser.newContext({ baseURL: BASE, locale: 'id-ID', ...options });
  const seen = [];
  const watch = (page) => {
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      // the browser's own request for a favicon is not the page's doing
      if (/\/favicon\.ico$/.test(m.location()?.url || '')) return;
      seen.push(`console error on ${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => seen.push(`page error on ${page.url()}: ${e.message}`));
    page.on('dialog', async (d) => {
      seen.push(`a ${d.type()} dialog fired on ${page.url()} ("${d.message()}"): injected script ran`);
      await d.dismiss().catch(() => {});
    });
  };
  context.on('page', watch);
  const page = await context.newPage();
  return {
    context,
    page,
    problems: () => seen.slice(),
    // drops the problems a test provoked on purpose (e.g. the 403 of a forged POST)
    forget: (re) => {
      const kept = seen.filter((m) => !re.test(m));
      seen.length = 0;
      seen.push(...kept);
    },
    assertClean: (what) => assert.deepEqual(seen, [], `${what}: ${seen.join('; ')}`),
  };
}

// Screenshots of one test file: shots('public') gives shot(page, step) writing
// public-01-step.png, public-02-....png (full page PNG) into KINERJA_ARTIFACTS.
export function shots(prefix) {
  let n = 0;
  return async (page, step) => {
    n += 1;
    const file = path.join(ARTIFACTS, `${prefix}-${String(n).padStart(2, '0')}-${step}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
}

// Opens a path and asserts the status (200 unless told).
export async function open(page, p, status = 200) {
  const resp = await page.goto(p, { waitUntil: 'load' });
  assert.ok(resp, `no response for ${p}`);
  assert.equal(resp.status(), status, `GET ${p}: status ${resp.status()}, expected ${status}`);
  return resp;
}

// Signs in through form#login as a person would; asserts the login left /login.
export async function login(page, id, password, shot, step) {
  await open(page, '/login');
  await page.locator('form#login input#nip').fill(id);
  await page.locator('form#login input#password').fill(password);
  await shot(page, `${step}-login-form`);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator('#login-submit').click()]);
  const err = await page.locator('p.error').allTextContents();
  assert.deepEqual(err, [], `login as ${id} refused: ${err.join(' ')}`);
  assert.ok(!new URL(page.url()).pathname.startsWith('/login'), `still on ${page.url()} after logging in as ${id}`);
  await assertSignedInChrome(page);
  await shot(page, `${step}-signed-in`);
}

// Every signed-in page: the logout button in the nav and the #live list.
export async function assertSignedInChrome(page) {
  assert.equal(await page.locator('nav #nav-logout').count(), 1, `no nav #nav-logout on ${page.url()}`);
  assert.equal(await page.locator('#live').count(), 1, `no #live on ${page.url()}`);
}

// Clicks a submit button and waits for the page the form leads to.
export async function submit(page, selector) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator(selector).click()]);
}

// The text of p.notice, asserting there is one and no p.error.
export async function notice(page, what) {
  const errors = await page.locator('p.error').allTextContents();
  assert.deepEqual(errors, [], `${what}: the page shows an error: ${errors.join(' ')}`);
  const n = page.locator('p.notice');
  assert.ok((await n.count()) >= 1, `${what}: no p.notice on ${page.url()}`);
  return (await n.first().textContent()).trim();
}

// Fails when the page scrolls sideways at its width.
export async function assertNoHorizontalScroll(page, width) {
  const sw = await page.evaluate(() => document.scrollingElement.scrollWidth);
  assert.ok(sw <= width, `${page.url()} scrolls sideways: scrollWidth ${sw} > ${width}`);
}

// Nothing injected became markup: no <img src=x>, no script holding alert(.
export async function assertNoInjectedMarkup(page) {
  const found = await page.evaluate(() => ({
    imgs: [...document.querySelectorAll('img')].filter((i) => i.getAttribute('src') === 'x').length,
    scripts: [...document.querySelectorAll('script')].filter((s) => /alert\(/.test(s.textContent)).length,
    onerror: document.querySelectorAll('[onerror]').length,
  }));
  assert.deepEqual(found, { imgs: 0, scripts: 0, onerror: 0 }, `${page.url()}: injected markup in the DOM`);
}
