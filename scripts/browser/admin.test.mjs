// Drives Debian's Chromium over the showcase's admin (/admin) as staff would: log in as the
// superuser; add an item with an invalid price and see the error beside the field; fix it;
// search; filter; sort; edit; run delete_selected on two rows through the confirmation page;
// view the history; give bob (a seeded user) staff status and a group with only "view item"
// through the admin's own forms; then, as bob, find no add/change/delete controls and a 403
// when the change URL is posted directly. axe-core checks every page (login, index, list,
// change form with errors, delete confirmation, history, read-only item) for WCAG 2.2 A/AA violations; screenshots
// at 1280 and 375 px wide. Every request to another host is blocked and counted.
// Run by scripts/browser-test, which starts the showcase with a superuser.
//   BASE_URL        the showcase, http://127.0.0.1:PORT (required)
//   ADMIN_USER, ADMIN_PASSWORD   the superuser (required)
//   VIEWER_USER, VIEWER_PASSWORD a non-staff user the test promotes (default bob / builder)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//   TEST_TIMEOUT_S  time limit (default 120)
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const base = new URL(process.env.BASE_URL ?? '');
const adminUser = process.env.ADMIN_USER ?? '';
const adminPassword = process.env.ADMIN_PASSWORD ?? '';
const viewerUser = process.env.VIEWER_USER ?? 'bob';
const viewerPassword = process.env.VIEWER_PASSWORD ?? 'builder';
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const shots = process.env.BROWSER_SCREENSHOTS || join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'target', 'browser-screenshots');
const limitS = Number(process.env.TEST_TIMEOUT_S ?? 120);
const started = Date.now();
const failures = [];
const offHost = [];
const fail = (msg) => { failures.push(msg); console.log(`  FAIL ${msg}`); };
const ok = (msg) => console.log(`  ok   ${msg}`);
const check = (cond, msg) => (cond ? ok(msg) : fail(msg));
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
const url = (path) => new URL(path, base).href;

function summary() {
  if (offHost.length) fail(`the pages tried to load from other hosts:\n    ${[...new Set(offHost)].join('\n    ')}`);
  const verdict = failures.length ? `FAIL (${failures.length} failed)` : 'PASS';
  console.log(`admin browser test: ${verdict} in ${seconds()} s`);
  process.exitCode = failures.length ? 1 : 0;
}
setTimeout(() => { fail(`time limit of ${limitS} s reached`); summary(); process.exit(1); }, limitS * 1000).unref();

async function screenshot(page, name) {
  mkdirSync(shots, { recursive: true });
  writeFileSync(join(shots, name), await page.screenshot({ fullPage: true }));
  ok(`screenshot ${name}`);
}

/// Both widths: 1280 px, then a 375 px phone (the page must not scroll sideways).
async function screenshots(page, name) {
  await page.setViewportSize({ width: 1280, height: 900 });
  await screenshot(page, `${name}-1280.png`);
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `${name} fits a 375 px phone (overflow ${overflow} px)`);
  await screenshot(page, `${name}-375.png`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

/// axe-core on the page as it is: WCAG 2.0-2.2 A and AA rules; every violation is a failure.
async function accessible(page, name) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
  }));
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  check(found.length === 0, `axe: no violations on the ${name} page${found.length ? `\n      ${found.join('\n      ')}` : ''}`);
}

