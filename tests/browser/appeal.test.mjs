// Test 4: the employee reads an approved result and files an appeal (keberatan).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, shots, open, login, submit, notice, env, PERIOD } from './lib.mjs';

const shot = shots('appeal');
const EMP = env('KINERJA_EMP_APPEAL');
const EMP_PW = env('KINERJA_EMP_APPEAL_PASSWORD');
const PREDIKAT = env('KINERJA_EMP_APPEAL_PREDIKAT'); // "Sangat Baik"
const REASON = 'Capaian SKP-1 bulan ini belum dihitung penuh';
// the seven BerAKHLAK aspects, as a person reads them (never the raw keys)
const ASPECTS = ['Berorientasi Pelayanan', 'Akuntabel', 'Kompeten', 'Harmonis', 'Loyal', 'Adaptif', 'Kolaboratif'];

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('4. employee opens the approved result and files an appeal', async () => {
  const emp = await person(browser);
  const { page } = emp;
  await login(page, EMP, EMP_PW, shot, 'employee');
  await open(page, '/saya');
  const link = page.locator(`a.result-link[href="/saya/${PERIOD}"]`);
  assert.equal(await link.count(), 1, `/saya has no a.result-link to /saya/${PERIOD}`);
  await shot(page, 'results');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), link.click()]);
  assert.equal(new URL(page.url()).pathname, `/saya/${PERIOD}`);

  // the breakdown
  assert.ok((await page.locator('#predikat').textContent()).includes(PREDIKAT), `#predikat does not show ${PREDIKAT}`);
  const score = (await page.locator('#score').textContent()).trim();
  assert.match(score, /\d/, `#score shows no number: "${score}"`);
  const perilaku = await page.locator('table#perilaku').textContent();
  for (const a of ASPECTS) assert.match(perilaku, new RegExp(a, 'i'), `table#perilaku does not name ${a}`);
  assert.doesNotMatch(perilaku, /berorientasi_pelayanan/, 'table#perilaku shows a raw key');
  for (const s of ['section#history', 'section#feedback', 'section#training']) {
    assert.equal(await page.locator(s).count(), 1, `no ${s} on /saya/${PERIOD}`);
  }
  await shot(page, 'result');

  // the appeal
  assert.equal(await page.locator('form#appeal').count(), 1, 'an approved result offers no form#appeal');
  await page.locator('form#appeal textarea#appeal-reason').fill(REASON);
  await shot(page, 'appeal-filled');
  await submit(page, 'form#appeal button#appeal-submit');
  await notice(page, 'appeal');
  await shot(page, 'appeal-sent');

  // once appealed, the result offers no second appeal
  const deadline = Date.now() + 10000;
  for (;;) {
    await open(page, `/saya/${PERIOD}`);
    if ((await page.locator('form#appeal').count()) === 0) break;
    assert.ok(Date.now() < deadline, 'form#appeal is still offered 10 s after the appeal was filed');
    await page.waitForTimeout(500);
  }
  await shot(page, 'result-appealed');
  emp.assertClean('employee pages');
  await emp.context.close();
});
