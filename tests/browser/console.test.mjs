// The staff console in a real headless Chromium: sign-in and sign-out, CSRF rejection,
// a marketer's audience and campaign, a wealth manager's proposal and the book's limits,
// a compliance officer's replay. Every page visited is checked with axe-core (no serious
// or critical violation) and screenshotted into SCREENSHOT_DIR.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { checkA11y, launch, login, newPage, shot, signIn, signOut, skipUnlessLogins, submitLogin, url, watchPage } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Opens `path`, asserts the status, checks accessibility and takes a screenshot. */
async function visit(page, path, name, status = 200) {
  const response = await page.goto(url(path));
  assert.equal(response.status(), status, `${path} answered ${response.status()}`);
  await checkA11y(page, name);
  await shot(page, name);
  return response;
}

/** Clicks a button that submits a form and waits for the page it leads to. */
async function submit(page, name) {
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.getByRole('button', { name }).click(),
  ]);
  return response;
}

describe('signing in', { skip: skipUnlessLogins('marketer') }, () => {
  test('a wrong password is refused, a right one signs in, sign-out ends the session', async () => {
    const page = await newPage(browser);
    const { username } = login('marketer');
    await submitLogin(page, { username, password: 'not-the-password-at-all' });
    assert.match(page.url(), /\/console\/login/);
    await assert.doesNotReject(page.getByRole('alert').getByText('Wrong username or password').waitFor());
    await checkA11y(page, 'signin-refused');
    await shot(page, 'signin-refused');

    await signIn(page, 'marketer');
    assert.match(page.url(), /\/console\/campaigns$/);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'sextant_session');
    assert.ok(session, 'a session cookie is set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');

    await signOut(page);
    assert.match(page.url(), /\/console\/login$/);
    // The old session no longer opens anything.
    await page.context().addCookies([{ ...session }]);
    const again = await page.goto(url('/console/campaigns'));
    assert.match(page.url(), /\/console\/login\?next=/, 'sent to sign in again');
    assert.equal(again.status(), 200);
    await page.context().close();
  });

  test('a form without the session\'s CSRF token changes nothing', async () => {
    const page = await newPage(browser);
    await signIn(page, 'marketer');
    await page.goto(url('/console/audiences'));
    // A forged form: the right fields, a wrong token.
    await page.locator('form[action="/console/audiences"] input[name=csrf]').evaluate((el) => {
      el.value = '0'.repeat(64);
    });
    await page.locator('#audience-id').fill('csrf-forged');
    await page.locator('#audience-name').fill('Forged');
    await page.locator('#rule').fill('age >= 30');
    const response = await submit(page, 'Save audience');
    assert.equal(response.status(), 403);
    await assert.doesNotReject(page.getByRole('heading', { name: 'This form has expired' }).waitFor());
    await shot(page, 'csrf-refused');
    // And with no token at all, from outside any form.
    const bare = await page.request.post(url('/console/audiences'), {
      form: { id: 'csrf-missing', name: 'Missing', rule: 'age >= 30' },
    });
    assert.equal(bare.status(), 403);
    const list = await page.goto(url('/console/audiences'));
    assert.equal(list.status(), 200);
    assert.equal(await page.getByText('csrf-forged').count(), 0, 'the forged audience was not saved');
    assert.equal(await page.getByText('csrf-missing').count(), 0, 'the token-less audience was not saved');
    await page.context().close();
  });
});

