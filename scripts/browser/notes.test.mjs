// Drives Debian's Chromium over examples/notes-web as a person would: the new-note form sent
// empty shows the error beside the title (a 422 page, the typed text kept), sent right it
// redirects to the note with a "Note saved." flash that is gone on reload, the note is edited
// and deleted through its forms, and a form on another origin that posts to the app with the
// user's cookie is refused (403). Every request to another host is blocked and counted.
// Run by scripts/browser-test, which starts notes-web and a page of another origin.
//   NOTES_URL     notes-web, http://127.0.0.1:PORT (required)
//   EVIL_URL      a page on another origin whose form posts to NOTES_URL (required)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   TEST_TIMEOUT_S  time limit (default 120)
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const base = new URL(process.env.NOTES_URL ?? '');
const evil = new URL(process.env.EVIL_URL ?? '');
const shots = process.env.BROWSER_SCREENSHOTS || join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'target', 'browser-screenshots');
const limitS = Number(process.env.TEST_TIMEOUT_S ?? 120);
const started = Date.now();
const failures = [];
const offHost = [];
const fail = (msg) => { failures.push(msg); console.log(`  FAIL ${msg}`); };
const ok = (msg) => console.log(`  ok   ${msg}`);
const check = (cond, msg) => (cond ? ok(msg) : fail(msg));
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

function summary() {
  if (offHost.length) fail(`the pages tried to load from other hosts:\n    ${[...new Set(offHost)].join('\n    ')}`);
  const verdict = failures.length ? `FAIL (${failures.length} failed)` : 'PASS';
  console.log(`notes browser test: ${verdict} in ${seconds()} s`);
  process.exitCode = failures.length ? 1 : 0;
}
setTimeout(() => { fail(`time limit of ${limitS} s reached`); summary(); process.exit(1); }, limitS * 1000).unref();

async function screenshot(page, name) {
  mkdirSync(shots, { recursive: true });
  writeFileSync(join(shots, name), await page.screenshot({ fullPage: true }));
  ok(`screenshot ${name}`);
}

const profile = mkdtempSync(join(tmpdir(), 'brisk-notes-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-background-networking'],
  viewport: { width: 1000, height: 800 },
});
try {
  // Only the app and the other-origin page may be reached.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.origin === base.origin || url.origin === evil.origin) return route.continue();
    offHost.push(`${route.request().method()} ${url.href}`);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => fail(`uncaught error in ${page.url()}: ${err.message}`));

  await page.goto(new URL('/notes', base).href);
  check(await page.getByText('No notes yet.').isVisible(), 'the empty list');
  const css = await page.evaluate(() => getComputedStyle(document.querySelector('header')).borderBottomStyle);
  check(css === 'solid', `the stylesheet applies (header border ${css})`);

  // The form, sent with no title: the error beside it, the text kept, status 422.
  await page.getByRole('link', { name: 'New note' }).click();
  await page.getByLabel('Text').fill('Typed before the mistake');
  let answer = page.waitForResponse((r) => r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Save' }).click();
  let res = await answer;
  check(res.status() === 422, `an empty title answers 422 (got ${res.status()})`);
  await page.locator('#title-error').waitFor();
  check((await page.locator('#title-error').textContent()).includes('Field required'), 'the error is shown beside the title (an empty field is a missing one)');
  check(await page.getByLabel('Title').getAttribute('aria-invalid') === 'true', 'the title is marked invalid');
  check(await page.getByLabel('Text').inputValue() === 'Typed before the mistake', 'the typed text is kept');
  await screenshot(page, 'notes-form-errors.png');

  // Sent right: redirected to the note, with the flash; gone on reload.
  await page.getByLabel('Title').fill('Groceries <b>bold?</b>');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/notes\/\d+$/);
  check(await page.getByRole('heading', { level: 1 }).textContent() === 'Groceries <b>bold?</b>', 'the title is shown as typed (escaped, not bold)');
  check(await page.getByRole('status').textContent() === 'Note saved.', 'the flash after the redirect');
  await screenshot(page, 'notes-saved.png');
  const noteUrl = page.url();
  await page.reload();
  check(await page.getByRole('status').count() === 0, 'the flash shows once');

  // Edited, then deleted.
  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByLabel('Title').fill('Groceries');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.waitForURL(noteUrl);
  check(await page.getByRole('status').textContent() === 'Note updated.', 'edited, with its flash');
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(/\/notes$/);
  check((await page.getByRole('status').textContent()).includes('Deleted'), 'deleted, with its flash');

  // Another origin's page posts a form to the app; the browser sends the app's cookie.
  const forged = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).origin === base.origin);
  await page.goto(evil.href);
  res = await forged;
  check(res.status() === 403, `a cross-origin form post is refused (got ${res.status()})`);
  check((await res.headerValue('content-type')).startsWith('text/html'), 'with an HTML page for the browser');
  await page.goto(new URL('/notes', base).href);
  check(await page.getByText('No notes yet.').isVisible(), 'and nothing was written');
} catch (e) {
  fail(`the test stopped: ${e.message}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  summary();
}
