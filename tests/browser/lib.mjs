// Helpers for the browser tests of the Sextant staff console (/console).
//
// Runs on Node's built-in test runner with playwright-core driving the system Chromium
// (Debian's `chromium` package; no browser download) and axe-core for accessibility.
// Every helper is documented in README.md; the short version:
//
//   import { test, before, after } from 'node:test';
//   import { launch, newPage, env, signIn, signOut, checkA11y, shot, watchPage,
//            skipUnlessLogins } from './lib.mjs';
//
//   let browser;
//   before(async () => { browser = await launch(); });
//   after(async () => { await browser?.close(); });
//
//   test('marketer signs in', { skip: skipUnlessLogins('marketer') }, async () => {
//     const page = await newPage(browser);
//     const issues = watchPage(page);
//     await signIn(page, 'marketer');
//     await checkA11y(page, 'marketer-home');
//     await shot(page, 'marketer-home');
//     issues.assertNone();
//     await page.context().close();
//   });

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

/** The staff roles that have console logins, as the demo prints them. */
export const STAFF_ROLES = ['marketer', 'wealth_manager', 'compliance', 'admin'];

/** The roles the demo prints bearer tokens for. */
export const TOKEN_ROLES = ['admin', 'service', 'marketer', 'wealth_manager', 'compliance', 'customer'];

/** Default axe-core tags: WCAG 2.0 and 2.1, levels A and AA. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Viewport of every page made by newPage(). */
export const VIEWPORT = { width: 1280, height: 900 };

const DEFAULT_SCREENSHOT_DIR = '/tmp/sextant-console-shots';

function envName(role) {
  return role.toUpperCase();
}

function parseLogin(role, value) {
  if (!value) return undefined;
  const colon = value.indexOf(':');
  assert.ok(
    colon > 0 && colon < value.length - 1,
    `SEXTANT_LOGIN_${envName(role)} must be username:password`,
  );
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

/**
 * What the tests run against, from the environment:
 *   url           SEXTANT_URL without a trailing slash (required: throws when unset)
 *   logins[role]  { username, password } from SEXTANT_LOGIN_<ROLE>=username:password,
 *                 for each of STAFF_ROLES that is set
 *   tokens[role]  bearer token from SEXTANT_TOKEN_<ROLE>, for each of TOKEN_ROLES that is set
 *   screenshotDir SCREENSHOT_DIR [/tmp/sextant-console-shots]
 */
export function env() {
  const url = (process.env.SEXTANT_URL || '').replace(/\/+$/, '');
  assert.ok(url, 'SEXTANT_URL is not set: point it at a running `sextant demo` (e.g. http://127.0.0.1:8080)');
  const logins = {};
  for (const role of STAFF_ROLES) {
    const login = parseLogin(role, process.env[`SEXTANT_LOGIN_${envName(role)}`]);
    if (login) logins[role] = login;
  }
  const tokens = {};
  for (const role of TOKEN_ROLES) {
    const token = process.env[`SEXTANT_TOKEN_${envName(role)}`];
    if (token) tokens[role] = token;
  }
  return { url, logins, tokens, screenshotDir: screenshotDir() };
}

/** Where screenshots and axe results go: $SCREENSHOT_DIR [/tmp/sextant-console-shots]. */
export function screenshotDir() {
  return process.env.SCREENSHOT_DIR || DEFAULT_SCREENSHOT_DIR;
}

/** Absolute URL of a path on the server under test: url('/console/login'). */
export function url(pathname = '/') {
  return env().url + (pathname.startsWith('/') ? pathname : `/${pathname}`);
}

/** The { username, password } of a staff role; throws when SEXTANT_LOGIN_<ROLE> is unset. */
export function login(role) {
  const found = env().logins[role];
  assert.ok(found, `SEXTANT_LOGIN_${envName(role)} is not set (username:password of the ${role} console login)`);
  return found;
}

/**
 * For test options: `test(name, { skip: skipUnlessLogins('marketer', 'compliance') }, fn)`.
 * A reason string (the test is skipped) when a login is missing, false otherwise.
 */
export function skipUnlessLogins(...roles) {
  const missing = roles.filter((role) => !process.env[`SEXTANT_LOGIN_${envName(role)}`]);
  if (missing.length === 0) return false;
  return `no console login for ${missing.join(', ')} (SEXTANT_LOGIN_${missing.map(envName).join(', SEXTANT_LOGIN_')} unset)`;
}

/**
 * A headless Chromium: $CHROMIUM or /usr/bin/chromium. Its sandbox is on, except when running
 * as root (Chromium refuses its sandbox there: --no-sandbox) or with CHROMIUM_NO_SANDBOX=1
 * (containers without user namespaces). `options` go to chromium.launch() (args are added to
 * ours). HEADED=1 in the environment shows the window.
 */
export async function launch(options = {}) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: process.env.HEADED !== '1',
    // Playwright passes --no-sandbox unless this is true.
    chromiumSandbox: !root && process.env.CHROMIUM_NO_SANDBOX !== '1',
    ...options,
    args: ['--disable-dev-shm-usage', ...(options.args || [])],
  });
}

