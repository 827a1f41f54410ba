// Tests 2 and 3: the supervisor signs off through the pages; the employee watching /saya
// gets the live notification without reloading.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, shots, open, login, submit, notice, env, PERIOD, assertNoInjectedMarkup } from './lib.mjs';

const shot = shots('signoff');
const SUP = env('KINERJA_SUPERVISOR');
const SUP_PW = env('KINERJA_SUPERVISOR_PASSWORD');
const E_SIGN = env('KINERJA_EMP_SIGN');
const E_SIGN_PW = env('KINERJA_EMP_SIGN_PASSWORD');
const E_SIGN_VERSION = env('KINERJA_EMP_SIGN_VERSION');
const E_LIVE = env('KINERJA_EMP_LIVE');
const E_LIVE_PW = env('KINERJA_EMP_LIVE_PASSWORD');
const E_LIVE_VERSION = env('KINERJA_EMP_LIVE_VERSION');
const HOSTILE_PERSON = env('KINERJA_HOSTILE_PERSON_NAME');
const LIVE_WAIT_MS = 10000;
// the note of test 2's approval: shown to the employee in the history, as text
const NOTE = 'Kinerja baik, terus pertahankan <img src=x onerror=alert(5)>';
// the feedback note sent after it: in the history with its aspect, as text
const FEEDBACK = 'Koordinasi lintas seksi <b onmouseover=alert(6)>baik</b>';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const rowOf = (page, nip) => page.locator(`tr.queue-row[data-employee="${nip}"][data-period="${PERIOD}"]`);

// From /atasan to the review page of one result, checking the version shown and pinned.
async function openReview(page, nip, version, step) {
  await open(page, '/atasan');
  const row = rowOf(page, nip);
  assert.equal(await row.count(), 1, `/atasan: no tr.queue-row for ${nip} ${PERIOD}`);
  await shot(page, `${step}-queue`);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), row.locator('a.review-link').click()]);
  assert.equal(new URL(page.url()).pathname, `/atasan/${nip}/${PERIOD}`);
  const shown = (await page.locator('#version').textContent()).trim();
  assert.match(shown, new RegExp(`(^|\\D)${version}(\\D|$)`), `#version shows "${shown}", the current version is ${version}`);
  const pinned = await page.locator('button#approve').evaluate((b) => b.form && b.form.elements.namedItem('version')?.value);
  assert.equal(pinned, version, 'the approve form does not pin the version shown (input name=version)');
  assert.equal(await page.locator('button#approve').getAttribute('value'), 'approve');
  assert.equal(await page.locator('button#return').getAttribute('value'), 'return');
  await shot(page, `${step}-review`);
}

async function approve(page, note, step) {
  await page.locator('textarea#note').fill(note);
  await submit(page, 'button#approve');
  const text = await notice(page, 'approval');
  await shot(page, `${step}-approved`);
  return text;
}

