// Test 4: the employee reads an approved result and files an appeal (keberatan).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, shots, open, login, submit, notice, env, PERIOD, assertNoInjectedMarkup } from './lib.mjs';

const shot = shots('appeal');
const EMP = env('KINERJA_EMP_APPEAL');
const EMP_PW = env('KINERJA_EMP_APPEAL_PASSWORD');
const PREDIKAT = env('KINERJA_EMP_APPEAL_PREDIKAT'); // "Sangat Baik"
const REASON = 'Capaian SKP-1 bulan ini belum dihitung penuh <script>alert(4)</script>';
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
  // the appeal and its reason are in the history, as text
  assert.ok((await page.locator('section#history').textContent()).includes(REASON), 'section#history does not show the appeal reason as text');
  await assertNoInjectedMarkup(page);
  await shot(page, 'result-appealed');
  emp.assertClean('employee pages');
  await emp.context.close();
});

test('8. the supervisor\'s supervisor decides the appeal on /atasan/banding: revised to Baik', async () => {
  const top = await person(browser);
  const { page } = top;
  await login(page, env('KINERJA_DECIDER'), env('KINERJA_DECIDER_PASSWORD'), shot, 'decider');
  await open(page, '/atasan/banding');
  // the form of this employee's appeal (it names the employee in a field), else the only one
  let form = page.locator(`form.decide:has(input[value="${EMP}"])`);
  if ((await form.count()) === 0) form = page.locator('form.decide');
  assert.equal(await form.count(), 1, `/atasan/banding: expected one form.decide for ${EMP}, found ${await form.count()}`);
  assert.ok((await page.locator('main').textContent()).includes(REASON), '/atasan/banding does not show the reason filed');
  await assertNoInjectedMarkup(page);
  await shot(page, 'banding');
  const select = form.locator('select[name="predikat"]');
  const values = await select.evaluate((s) => [...s.options].map((o) => [o.value, o.textContent.trim()]));
  const baik = values.find(([v, t]) => v === 'baik' || t === 'Baik');
  assert.ok(baik, `select[name=predikat] offers no Baik: ${JSON.stringify(values)}`);
  await select.selectOption(baik[0]);
  const note = form.locator('textarea[name="note"]');
  if (await note.count()) await note.fill('Direvisi setelah banding');
  await submit(page, 'form.decide button.revise');
  await notice(page, 'appeal decision');
  await shot(page, 'decided');
  top.assertClean('appeal decision pages');
  await top.context.close();
});