describe('a marketer', { skip: skipUnlessLogins('marketer') }, () => {
  test('builds an audience, fixes a syntax error, previews, launches a campaign and reads its report', async () => {
    const page = await newPage(browser);
    const issues = watchPage(page);
    await signIn(page, 'marketer');
    await visit(page, '/console/campaigns', 'marketer-campaigns');
    await visit(page, '/console/catalogue', 'marketer-catalogue');
    await visit(page, '/console/segments', 'marketer-segments');
    assert.ok(await page.locator('svg[role=img]').count() >= 1, 'the embedding map is drawn');
    await visit(page, '/console/audiences', 'marketer-audiences');

    const id = `console-test-${Date.now()}`;
    await page.locator('#audience-id').fill(id);
    await page.locator('#audience-name').fill('Savers found in the console test');
    // A syntax error, shown as you type with its line and column.
    await page.locator('#rule').fill('savings_rate >= and consent.email = true');
    await page.locator('#rule-check').getByText(/Line 1, column \d+/).waitFor();
    await shot(page, 'marketer-rule-error');
    // Saving it anyway is refused with the same position.
    let response = await submit(page, 'Save audience');
    assert.equal(response.status(), 422);
    await page.getByRole('alert').getByText(/line 1, column \d+/).first().waitFor();
    await checkA11y(page, 'marketer-rule-refused');
    const refusal = await page.locator('[data-refused]').innerText();
    assert.equal(refusal.match(/line 1, column \d+/g).length, 1, `the position is given once: ${refusal}`);

    await page.locator('#audience-id').fill(id);
    await page.locator('#audience-name').fill('Savers found in the console test');
    await page.locator('#rule').fill('savings_rate >= 0.05 and consent.email = true');
    await page.locator('#rule-check').getByText('The rule is valid.').waitFor();
    assert.equal(await page.locator('[data-refused]').isVisible(), false, 'the old refusal is hidden once the rule changes');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('#rule-preview').getByText('Audience size').waitFor();
    const size = Number((await page.locator('#rule-preview dd').first().innerText()).replaceAll(',', ''));
    assert.ok(size > 0, `the preview selects someone (${size})`);
    await shot(page, 'marketer-rule-preview');
    response = await submit(page, 'Save audience');
    assert.equal(response.status(), 200);
    await page.getByRole('cell', { name: id, exact: true }).waitFor();

    await page.goto(url('/console/campaigns'));
    await page.locator('#c-name').fill(`Console test ${id}`);
    await page.locator('#c-audience').selectOption(id);
    await page.locator('#c-product').selectOption('dep-term-12m');
    await page.locator('#c-channel').selectOption('email');
    response = await submit(page, 'Create draft');
    assert.equal(response.status(), 200);
    assert.match(page.url(), /\/console\/campaigns\/cmp_/);
    await page.getByText('draft', { exact: true }).waitFor();
    await checkA11y(page, 'marketer-campaign-draft');

    page.once('dialog', (dialog) => dialog.accept());
    response = await submit(page, 'Launch');
    assert.equal(response.status(), 200);
    await page.getByRole('heading', { name: 'Launch' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Launch' }).count(), 0, 'a campaign launches once');
    await page.getByRole('heading', { name: 'Report' }).waitFor();
    assert.ok(await page.locator('figure.chart svg[role=img]').count() >= 2, 'the uplift and Qini charts are drawn');
    await checkA11y(page, 'marketer-campaign-report');
    await shot(page, 'marketer-campaign-report');

    await submit(page, 'Pause');
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    await submit(page, 'Resume');
    await page.getByRole('link', { name: 'Contact list' }).click();
    await page.waitForLoadState();
    await checkA11y(page, 'marketer-contacts');
    await shot(page, 'marketer-contacts');
    issues.assertNone({ allow: [{ status: 422 }] });
    await page.context().close();
  });

  test('cannot open the wealth managers\' or compliance pages', async () => {
    const page = await newPage(browser);
    await signIn(page, 'marketer');
    for (const path of ['/console/clients', '/console/decisions', '/console/audit']) {
      const response = await page.goto(url(path));
      assert.equal(response.status(), 403, `${path} answered ${response.status()}`);
    }
    await page.context().close();
  });
});

describe('a wealth manager', { skip: skipUnlessLogins('wealth_manager') }, () => {
  test('approves a rebalancing proposal and is refused another manager\'s client', async () => {
    const page = await newPage(browser);
    const issues = watchPage(page);
    await signIn(page, 'wealth_manager');
    await visit(page, '/console/clients', 'wm-client-book');
    const clients = await page.locator('tbody tr td:first-child a').allInnerTexts();
    assert.ok(clients.length > 0, 'the demo gives the wealth manager clients');
    // The book is sorted by severity: a client with a suitability breach or drawdown first.
    const first = await page.locator('tbody tr').first().locator('.badge').innerText();
    assert.notEqual(first, 'no alert');

    await visit(page, `/console/clients/${clients[0]}`, 'wm-client');
    for (const heading of ['Risk profile', 'Review', 'Goal plan', 'Rebalancing proposals']) {
      await page.getByRole('heading', { name: heading }).waitFor();
    }
    await submit(page, 'Plan the goal');
    await page.getByText(/Probability of reaching the target/).waitFor();
    await submit(page, 'Propose a rebalance back to the model');
    const approve = page.getByRole('button', { name: /^Approve proposal \d+$/ }).first();
    const label = await approve.innerText();
    const proposal = label.replace('Approve proposal ', '');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), approve.click()]);
    await page.getByRole('heading', { name: `Proposal ${proposal} · approved` }).waitFor();
    await checkA11y(page, 'wm-proposal-approved');
    await shot(page, 'wm-proposal-approved');

    // A customer outside the book is not found, exactly as one that does not exist.
    let stranger;
    for (let i = 1; i < 500 && !stranger; i++) {
      const id = `c${String(i).padStart(7, '0')}`;
      if (!clients.includes(id)) stranger = id;
    }
    const refused = await page.goto(url(`/console/clients/${stranger}`));
    assert.equal(refused.status(), 404);
    await shot(page, 'wm-stranger-refused');
    const forged = await page.request.post(url(`/console/clients/${stranger}/rebalance`), { form: {} });
    assert.equal(forged.status(), 403, 'no CSRF token, no proposal');
    issues.assertNone({ allow: [{ status: 404 }] });
    await page.context().close();
  });
});