async function browser(name) {
  const profile = mkdtempSync(join(tmpdir(), `brisk-admin-${name}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-background-networking'],
    viewport: { width: 1280, height: 900 },
  });
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.origin === base.origin) return route.continue();
    offHost.push(`${route.request().method()} ${u.href}`);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => fail(`uncaught error in ${page.url()}: ${err.message}`));
  return { context, page, profile };
}

async function login(page, user, password) {
  await page.goto(url('/admin'));
  await page.waitForURL(/\/auth\/login\?next=/);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/admin$/);
}

const open = [];
try {
  const boss = await browser('boss');
  open.push(boss);
  const page = boss.page;

  // The login page, then the index.
  await page.goto(url('/admin'));
  await page.waitForURL(/\/auth\/login\?next=%2Fadmin/);
  ok('an anonymous visit goes to the login page');
  await accessible(page, 'login');
  await screenshots(page, 'admin-login');
  await login(page, adminUser, adminPassword);
  check(await page.getByRole('heading', { name: 'Site administration' }).isVisible(), 'the index after logging in');
  await accessible(page, 'index');
  await screenshots(page, 'admin-index');

  // Add an item with an invalid price: the error beside the field; fix it.
  await page.getByRole('link', { name: 'Items' }).click();
  await page.getByRole('link', { name: 'Add item' }).click();
  await page.getByLabel('Name').fill('Reading lamp');
  await page.getByLabel('Price').fill('-3');
  let answer = page.waitForResponse((r) => r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  const res = await answer;
  check(res.status() === 422, `an invalid price answers 422 (got ${res.status()})`);
  const error = await page.locator('#err_price').textContent();
  check(error.includes('greater than 0'), `the error is beside the price: ${error.trim()}`);
  check(await page.getByLabel('Price').getAttribute('aria-invalid') === 'true', 'the price is marked invalid');
  check(await page.getByLabel('Name').inputValue() === 'Reading lamp', 'the typed name is kept');
  await accessible(page, 'change form with errors');
  await screenshots(page, 'admin-form-errors');
  await page.getByLabel('Price').fill('25');
  await page.getByRole('button', { name: 'Save and add another' }).click();
  await page.waitForURL(/\/add$/);
  for (const [name, price] of [['Desk', '120'], ['Chair', '45']]) {
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Price').fill(price);
    await page.getByRole('button', { name: 'Save and add another' }).click();
    await page.waitForURL(/\/add$/);
  }
  await page.getByRole('link', { name: 'Items' }).click();
  check(await page.getByRole('link', { name: 'Reading lamp' }).isVisible(), 'the list shows the item');
  await accessible(page, 'list');
  await screenshots(page, 'admin-list');

  // Search, filter, sort.
  await page.getByLabel('Search').fill('lamp');
  await page.getByRole('button', { name: 'Search' }).click();
  check(await page.getByRole('link', { name: 'Reading lamp' }).isVisible() && await page.getByRole('link', { name: 'Desk' }).count() === 0, 'search finds only the lamp');
  await page.goto(url('/admin/showcase/item'));
  await page.getByRole('link', { name: 'Empty' }).first().click();
  check(page.url().includes('tax__isnull=1'), 'a sidebar filter');
  await page.goto(url('/admin/showcase/item'));
  await page.getByRole('link', { name: /^Price/ }).click();
  await page.getByRole('link', { name: /^Price/ }).click();
  const names = await page.locator('tbody tr td:nth-child(2)').allTextContents();
  check(names[0].trim() === 'Desk', `sorted by price, descending (first: ${names[0]?.trim()})`);

  // Edit, then the history.
  await page.getByRole('link', { name: 'Reading lamp' }).click();
  await page.getByLabel('Name').fill('Reading lamp, brass');
  await page.getByRole('button', { name: 'Save and continue editing' }).click();
  await page.waitForURL(/\/change$/);
  check((await page.getByRole('status').textContent()).includes('was saved'), 'saved, with its message');
  await page.getByRole('link', { name: 'History' }).click();
  check(await page.getByRole('cell', { name: 'Changed' }).isVisible() && await page.getByRole('cell', { name: 'Added' }).isVisible(), 'the history shows the add and the change');
  await accessible(page, 'history');

  // delete_selected on two rows, through the confirmation page.
  await page.goto(url('/admin/showcase/item'));
  await page.getByLabel('Select Desk').check();
  await page.getByLabel('Select Chair').check();
  await page.getByLabel('Action').selectOption('delete_selected');
  await page.getByRole('button', { name: 'Go' }).click();
  check(await page.getByText('Are you sure?').isVisible(), 'the confirmation page');
  await accessible(page, 'delete confirmation');
  await screenshots(page, 'admin-delete');
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await page.waitForURL(/\/admin\/showcase\/item$/);
  check(await page.getByRole('link', { name: 'Desk' }).count() === 0 && await page.getByRole('link', { name: 'Chair' }).count() === 0, 'both deleted');

  // bob: staff, in a group that may only view items — through the admin's forms.
  await page.goto(url('/admin/auth/group/add'));
  await page.getByLabel('Name').fill('item viewers');
  await page.getByLabel('Filter the choices of Permissions').fill('view item');
  const hidden = await page.evaluate(() => [...document.getElementById('id_permissions').options].filter((o) => o.hidden).length);
  const shown = await page.evaluate(() => [...document.getElementById('id_permissions').options].filter((o) => !o.hidden).map((o) => o.text));
  check(hidden > 0 && shown.every((t) => t.toLowerCase().includes('view item')), `the filter box narrows the permissions to ${JSON.stringify(shown)}`);
  await page.getByLabel('Permissions', { exact: true }).selectOption({ label: 'showcase | item | Can view item' });
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.waitForURL(/\/admin\/auth\/group$/);
  await page.goto(url('/admin/auth/user'));
  await page.getByRole('link', { name: viewerUser, exact: true }).click();
  await page.getByLabel('Is staff').check();
  await page.getByLabel('Groups', { exact: true }).selectOption({ label: 'item viewers' });
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.waitForURL(/\/admin\/auth\/user$/);
  ok(`${viewerUser} is staff, in "item viewers"`);

  const viewer = await browser('viewer');
  open.push(viewer);
  const v = viewer.page;
  await login(v, viewerUser, viewerPassword);
  check(await v.getByRole('link', { name: 'Items' }).isVisible() && await v.getByRole('link', { name: 'Users' }).count() === 0, `${viewerUser} sees items only`);
  await v.getByRole('link', { name: 'Items' }).click();
  check(await v.getByRole('link', { name: 'Add item' }).count() === 0, 'no add control');
  check(await v.getByLabel('Action').count() === 0, 'no actions (no delete)');
  await v.getByRole('link', { name: /Reading lamp/ }).click();
  check(await v.getByRole('heading', { name: /^View item/ }).isVisible(), 'the item is shown read-only');
  await accessible(v, 'read-only item');
  check(await v.getByRole('button', { name: 'Save', exact: true }).count() === 0, 'no save control');
  const changeUrl = v.url();
  const token = await v.evaluate(async () => {
    const page = await (await fetch('/auth/login')).text();
    return /name="csrf_token" value="([^"]+)"/.exec(page)?.[1] ?? '';
  });
  const status = await v.evaluate(async ([target, csrf]) => {
    const body = new URLSearchParams({ csrf_token: csrf, name: 'hacked', price: '1' });
    return (await fetch(target, { method: 'POST', body })).status;
  }, [changeUrl, token]);
  check(status === 403, `posting the change URL directly is refused (got ${status})`);
} catch (e) {
  fail(`the test stopped: ${e.message}`);
} finally {
  for (const b of open) {
    await b.context.close();
    rmSync(b.profile, { recursive: true, force: true });
  }
  summary();
}