/**
 * A page in a fresh browser context (its own cookies: one signed-in session per page),
 * 1280x900, locale en-GB, time zone UTC, bypassCSP on (so that checkA11y can inject axe-core
 * into pages whose Content-Security-Policy forbids inline script; pass { bypassCSP: false } to
 * test the page under its real policy, and checkA11y then falls back to page.evaluate).
 * `options` go to browser.newContext(). Close it with `await page.context().close()`.
 */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({
    viewport: VIEWPORT,
    locale: 'en-GB',
    timezoneId: 'UTC',
    bypassCSP: true,
    ...options,
  });
  const page = await context.newPage();
  if (options.bypassCSP === false) underPolicy.add(page);
  page.setDefaultTimeout(Number(process.env.BROWSER_TIMEOUT_MS || 30_000));
  return page;
}

/**
 * Fills the console's login form and submits it, without judging the outcome: for tests of
 * refused logins. Goes to /console/login unless `{ goto: false }` (then the form must be on the
 * page). Returns the response of the navigation the submit caused (null if none).
 */
export async function submitLogin(page, { username, password }, { goto = true } = {}) {
  if (goto) {
    const response = await page.goto(url('/console/login'));
    assert.ok(response, 'no response for /console/login');
    assert.equal(response.status(), 200, `/console/login answered ${response.status()}`);
  }
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  return response;
}

/**
 * Signs in as a staff role with its SEXTANT_LOGIN_<ROLE> login: goes to /console/login, fills
 * #username and #password, clicks "Sign in", waits for the navigation and asserts that it
 * landed under /console and not on the login page. Returns the landing response.
 */
export async function signIn(page, role) {
  const response = await submitLogin(page, login(role));
  const landed = new URL(page.url());
  assert.ok(
    landed.pathname === '/console' || landed.pathname.startsWith('/console/'),
    `signing in as ${role} landed on ${landed.pathname}, not under /console`,
  );
  assert.ok(
    !landed.pathname.startsWith('/console/login'),
    `signing in as ${role} came back to the login page (${page.url()}): refused?`,
  );
  if (response) assert.ok(response.status() < 400, `signing in as ${role} answered ${response.status()}`);
  return response;
}

/** Clicks "Sign out" and waits for the navigation it causes. Returns its response. */
export async function signOut(page) {
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.getByRole('button', { name: 'Sign out' }).click(),
  ]);
  return response;
}

function artifactPath(name, suffix) {
  const dir = screenshotDir();
  mkdirSync(dir, { recursive: true });
  const safe = String(name).replace(/[^A-Za-z0-9._-]+/g, '-');
  return path.join(dir, `${safe}${suffix}`);
}

/** Full-page screenshot into $SCREENSHOT_DIR/<name>.png; returns its path. */
export async function shot(page, name) {
  const file = artifactPath(name, '.png');
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

let axeSource;
// Pages made with { bypassCSP: false }: an injected <script> would break (and log) under their
// policy, so axe-core goes in over the DevTools protocol instead.
const underPolicy = new WeakSet();

async function injectAxe(page) {
  if (await page.evaluate(() => typeof window.axe === 'object')) return;
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!underPolicy.has(page)) {
    try {
      await page.addScriptTag({ content: axeSource });
    } catch {
      // Falls back below.
    }
  }
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    // Evaluated over the DevTools protocol, which no page policy restricts.
    await page.evaluate(axeSource);
  }
  assert.ok(await page.evaluate(() => typeof window.axe === 'object'), 'could not inject axe-core');
}

/**
 * Runs axe-core on the page (WCAG 2.0/2.1 A and AA by default), writes the full result to
 * $SCREENSHOT_DIR/<name>.axe.json, and fails when a violation has an impact in `failOn`.
 * Options:
 *   tags     axe tags to run [WCAG_TAGS]
 *   include  CSS selector of the part to check [the whole document]
 *   exclude  CSS selectors to leave out, e.g. ['#third-party-widget']
 *   rules    per-rule settings, e.g. { 'color-contrast': { enabled: false } }
 *   failOn   impacts that fail [['serious', 'critical']]
 * Returns the axe results (violations, incomplete, passes...).
 */
