// The console in a real browser: Debian's chromium (never a downloaded
// one) driven by playwright-core. A store user logs in, sees only their
// groups, opens a group profile whose chart has drawn, searches the
// archive for a Chinese phrase, and confirms a flagged message from the
// review queue, then opens a staff task from its notice link and closes
// it with a note. Then an HQ user edits a dictionary entry, backtests it
// and saves it on the rules page; reads the campaigns' measurement charts,
// has a definition's error shown, applies and pauses one; and replays a
// dead letter. Screenshots go to $SHOTS; any console error or page error
// fails the test, and each step checks text that proves the data arrived.
//   CONSOLE_URL LOGIN PASSWORD SHOTS PROFILE (a fresh --user-data-dir) HQ_LOGIN
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

const { CONSOLE_URL, LOGIN, PASSWORD, SHOTS, PROFILE, HQ_LOGIN } = process.env;
const errors = [];
let passed = 0;
const ok = (what) => { passed++; console.log(`ok   ${what}`); };

const context = await chromium.launchPersistentContext(PROFILE, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run'],
  viewport: { width: 1400, height: 1000 },
  locale: 'zh-CN'
});
const page = context.pages()[0] || await context.newPage();
// A refusal a step provokes on purpose (a definition with an error, a
// dead letter that cannot be replayed) is logged by chromium as a failed
// resource: only those of the URLs a step announced are let through.
const refusals = [];
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  if (/Failed to load resource/.test(m.text()) && refusals.some((re) => re.test(m.location().url || ''))) return;
  errors.push(`console: ${m.text()}`);
});
page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
// Nothing may leave the console's own origin (no CDN, no outside font).
page.on('request', (r) => { if (!r.url().startsWith(CONSOLE_URL)) errors.push(`outside request: ${r.url()}`); });
page.setDefaultTimeout(15000);

