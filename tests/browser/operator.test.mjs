// Test 7: the operator's page: pipeline status, rejections with their reasons, and
// where one event ended (the event a kiosk vendor sent that the worker refused).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, shots, open, login, env } from './lib.mjs';

const shot = shots('operator');
const EVENT = env('KINERJA_REJECTED_EVENT');
const REASON = env('KINERJA_REJECTED_REASON');

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('7. operator sees the pipeline, the refused event with its reason, and looks it up by id', async () => {
  const op = await person(browser);
  const { page } = op;
  await login(page, env('KINERJA_OPERATOR'), env('KINERJA_OPERATOR_PASSWORD'), shot, 'operator');
  await open(page, '/operator');
  assert.equal(await page.locator('section#pipeline').count(), 1, 'no section#pipeline');
  const rejections = page.locator('table#rejections');
  assert.equal(await rejections.count(), 1, 'no table#rejections');
  const row = rejections.locator('tr', { hasText: EVENT });
  assert.ok((await row.count()) >= 1, `table#rejections does not list event ${EVENT}`);
  assert.ok((await row.first().textContent()).includes(REASON), `the row of ${EVENT} does not give the reason "${REASON}"`);
  await shot(page, 'pipeline');

  const input = page.locator('form#event-lookup input#event-id');
  await input.fill(EVENT);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), input.press('Enter')]);
  const text = await page.locator('main').textContent();
  assert.ok(text.includes(EVENT), `the lookup page does not name ${EVENT}`);
  assert.ok(text.includes(REASON), `the lookup of ${EVENT} does not give the reason "${REASON}"`);
  await shot(page, 'event-lookup');
  op.assertClean('operator pages');
  await op.context.close();
});