describe('a compliance officer', { skip: skipUnlessLogins('compliance') }, () => {
  test('lands on the monitoring cases, opens one, assigns it and comments', async () => {
    const page = await newPage(browser);
    const issues = watchPage(page);
    await signIn(page, 'compliance');
    assert.match(page.url(), /\/console\/cases$/);
    await visit(page, '/console/cases', 'compliance-cases');
    await page.locator('tbody tr td:nth-child(1) a').first().click();
    await page.waitForLoadState();
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    await checkA11y(page, 'compliance-case');
    const { username } = login('compliance');
    await page.locator('#w-assignee').selectOption(username);
    await submit(page, 'Assign');
    await page.getByText(`assigned to ${username}`).waitFor();
    await page.locator('#w-comment').fill('Looked at the payments: asking the customer.');
    await submit(page, 'Add comment');
    await page.getByText('asking the customer').waitFor();
    await shot(page, 'compliance-case-worked');
    issues.assertNone();
    await page.context().close();
  });

  test('reads the rules in force, backtests one, and is told where a rule is wrong', async () => {
    const page = await newPage(browser);
    const issues = watchPage(page);
    await signIn(page, 'compliance');
    await visit(page, '/console/rules', 'compliance-rules');
    await page.getByRole('cell', { name: /cash-out-day/ }).first().waitFor();
    await page.locator('#b-source').fill('count(payments, 1h, card = true) >= 5');
    await submit(page, 'Run the backtest');
    await page.getByText('Alerts it would have raised', { exact: true }).waitFor();
    await shot(page, 'compliance-rule-backtest');
    await page.locator('#r-id').fill('typo');
    await page.locator('#r-source').fill('count(payments, 1h) > 3 and sum(amont, 1h) > 10');
    await page.locator('#r-description').fill('a rule with a typo');
    const refused = await submit(page, 'Save the version');
    assert.equal(refused.status(), 422);
    await page.getByText(/line 1, column 33/).waitFor();
    assert.equal(await page.locator('#r-source').inputValue(), 'count(payments, 1h) > 3 and sum(amont, 1h) > 10');
    await shot(page, 'compliance-rule-refused');
    issues.assertNone({ allow: [{ status: 422 }] });
    await page.context().close();
  });

  test('searches decisions, replays one, and reads fairness, models and the audit trail', async () => {
    const page = await newPage(browser);
    const issues = watchPage(page);
    await signIn(page, 'compliance');
    await visit(page, '/console/decisions', 'compliance-decisions');
    await page.locator('#f-outcome').selectOption('declined');
    await submit(page, 'Search');
    assert.match(page.url(), /outcome=declined/);
    const outcomes = await page.locator('tbody tr td:nth-child(5)').allInnerTexts();
    assert.ok(outcomes.every((o) => o === 'declined'), `only declines: ${outcomes}`);
    await shot(page, 'compliance-declines');

    await page.locator('tbody tr td:nth-child(2) a').first().click();
    await page.waitForLoadState();
    await page.getByRole('heading', { name: 'Rules' }).waitFor();
    await checkA11y(page, 'compliance-decision');
    await submit(page, 'Replay this decision');
    await page.getByRole('status').getByText('identical to the recorded decision').waitFor();
    await shot(page, 'compliance-replayed');

    await visit(page, '/console/fairness', 'compliance-fairness');
    await visit(page, '/console/models', 'compliance-models');
    await visit(page, '/console/audit?action=credit_decision.replay', 'compliance-audit');
    await page.getByRole('cell', { name: 'credit_decision.replay' }).first().waitFor();
    issues.assertNone();
    await page.context().close();
  });
});
