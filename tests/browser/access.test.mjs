// Test 9: access through the pages: not signed in -> the login page; a wrong password
// is refused with p.error; an employee cannot open the supervisor's or the operator's
// pages (403); logging out through the nav ends the session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, shots, open, login, submit, env, PERIOD } from './lib.mjs';

const shot = shots('access');
const EMP = env('KINERJA_EMP_SIGN');
const EMP_PW = env('KINERJA_EMP_SIGN_PASSWORD');
const OTHER = env('KINERJA_EMP_LIVE');

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('9. access: login required, wrong password refused, an employee gets 403 on others\' pages, logout', async () => {
  const p = await person(browser);
  const { page } = p;
  // not signed in: /saya leads to the login form
  await page.goto('/saya');
  assert.equal(new URL(page.url()).pathname, '/login', `/saya without a session ended on ${page.url()}`);
  assert.equal(await page.locator('form#login').count(), 1);

  // a wrong password: p.error, still on /login, not signed in
  await page.locator('input#nip').fill(EMP);
  await page.locator('input#password').fill(`${EMP_PW}-salah`);
  await submit(page, '#login-submit');
  assert.ok((await page.locator('p.error').count()) >= 1, 'a wrong password shows no p.error');
  assert.equal(await page.locator('#nav-logout').count(), 0, 'signed in with a wrong password');
  await shot(page, 'wrong-password');
  p.forget(/status of 40[13]/);

  // the employee: not the supervisor's queue, not a colleague's review page, not the operator's
  await login(page, EMP, EMP_PW, shot, 'employee');
  for (const path of ['/atasan', `/atasan/${OTHER}/${PERIOD}`, '/operator']) {
    const resp = await page.goto(path);
    assert.equal(resp.status(), 403, `an employee opening ${path}: status ${resp.status()}, expected 403`);
  }
  await shot(page, 'forbidden');
  p.forget(/status of 403/);

  // logout through the nav: the session is gone
  await open(page, '/saya');
  await submit(page, 'nav #nav-logout');
  await page.goto('/saya');
  assert.equal(new URL(page.url()).pathname, '/login', `/saya after logging out ended on ${page.url()}`);
  await shot(page, 'logged-out');
  p.assertClean('access');
  await p.context.close();
});