export async function checkA11y(page, name, options = {}) {
  const { tags = WCAG_TAGS, include, exclude = [], rules, failOn = ['serious', 'critical'] } = options;
  await injectAxe(page);
  const results = await page.evaluate(
    async ({ tags, include, exclude, rules }) => {
      const context = { exclude: exclude.map((selector) => [selector]) };
      if (include) context.include = [[include]];
      const runOptions = { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations', 'incomplete'] };
      if (rules) runOptions.rules = rules;
      return window.axe.run(context, runOptions);
    },
    { tags, include, exclude, rules },
  );
  writeFileSync(artifactPath(name, '.axe.json'), JSON.stringify(results, null, 2));
  const failing = results.violations.filter((v) => failOn.includes(v.impact));
  const report = failing
    .map((v) => {
      const targets = v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ');
      return `  ${v.id} (${v.impact}, ${v.nodes.length} elements): ${v.help}\n    e.g. ${targets}\n    ${v.helpUrl}`;
    })
    .join('\n');
  assert.equal(
    failing.length,
    0,
    `accessibility violations on ${name} (${page.url()}):\n${report}\nfull result: ${artifactPath(name, '.axe.json')}`,
  );
  return results;
}

function matches(rule, issue) {
  if (typeof rule === 'function') return rule(issue);
  if (rule instanceof RegExp) return rule.test(`${issue.kind} ${issue.status ?? ''} ${issue.url} ${issue.text}`);
  const test = (want, have) =>
    want === undefined || (want instanceof RegExp ? want.test(String(have ?? '')) : want === have);
  return test(rule.kind, issue.kind) && test(rule.status, issue.status) && test(rule.url, issue.url) && test(rule.text, issue.text);
}

/**
 * Records what goes wrong on a page from now on: console errors, uncaught exceptions, requests
 * that failed (network, CSP, abort) and responses with status >= 400. Returns
 *   issues.list()                 the entries so far: { kind, status, url, text }, with kind
 *                                 'console' | 'pageerror' | 'requestfailed' | 'response'
 *   issues.clear()                forgets them (e.g. after an expected refusal)
 *   issues.assertNone({ allow })  fails listing every entry no `allow` rule matches
 * An allow rule is a RegExp (tested on "kind status url text"), a predicate, or an object
 * whose given fields must all match, e.g. { status: 403, url: /\/console\/login$/ }.
 * Chromium's own "Failed to load resource: ... status of 403" console line gets the status and
 * URL of the response, so one { status, url } rule allows both entries.
 * Options: ignoreFavicon [true] leaves out the errors of the browser's own /favicon.ico request
 * (pages that name no icon get one, and a 404 for it, without asking).
 */
export function watchPage(page, { ignoreFavicon = true } = {}) {
  let issues = [];
  const push = (issue) => {
    if (ignoreFavicon && /^[a-z]+:\/\/[^/]+\/favicon\.ico(\?|$)/.test(issue.url)) return;
    issues.push(issue);
  };
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    const status = /status of (\d{3})/.exec(text);
    push({
      kind: 'console',
      status: status ? Number(status[1]) : undefined,
      url: message.location()?.url || page.url(),
      text,
    });
  });
  page.on('pageerror', (error) => {
    push({ kind: 'pageerror', status: undefined, url: page.url(), text: String(error?.stack || error) });
  });
  page.on('requestfailed', (request) => {
    push({
      kind: 'requestfailed',
      status: undefined,
      url: request.url(),
      text: `${request.method()} ${request.failure()?.errorText ?? 'failed'}`,
    });
  });
  page.on('response', (response) => {
    if (response.status() < 400) return;
    push({
      kind: 'response',
      status: response.status(),
      url: response.url(),
      text: `${response.request().method()} ${response.status()} ${response.statusText()}`,
    });
  });
  return {
    list: () => [...issues],
    clear: () => {
      issues = [];
    },
    assertNone: ({ allow = [] } = {}) => {
      const unexpected = issues.filter((issue) => !allow.some((rule) => matches(rule, issue)));
      assert.equal(
        unexpected.length,
        0,
        `unexpected errors on ${page.url()}:\n${unexpected
          .map((i) => `  ${i.kind}${i.status ? ` ${i.status}` : ''} ${i.url}: ${i.text}`)
          .join('\n')}`,
      );
    },
  };
}
