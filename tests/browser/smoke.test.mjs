// Smoke test: the browser harness works against a running server (SEXTANT_URL), the API
// reference renders, and the console's login page (once it exists) renders accessibly.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { checkA11y, launch, newPage, shot, url, watchPage } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('the API reference (/docs) renders', async () => {
  const page = await newPage(browser);
  try {
    const issues = watchPage(page);
    const response = await page.goto(url('/docs'), { waitUntil: 'networkidle' });
    assert.equal(response?.status(), 200, `/docs answered ${response?.status()}`);
    assert.match(await page.title(), /\S/, '/docs has no title');
    await shot(page, 'docs');
    // Recorded for reference only: the console's pages are the ones held to WCAG here.
    await checkA11y(page, 'docs', { failOn: [] });
    issues.assertNone();
  } finally {
    await page.context().close();
  }
});

test('the console login page (/console/login) renders and is accessible', async (t) => {
  const page = await newPage(browser);
  try {
    const issues = watchPage(page);
    const response = await page.goto(url('/console/login'), { waitUntil: 'networkidle' });
    if (response?.status() === 404) {
      t.skip('/console/login answers 404: this server has no staff console yet');
      return;
    }
    assert.equal(response?.status(), 200, `/console/login answered ${response?.status()}`);
    await shot(page, 'console-login');
    await assert.doesNotReject(page.locator('#username').waitFor(), 'no #username field');
    await assert.doesNotReject(page.locator('#password').waitFor(), 'no #password field');
    await assert.doesNotReject(
      page.getByRole('button', { name: 'Sign in' }).waitFor(),
      'no button named "Sign in"',
    );
    await checkA11y(page, 'console-login');
    issues.assertNone();
  } finally {
    await page.context().close();
  }
});
