// Test 5: the SKM survey reached by QR code, on a 360 x 740 phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, shots, open, login, assertNoHorizontalScroll, notice, env } from './lib.mjs';

const shot = shots('survey');
const UNIT = env('KINERJA_UNIT');
const WIDTH = 360;
export const SURVEY_COMMENT = 'Survei dari ponsel 360 px: petugas ramah';
// answers to u1..u9 (each 1..4)
const ANSWERS = [4, 3, 4, 4, 3, 4, 4, 2, 3];
const PROFILE = ['gender', 'age_band', 'education', 'occupation'];

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// Taps an answer as a thumb would: the radio itself, or its label when the radio is
// styled away; then the radio must be checked.
async function choose(page, name, value) {
  const radio = page.locator(`form#survey input[name="${name}"][value="${value}"]`);
  assert.equal(await radio.count(), 1, `no radio ${name}=${value}`);
  if (await radio.isVisible()) {
    await radio.tap();
  } else {
    const id = await radio.getAttribute('id');
    const label = id ? page.locator(`label[for="${id}"]`) : radio.locator('xpath=ancestor::label[1]');
    assert.ok((await label.count()) >= 1, `radio ${name}=${value} is hidden and has no label to tap`);
    await label.first().tap();
  }
  assert.ok(await radio.isChecked(), `tapping ${name}=${value} did not check it`);
}

test('5. SKM survey on a 360x740 phone: nine answers and the profile, sent, event id shown', async () => {
  const p = await person(browser, { viewport: { width: WIDTH, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const { page } = p;
  await open(page, `/survey/${UNIT}?service=KTP-EL`);
  await shot(page, 'form');
  await assertNoHorizontalScroll(page, WIDTH);

  const form = page.locator('form#survey');
  assert.equal(await form.count(), 1, 'no form#survey');
  for (let k = 1; k <= 9; k++) {
    assert.equal(await form.locator(`input[name="u${k}"]`).count(), 4, `u${k}: expected four answers 1..4`);
    await choose(page, `u${k}`, ANSWERS[k - 1]);
  }
  for (const field of PROFILE) {
    const select = page.locator(`form#survey select#${field}`);
    assert.equal(await select.count(), 1, `no select#${field}`);
    const values = await select.evaluate((s) => [...s.options].map((o) => o.value).filter((v) => v !== ''));
    assert.ok(values.length >= 2, `select#${field} offers ${values.length} choices`);
    await select.selectOption(values[1]);
  }
  await page.locator('form#survey textarea#comment').fill(SURVEY_COMMENT);
  await shot(page, 'filled');
  await assertNoHorizontalScroll(page, WIDTH);

  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator('button#survey-submit').tap()]);
  await notice(page, 'survey');
  const id = (await page.locator('p.notice span#event-id').textContent()).trim();
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, `span#event-id is not an event id: "${id}"`);
  await shot(page, 'sent');
  await assertNoHorizontalScroll(page, WIDTH);
  console.log(`survey event ${id}`);
  p.assertClean('survey');
  await p.context.close();
});

test('10. the public pages and the supervisor\'s and employee\'s pages at 360 px: no sideways scroll', async () => {
  const p = await person(browser, { viewport: { width: WIDTH, height: 740 }, isMobile: true, hasTouch: true });
  const { page } = p;
  for (const path of ['/', `/publik/unit/${UNIT}`, '/login']) {
    await open(page, path);
    await shot(page, `narrow${path.replace(/\//g, '-')}`);
    await assertNoHorizontalScroll(page, WIDTH);
  }
  await login(page, env('KINERJA_SUPERVISOR'), env('KINERJA_SUPERVISOR_PASSWORD'), shot, 'narrow-supervisor');
  for (const path of ['/atasan', '/saya']) {
    await open(page, path);
    await shot(page, `narrow${path.replace(/\//g, '-')}`);
    await assertNoHorizontalScroll(page, WIDTH);
  }
  p.assertClean('pages at 360 px');
  await p.context.close();
});