try {
  // 1. Log in.
  await page.goto(CONSOLE_URL + '/');
  await page.fill('input[name=login]', LOGIN);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#top:not([hidden]) #who');
  assert.match(await page.textContent('#who'), new RegExp(`${LOGIN} · 一号店`));
  ok('logged in as the store user of 一号店');
  await page.waitForSelector('#trend-chart[data-drawn="true"]');
  assert.match(await page.textContent('[data-card=messages] .value'), /^\d+$/);
  await page.screenshot({ path: `${SHOTS}/1-overview.png`, fullPage: true });
  ok('overview drawn');

  // 2. Only their groups.
  await page.goto(CONSOLE_URL + '/#/groups');
  await page.waitForSelector('#groups-table tbody tr');
  const codes = await page.$$eval('#groups-table tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(codes, ['room1']);
  assert.match(await page.textContent('#groups-table'), /群1/);
  assert.match(await page.textContent('.pager'), /共 1/);
  await page.screenshot({ path: `${SHOTS}/2-groups.png`, fullPage: true });
  ok('groups list holds only room1');

  // 3. The group's profile, its chart drawn.
  await page.click('#groups-table a[href="#/group/room1"]');
  await page.waitForSelector('#group-chart[data-drawn="true"]');
  await page.waitForSelector('#health-chart[data-drawn="true"]');
  assert.match(await page.textContent('#group-health'), /^\d+$/);
  assert.match(await page.textContent('#main'), /会员u1/);
  await page.screenshot({ path: `${SHOTS}/3-group.png`, fullPage: true });
  ok('group profile with its drawn charts (activity, health by day)');

  // 4. Archive search for a Chinese phrase.
  await page.goto(CONSOLE_URL + '/#/search');
  await page.fill('#search-form input[name=q]', '优惠券');
  await page.click('#search-form button[type=submit]');
  await page.waitForSelector('#search-results mark');
  const marks = await page.$$eval('#search-results mark', (ms) => ms.map((m) => m.textContent));
  assert.ok(marks.length >= 1 && marks.every((m) => m === '优惠券'), `marks: ${marks}`);
  const groups = await page.$$eval('#search-results tbody tr td:nth-child(2)', (tds) => [...new Set(tds.map((td) => td.textContent))]);
  assert.deepEqual(groups, ['群1']);
  await page.click('#search-results a.result');
  await page.waitForSelector('#message-view h3');
  await page.screenshot({ path: `${SHOTS}/4-search.png`, fullPage: true });
  ok(`archive search: ${marks.length} hits of 优惠券, all in 群1`);

  // 5. Confirm the flagged message from the queue.
  await page.goto(CONSOLE_URL + '/#/queue');
  await page.waitForSelector('#queue-table tbody tr');
  const row = page.locator('#queue-table tbody tr', { has: page.locator('mark.evidence', { hasText: 'wx88776655' }) });
  await row.locator('input.pick').check();
  await page.fill('#decision-reason', '确认广告');
  await page.click('#confirm-btn');
  await page.waitForSelector('#decision-result:has-text("confirmed")');
  assert.equal((await row.locator('.queue-status').textContent()).trim(), 'confirmed');
  await page.screenshot({ path: `${SHOTS}/5-queue.png`, fullPage: true });
  ok('flagged message confirmed from the queue');

  // 6. A task notice's link (/tasks/<id>): the task with its evidence,
  // closed by hand with a note.
  await page.goto(CONSOLE_URL + '/tasks/101');
  await page.waitForSelector('#task-message');
  assert.match(await page.textContent('h2'), /任务 #101 · 撤回并提醒/);
  assert.match(await page.textContent('#task-message'), /wx88776655/);
  await page.fill('#done-note', '已在手机上撤回');
  await page.click('#main form button[type=submit]');
  await page.waitForSelector('#task-state:has-text("done_by_note")');
  assert.match(await page.textContent('#task-close_evidence'), /note: 已在手机上撤回/);
  await page.screenshot({ path: `${SHOTS}/6-task.png`, fullPage: true });
  ok('task 101 opened from its notice link and closed with a note');

  // 7. As HQ: the rules page. A dictionary entry added to fraud.keyword,
  // backtested (what would now be flagged), then saved as tried.
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('input[name=login]', HQ_LOGIN);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#top:not([hidden]) #who');
  await page.goto(CONSOLE_URL + '/#/rules');
  await page.waitForSelector('#rules-tsv');
  const tsv = await page.inputValue('#rules-tsv');
  assert.match(tsv, /^fraud\.keyword\tkeyword\tfraud\t/m);
  await page.fill('#rules-tsv', tsv.replace(/^(fraud\.keyword\t[^\n]*?)(\t[01])?$/m, (line, head, dry) => `${head}\\n第2条消息${dry || ''}`));
  assert.equal(await page.isDisabled('#rules-save'), true);
  await page.selectOption('#rules-days', '1');
  await page.click('#rules-backtest');
  await page.waitForSelector('#backtest-chart[data-drawn="true"]');
  assert.match(await page.textContent('#backtest'), /群1的第2条消息/);
  assert.match(await page.textContent('#backtest .summary'), /判定改变: [1-9]/);
  await page.screenshot({ path: `${SHOTS}/7-rules.png`, fullPage: true });
  await page.click('#rules-save');
  await page.waitForSelector('#rules-note:has-text("已保存规则数")');
  ok('rules: a dictionary entry backtested, what it would flag shown, then saved');

  // 8. Campaigns: the measurement and SOP charts; a definition's error
  // shown; a valid one applied, then paused.
  await page.goto(CONSOLE_URL + '/#/campaigns');
  await page.waitForSelector('#campaign-steps-chart[data-drawn="true"]');
  await page.waitForSelector('#campaign-sop-chart[data-drawn="true"]');
  const stepRow = await page.textContent('#campaign-steps tbody tr');
  assert.match(stepRow, /daily/);
  assert.match(await page.textContent('#main'), /66\.7/);
  const doc = { brand: 'acme', campaigns: [{ name: 'browser-sop', trigger: { type: 'schedule', dates: ['2030-01-01'] },
    steps: [{ at: '08:00', template: '早上好' }, { at: '09:00', best_time: true, template: '冲突' }] }] };
  await page.fill('#campaign-doc', JSON.stringify(doc));
  refusals.push(/\/api\/v1\/campaigns\/validate$/);
  await page.click('#campaign-validate');
  await page.waitForSelector('#campaign-result .error-box');
  assert.match(await page.textContent('#campaign-result'), /^400: .*steps\[1\]/);
  doc.campaigns[0].steps.pop();
  await page.fill('#campaign-doc', JSON.stringify(doc));
  await page.click('#campaign-validate');
  await page.waitForSelector('#campaign-result .ok:has-text("校验通过")');
  await page.click('#campaign-apply');
  await page.waitForSelector('#campaign-result .ok:has-text("已应用")');
  const created = page.locator('#main table tr', { hasText: 'browser-sop' }).first();
  await created.locator('button:has-text("暂停")').click();
  await page.locator('#main table tr', { hasText: 'browser-sop' }).first().locator('button:has-text("恢复")').waitFor();
  await page.screenshot({ path: `${SHOTS}/8-campaigns.png`, fullPage: true });
  ok('campaigns: charts drawn, an error shown, a definition applied and paused');

  // 9. Dead letters: the seeded one cannot be replayed (not an event):
  // the refusal is shown, and the row stays open.
  await page.goto(CONSOLE_URL + '/#/deadletters');
  await page.waitForSelector('#main table button.replay');
  refusals.push(/\/api\/v1\/deadletters\/\d+\/replay$/);
  await page.click('#main table button.replay');
  await page.waitForSelector('#status:has-text("not replayable")');
  await page.screenshot({ path: `${SHOTS}/9-deadletters.png`, fullPage: true });
  ok('dead letters: replay answered');

  assert.deepEqual(errors, [], 'the page logged errors');
  ok('no console errors, no request outside the console');
  console.log(`${passed} passed, 0 failed`);
} catch (e) {
  await page.screenshot({ path: `${SHOTS}/failure.png`, fullPage: true }).catch(() => {});
  console.error('FAIL:', e.message, errors);
  console.log(`${passed} passed, 1 failed`);
  process.exitCode = 1;
} finally {
  await context.close();
}
