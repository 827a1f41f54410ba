// Tests 1 and 6: the public transparency site, no login.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, shots, open, submit, notice, env, assertNoInjectedMarkup } from './lib.mjs';

const shot = shots('public');
const UNIT = env('KINERJA_UNIT');
const UNIT_IKM = env('KINERJA_UNIT_IKM'); // "87.50"
const HOSTILE_UNIT = env('KINERJA_HOSTILE_UNIT');
const HOSTILE_NAME = env('KINERJA_HOSTILE_UNIT_NAME');
const HOSTILE_COMMENT = 'Antrean cepat <img src=x onerror=alert(1)> "><script>alert(3)</script> terima kasih';
const SHAPES = 'rect, circle, ellipse, line, path, polyline, polygon';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// Every svg.chart on the page is drawn: a non-zero box, and at least one child shape
// that itself has a non-zero box (a chart of zero-sized bars draws nothing).
async function assertChartsDrawn(page, min) {
  const charts = page.locator('svg.chart');
  const n = await charts.count();
  assert.ok(n >= min, `${page.url()}: ${n} svg.chart, expected at least ${min}`);
  for (let i = 0; i < n; i++) {
    const chart = charts.nth(i);
    const box = await chart.boundingBox();
    assert.ok(box && box.width > 0 && box.height > 0, `svg.chart #${i} on ${page.url()} has no size: ${JSON.stringify(box)}`);
    const shapes = await chart.evaluate((svg, sel) => {
      const all = [...svg.querySelectorAll(sel)];
      const drawn = all.filter((s) => {
        const r = s.getBoundingClientRect();
        return r.width > 0 || r.height > 0;
      });
      return { all: all.length, drawn: drawn.length };
    }, SHAPES);
    assert.ok(shapes.all >= 1 && shapes.drawn >= 1,
      `svg.chart #${i} on ${page.url()} has ${shapes.all} shapes, ${shapes.drawn} with a size`);
  }
  return n;
}

test('1. public page: units table, charts drawn, hostile unit name shown as text', async () => {
  const p = await person(browser);
  const { page } = p;
  await open(page, '/');
  await shot(page, 'home');

  const rows = page.locator('table#units tr.unit-row');
  assert.ok((await rows.count()) >= 2, `table#units has ${await rows.count()} tr.unit-row, expected both units`);
  const unitRow = page.locator(`table#units tr.unit-row[data-unit="${UNIT}"]`);
  assert.equal(await unitRow.count(), 1, `no row for ${UNIT}`);
  // IKM of UNIT-A: element means 3.5 -> 3.5 x 25 = 87.50 (see test_browser.py), either decimal mark
  const unitText = await unitRow.textContent();
  const ikmRe = new RegExp(UNIT_IKM.replace('.', '[.,]'));
  assert.match(unitText, ikmRe, `row ${UNIT} does not show IKM ${UNIT_IKM}: ${unitText}`);

  const hostileRow = page.locator(`table#units tr.unit-row[data-unit="${HOSTILE_UNIT}"]`);
  assert.equal(await hostileRow.count(), 1, `no row for ${HOSTILE_UNIT}`);
  assert.ok((await hostileRow.textContent()).includes(HOSTILE_NAME),
    `row ${HOSTILE_UNIT} does not show its name literally: ${await hostileRow.textContent()}`);
  await assertNoInjectedMarkup(page);

  // two charts: the predikat distribution (UNIT-A has five signed results, the least
  // shown) and the IKM trend (this month and last)
  const charts = await assertChartsDrawn(page, 2);
  await page.locator('svg.chart').first().scrollIntoViewIfNeeded();
  await shot(page, `home-charts-${charts}`);

  // /publik is the same site
  await open(page, '/publik');
  assert.ok((await page.locator('table#units tr.unit-row').count()) >= 2, '/publik has no unit rows');

  // the unit page: nine SKM elements and a chart
  await open(page, '/');
  // the link may carry a query (?period=...): its path is /publik/unit/CODE
  const hrefs = await page.locator('a.unit-link').evaluateAll((as) => as.map((a) => new URL(a.href).pathname));
  const at = hrefs.indexOf(`/publik/unit/${UNIT}`);
  assert.ok(at >= 0, `no a.unit-link to /publik/unit/${UNIT} (links: ${JSON.stringify(hrefs)})`);
  const link = page.locator('a.unit-link').nth(at);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), link.click()]);
  assert.equal(new URL(page.url()).pathname, `/publik/unit/${UNIT}`);
  const elements = page.locator('table#elements tr:has(td)');
  assert.equal(await elements.count(), 9, `table#elements has ${await elements.count()} rows with cells, expected the nine SKM elements`);
  await assertChartsDrawn(page, 1);
  assert.equal(await page.locator('form#respond').count(), 1, 'no form#respond on the unit page');
  await shot(page, 'unit-page');

  // the hostile unit's own page
  await open(page, `/publik/unit/${HOSTILE_UNIT}`);
  assert.ok((await page.locator('main').textContent()).includes(HOSTILE_NAME), 'the hostile unit page does not show its name as text');
  await assertNoInjectedMarkup(page);
  await shot(page, 'hostile-unit-page');

  p.assertClean('public pages');
  await p.context.close();
});

test('6. public response form: CSRF enforced, a hostile comment is stored and never rendered as HTML', async () => {
  const p = await person(browser);
  const { page } = p;
  await open(page, `/publik/unit/${UNIT}`);
  const form = page.locator('form#respond');
  assert.equal(await form.count(), 1, 'no form#respond');
  const token = await form.locator('input[name="csrf"]').getAttribute('value');
  const target = await form.evaluate((f) => f.action);
  assert.ok(token && token.length >= 16, `form#respond carries no CSRF token (${token})`);
  assert.equal(await form.locator('input[name="rating"]').count(), 4, 'form#respond: expected four rating radios 1..4');

  await form.locator('input[name="rating"][value="3"]').check();
  await page.locator('form#respond textarea#comment').fill(HOSTILE_COMMENT);
  await shot(page, 'respond-filled');
  await submit(page, 'form#respond #respond-submit');
  const text = await notice(page, 'public response');
  await shot(page, 'respond-sent');
  await assertNoInjectedMarkup(page);
  assert.ok(text.length > 0);

  // The same form posted without the token, and with a wrong one, is refused (403),
  // from the page itself (same origin, same cookies) as a forged form would be.
  const forged = await page.evaluate(async ({ target, token }) => {
    const post = async (fields) => (await fetch(target, {
      method: 'POST', body: new URLSearchParams(fields), redirect: 'manual',
    })).status;
    return {
      none: await post({ rating: '4', comment: 'tanpa token' }),
      wrong: await post({ rating: '4', comment: 'token palsu', csrf: token.split('').reverse().join('') + 'x' }),
    };
  }, { target, token });
  assert.deepEqual(forged, { none: 403, wrong: 403 }, 'a public response without a valid CSRF token must be 403');
  p.forget(/status of 403/);

  // Wherever the comment may show, it shows as text: the public pages again
  for (const path of ['/', `/publik/unit/${UNIT}`]) {
    await open(page, path);
    await assertNoInjectedMarkup(page);
    const html = await page.content();
    assert.ok(!html.includes('<img src=x onerror'), `${path} holds the comment as markup`);
  }
  await shot(page, 'after-respond');
  p.assertClean('public response');
  await p.context.close();
});