test('2. supervisor logs in, sees the queue, approves a result with a note', async () => {
  const sup = await person(browser);
  const { page } = sup;
  await login(page, SUP, SUP_PW, shot, 'supervisor');
  await open(page, '/atasan');
  // both results awaiting sign-off are listed; the hostile employee name is text
  assert.equal(await rowOf(page, E_SIGN).count(), 1, `/atasan does not list ${E_SIGN}`);
  const liveRow = rowOf(page, E_LIVE);
  assert.equal(await liveRow.count(), 1, `/atasan does not list ${E_LIVE}`);
  assert.ok((await liveRow.textContent()).includes(HOSTILE_PERSON), `the row of ${E_LIVE} does not show the name as text`);
  assert.equal(await page.locator('img[src="x"], [onerror]').count(), 0, 'an employee name became markup on /atasan');

  await openReview(page, E_SIGN, E_SIGN_VERSION, 'supervisor');
  await approve(page, NOTE, 'supervisor');
  await assertNoInjectedMarkup(page);

  // a feedback note (umpan balik, event `feedback`) from the same review page: any state
  assert.equal(await page.locator('form#feedback-note').count(), 1, 'the review page offers no form#feedback-note');
  await page.locator('select#feedback-value').selectOption('kolaboratif');
  await page.locator('textarea#feedback-text').fill(FEEDBACK);
  await shot(page, 'supervisor-feedback-filled');
  await submit(page, 'button#feedback-submit');
  assert.match(await notice(page, 'feedback note'), /Umpan balik Anda tercatat/);
  await assertNoInjectedMarkup(page);
  await shot(page, 'supervisor-feedback-sent');

  // the state: the queue no longer offers it ...
  await open(page, '/atasan');
  assert.equal(await rowOf(page, E_SIGN).count(), 0, `/atasan still lists ${E_SIGN} after the approval`);
  await shot(page, 'supervisor-queue-after');
  sup.assertClean('supervisor pages');
  await sup.context.close();

  // ... and the employee sees the approved result, which may now be appealed
  const emp = await person(browser);
  await login(emp.page, E_SIGN, E_SIGN_PW, shot, 'employee-signed');
  await open(emp.page, '/saya');
  const link = emp.page.locator(`a.result-link[href="/saya/${PERIOD}"]`);
  assert.equal(await link.count(), 1, `/saya has no a.result-link to /saya/${PERIOD}`);
  await Promise.all([emp.page.waitForNavigation({ waitUntil: 'load' }), link.click()]);
  const predikat = (await emp.page.locator('#predikat').textContent()).trim();
  // E1: hasil kerja meets x perilaku 4 of 5 -> baik ("Baik", not "Sangat Baik")
  assert.match(predikat, /Baik/);
  assert.doesNotMatch(predikat, /Sangat/);
  assert.equal(await emp.page.locator('form#appeal').count(), 1, 'an approved result offers no form#appeal');
  // the sign-off with its note is in the history (SPEC 6: who, when, the note), as text
  const history = await emp.page.locator('section#history').textContent();
  assert.ok(history.includes(NOTE), `section#history does not show the supervisor's note as text: ${history}`);
  // and the feedback note, with its aspect, as text
  const fb = emp.page.locator('section#history li[data-what="feedback"]');
  assert.equal(await fb.count(), 1, 'section#history has no li[data-what="feedback"]');
  const fbText = await fb.textContent();
  assert.ok(fbText.includes('Kolaboratif') && fbText.includes(FEEDBACK), `the feedback note is not shown as text: ${fbText}`);
  await assertNoInjectedMarkup(emp.page);
  await shot(emp.page, 'employee-signed-result');
  emp.assertClean('employee pages');
  await emp.context.close();
});

test('3. live update: the approval reaches the employee on /saya within 10 s, no reload', async () => {
  const emp = await person(browser);
  // Record every EventSource the page opens, so the test knows the stream is connected
  // before the supervisor acts (injected by the driver: not subject to the page's CSP).
  await emp.context.addInitScript(() => {
    const Native = window.EventSource;
    window.__kinerjaStreams = [];
    if (Native) {
      window.EventSource = class extends Native {
        constructor(...args) {
          super(...args);
          window.__kinerjaStreams.push(this);
        }
      };
    }
  });
  await login(emp.page, E_LIVE, E_LIVE_PW, shot, 'employee-live');
  await open(emp.page, '/saya');
  await emp.page.evaluate(() => {
    window.__sameDocument = 'not reloaded';
  });
  await emp.page.waitForFunction(() => window.__kinerjaStreams.some((s) => s.readyState === 1), null, { timeout: 10000 })
    .catch(() => assert.fail('/saya opened no EventSource that connected within 10 s (SSE at /api/v1/stream)'));
  // the stream counts notifications from its first poll on, which may follow the open event
  await emp.page.waitForTimeout(500);
  const before = await emp.page.locator('#live li.live-item').count();
  await shot(emp.page, 'employee-live-waiting');

  const sup = await person(browser);
  await login(sup.page, SUP, SUP_PW, shot, 'supervisor-live');
  await openReview(sup.page, E_LIVE, E_LIVE_VERSION, 'supervisor-live');
  const t0 = Date.now();
  await approve(sup.page, 'Disetujui lewat peramban', 'supervisor-live');

  const item = emp.page.locator('#live li.live-item').nth(before);
  await item.waitFor({ state: 'attached', timeout: LIVE_WAIT_MS })
    .catch(() => assert.fail(`no new li.live-item in #live within ${LIVE_WAIT_MS / 1000} s of the approval`));
  const took = Date.now() - t0;
  const texts = await emp.page.locator('#live li.live-item').allTextContents();
  assert.ok(texts.slice(before).some((t) => t.includes('result_approved')),
    `the live item does not name result_approved: ${JSON.stringify(texts)}`);
  assert.equal(await emp.page.evaluate(() => window.__sameDocument), 'not reloaded', 'the page was reloaded');
  await shot(emp.page, 'employee-live-arrived');
  console.log(`live notification arrived ${took} ms after the approve click`);

  sup.assertClean('supervisor pages');
  emp.assertClean('employee page with live updates');
  await sup.context.close();
  await emp.context.close();
});
