// Drives Debian's Chromium over the showcase's /docs (Swagger UI) and /redoc (ReDoc) as a user
// would, with every request to another host blocked and counted as a failure. In /docs it also
// logs in with Swagger UI's "Authorize" dialog (OAuth2 password flow, POST /token) as the demo
// user alice (scope admin) and calls GET /users/me and GET /stats with her token; in a second
// browser (fresh profile) it calls them as nobody (401) and as bob, who lacks admin (403).
// Run by scripts/browser-test, which starts a fresh showcase and sets BASE_URL.
//   BASE_URL          the showcase, http://127.0.0.1:PORT (required)
//   CHROMIUM          the browser (default /usr/bin/chromium)
//   TEST_TIMEOUT_S    time limit for the whole test (default 120)
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const base = new URL(process.env.BASE_URL ?? '');
// Routine runs write to target/ (ignored); `scripts/browser-test --update-screenshots` refreshes the
// committed set in scripts/browser/screenshots/.
const shots = process.env.BROWSER_SCREENSHOTS || join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'target', 'browser-screenshots');
const limitS = Number(process.env.TEST_TIMEOUT_S ?? 120);
const itemName = 'Browser test widget'; // the showcase is fresh, so this is item 1
// The showcase's default demo users (scripts/browser-test does not set SHOWCASE_USERS).
const alice = { username: 'alice', password: 'wonderland' }; // scope admin
const bob = { username: 'bob', password: 'builder' }; // no scopes
const started = Date.now();
const failures = [];
const offHost = []; // what the pages tried to load from anywhere but the showcase
const fail = (msg) => { failures.push(msg); console.log(`  FAIL ${msg}`); };
const ok = (msg) => console.log(`  ok   ${msg}`);
const check = (cond, msg) => (cond ? ok(msg) : fail(msg));
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

function summary() {
  if (offHost.length) fail(`the pages tried to load from other hosts:\n    ${[...new Set(offHost)].join('\n    ')}`);
  const verdict = failures.length ? `FAIL (${failures.length} failed)` : 'PASS';
  console.log(`browser-test: ${verdict} in ${seconds()} s`);
  process.exitCode = failures.length ? 1 : 0;
}
setTimeout(() => { fail(`time limit of ${limitS} s reached`); summary(); process.exit(1); }, limitS * 1000).unref();

const api = async (path, init) => {
  const res = await fetch(new URL(path, base), init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
};

// A screenshot of the whole page, or of the viewport only when the whole page passes 1 MB.
async function screenshot(page, name) {
  mkdirSync(shots, { recursive: true });
  let png = await page.screenshot({ fullPage: true });
  if (png.length > 1_000_000) png = await page.screenshot();
  writeFileSync(join(shots, name), png);
  ok(`screenshot ${name} (${Math.round(png.length / 1024)} KiB)`);
}

// Every request from the context's pages: the showcase's go through, anything else is aborted
// and noted.
async function guard(context) {
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.origin === base.origin) return route.continue();
    offHost.push(`${route.request().method()} ${url.href}`);
    return route.abort('blockedbyclient');
  });
  // The pages' Content-Security-Policy stops some loads (images, fonts, styles) before any
  // request exists, so the route never sees them: count those attempts too.
  await context.exposeBinding('__cspViolation', (_, what) => offHost.push(`(stopped by the page's CSP) ${what}`));
  await context.addInitScript(() => document.addEventListener('securitypolicyviolation',
    (e) => window.__cspViolation(`${e.violatedDirective} ${e.blockedURI} (${document.location.pathname})`)));
}

async function newPage(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => fail(`uncaught error in ${page.url()}: ${err.message}`));
  page.on('console', (msg) => msg.type() === 'error' && console.log(`  console error: ${msg.text()}`));
  return page;
}

// /docs, loaded with at least one operation shown.
async function openDocs(page) {
  await page.goto(new URL('/docs', base).href);
  await page.locator('.swagger-ui .info .title').waitFor();
  await page.locator('.opblock').first().waitFor();
}

// The operation's block in Swagger UI.
const opBlock = (page, method, path) => page.locator(`.opblock.opblock-${method}`)
  .filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) });

// Expands the operation (unless it is open), opens "Try it out" (unless it is open), clicks
// "Execute" and waits for the live response. Returns the request the page sent (as the page's
// request event saw it) with all its headers, the showcase's response, and the status and body
// Swagger UI shows. Call once per operation and page: an older live response would be read.
async function execute(page, method, path) {
  const block = opBlock(page, method, path);
  if (!await block.locator('.opblock-body').count()) await block.locator('.opblock-summary').first().click();
  const tryOut = block.locator('button.try-out__btn');
  await tryOut.waitFor();
  // With Swagger UI's tryItOutEnabled the form starts open and the button reads "Cancel".
  if ((await tryOut.textContent()).trim() === 'Try it out') await tryOut.click();
  const ours = (r) => new URL(r.url()).origin === base.origin && new URL(r.url()).pathname === path
    && r.method() === method.toUpperCase();
  const requested = page.waitForEvent('request', ours);
  const answered = page.waitForResponse((r) => ours(r.request()));
  await block.locator('button.execute').click();
  const request = await requested;
  const headers = await request.allHeaders();
  const res = await answered;
  const live = block.locator('.live-responses-table');
  await live.locator('tbody .response-col_status').first().waitFor();
  const status = (await live.locator('tbody .response-col_status').first().textContent()).trim();
  const body = await live.locator('.response-col_description pre').first().textContent();
  return { block, request, headers, res, status, body };
}

// Logs in with the "Authorize" dialog's OAuth2 password form, ticking every scope offered, and
// closes the dialog. Returns the token POST /token issued, or undefined.
async function authorize(page, user) {
  const open = page.locator('.auth-wrapper button.authorize');
  await open.click();
  const modal = page.locator('.dialog-ux .modal-ux');
  await modal.waitFor();
  // The OAuth2 scheme's form (the dialog also lists the session cookie and API token schemes).
  const dialog = modal.locator('.auth-container').filter({ hasText: 'OAuth2PasswordBearer' });
  await dialog.locator('#oauth_username').fill(user.username);
  await dialog.locator('#oauth_password').fill(user.password);
  const scopes = dialog.locator('.scopes input[type=checkbox]');
  const offered = await scopes.evaluateAll((boxes) => boxes.map((b) => b.dataset.value));
  // The checkbox itself is styled away; its label is what a user clicks.
  for (const scope of offered) {
    const box = dialog.locator(`.scopes input[type=checkbox][data-value="${scope}"]`);
    if (!await box.isChecked()) await dialog.locator(`.scopes label[for="${await box.getAttribute('id')}"]`).click();
  }
  const ticked = await scopes.evaluateAll((boxes) => boxes.filter((b) => b.checked).map((b) => b.dataset.value));
  check(ticked.length === offered.length, `the dialog offers the scopes [${offered.join(', ')}]; ticked [${ticked.join(', ')}]`);
  const tokenSent = page.waitForRequest((r) => new URL(r.url()).pathname === '/token' && r.method() === 'POST');
  const tokenAnswered = page.waitForResponse((r) => new URL(r.url()).pathname === '/token'
    && r.request().method() === 'POST');
  await dialog.locator('.auth-btn-wrapper button.authorize').click();
  const form = new URLSearchParams((await tokenSent).postData() ?? '');
  const res = await tokenAnswered;
  const answer = await res.json().catch(() => ({}));
  check(res.status() === 200 && typeof answer.access_token === 'string',
    `Authorize as ${user.username}: POST /token (grant_type=${form.get('grant_type')}, username=`
    + `${form.get('username')}, scope="${form.get('scope')}"; offered: ${offered.join(' ') || 'none'}) `
    + `answered ${res.status()} with ${answer.access_token ? 'an access_token' : JSON.stringify(answer)}`);
  const logout = dialog.locator('.auth-btn-wrapper button', { hasText: 'Logout' });
  const errors = dialog.locator('.errors');
  await Promise.race([logout.waitFor(), errors.first().waitFor()]).catch(() => {});
  const error = (await errors.count()) ? (await errors.first().innerText()).trim() : '';
  check(await logout.isVisible() && !error, `the dialog reports ${user.username} authorized ("Logout" shown`
    + `${error ? `; error: ${error}` : ''})`);
  await dialog.locator('.auth-btn-wrapper button.btn-done').click();
  await modal.waitFor({ state: 'detached' });
  check(await open.evaluate((b) => b.classList.contains('locked')), 'the "Authorize" button now shows a locked padlock');
  return answer.access_token;
}

// The Authorization header a request carried, described for a check.
const bearerOf = (headers) => headers.authorization?.match(/^Bearer (\S+)$/)?.[1];
const describeAuth = (headers) => (headers.authorization
  ? `Authorization: ${headers.authorization.replace(/^(\S+ .{12}).*$/, '$1...')}` : 'no Authorization header');

async function run(context) {
  // The spec's operations, and an item so that GET /items has something to show.
  const spec = await api('/openapi.json');
  const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const ops = Object.entries(spec.paths ?? {}).flatMap(([path, item]) =>
    methods.filter((m) => item[m]).map((m) => ({ method: m, path, summary: item[m].summary })));
  const key = (o) => `${o.method.toUpperCase()} ${o.path}`;
  await api('/items', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: itemName, price: 9.5, tags: ['browser'] }),
  });
  console.log(`spec: ${ops.length} operations; created the item "${itemName}"`);

  await guard(context);
  const page = await newPage(context);

  // 1. Swagger UI lists every operation of the spec, and no error.
  console.log(`/docs (${seconds()} s)`);
  await openDocs(page);
  const shown = await page.locator('.opblock').evaluateAll((blocks) => blocks.map((b) => ({
    method: b.querySelector('.opblock-summary-method')?.textContent.trim().toLowerCase() ?? '?',
    path: b.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '?',
  })));
  const shownKeys = new Set(shown.map(key));
  const missing = ops.filter((o) => !shownKeys.has(key(o))).map(key);
  check(missing.length === 0, `Swagger UI shows all ${ops.length} operations as .opblock`
    + (missing.length ? ` (missing: ${missing.join(', ')})` : ''));
  check(shown.length === ops.length, `and no others (${shown.length} .opblock on the page)`);
  check(await page.locator('.swagger-ui .errors-wrapper').count() === 0, 'Swagger UI reports no errors');
  await screenshot(page, 'docs.png');

  // 2. GET /items: Try it out, Execute; a request reaches the showcase and the live response
  // shown is a 200 that lists the item.
  {
    const { res, status, body } = await execute(page, 'get', '/items');
    const sent = new URL(res.url());
    check(res.status() === 200, `Execute: GET ${sent.pathname}${sent.search} reached the showcase, which answered ${res.status()}`);
    check(status === '200', `the live response shows status 200 (shows "${status}")`);
    check(body.includes(itemName), `the live response body shows the item "${itemName}"`);
  }
  await screenshot(page, 'docs-try-it-out.png');
  await opBlock(page, 'get', '/items').locator('.opblock-summary').first().click(); // collapse it again

  // 3. Log in as alice with the "Authorize" dialog; GET /users/me and GET /stats then carry her
  // token and answer 200.
  console.log(`/docs, authorized as ${alice.username} (${seconds()} s)`);
  const token = await authorize(page, alice);
  {
    const { headers, res, status, body, block } = await execute(page, 'get', '/users/me');
    check(bearerOf(headers) === token && token !== undefined,
      `Execute: GET /users/me carried the issued token (${describeAuth(headers)})`);
    check(res.status() === 200 && status === '200', `GET /users/me answered ${res.status()}, the live response shows "${status}"`);
    check(body.includes(`"username": "${alice.username}"`), `the live response body shows "username": "${alice.username}" (${body.replace(/\s+/g, ' ')})`);
    await block.locator('.live-responses-table').scrollIntoViewIfNeeded();
    await screenshot(page, 'docs-authorized.png');
  }
  {
    const { headers, res, status, body } = await execute(page, 'get', '/stats');
    check(bearerOf(headers) === token && token !== undefined,
      `Execute: GET /stats carried the issued token (${describeAuth(headers)})`);
    check(res.status() === 200 && status === '200' && body.includes('"items"'),
      `GET /stats (needs admin) answered ${res.status()}, the live response shows "${status}" (${body.replace(/\s+/g, ' ')})`);
  }
  // persistAuthorization: a reload keeps the login.
  await openDocs(page);
  check(await page.locator('.auth-wrapper button.authorize').evaluate((b) => b.classList.contains('locked')),
    'after a reload of /docs the login is kept (persistAuthorization)');

  // 4. ReDoc shows every operation's summary.
  console.log(`/redoc (${seconds()} s)`);
  await page.goto(new URL('/redoc', base).href);
  await page.locator('.api-content h2').first().waitFor();
  const text = await page.locator('.api-content').innerText();
  const summaries = ops.filter((o) => o.summary);
  const absent = summaries.filter((o) => !text.includes(o.summary)).map((o) => `${key(o)} "${o.summary}"`);
  check(absent.length === 0, `ReDoc shows the summaries of ${summaries.length} operations`
    + (absent.length ? ` (missing: ${absent.join(', ')})` : ''));
  check(summaries.length === ops.length, `every operation has a summary in the spec (${summaries.length} of ${ops.length})`);
  await screenshot(page, 'redoc.png');
}

// In a browser of its own (so alice's persisted login is not there): GET /users/me without a
// login is refused with 401; logged in as bob, who lacks admin, GET /stats is refused with 403.
async function runBob(context) {
  await guard(context);
  const page = await newPage(context);
  console.log(`/docs in a second browser, as nobody, then as ${bob.username} (${seconds()} s)`);
  await openDocs(page);
  check(await page.locator('.auth-wrapper button.authorize').evaluate((b) => b.classList.contains('unlocked')),
    'a fresh browser starts logged out');
  {
    const { headers, res, status } = await execute(page, 'get', '/users/me');
    check(!headers.authorization && res.status() === 401 && status === '401',
      `logged out, GET /users/me (${describeAuth(headers)}) answered ${res.status()}, the live response shows "${status}"`);
  }
  const token = await authorize(page, bob);
  {
    const { headers, res, status, body } = await execute(page, 'get', '/stats');
    check(bearerOf(headers) === token && token !== undefined,
      `Execute: GET /stats carried ${bob.username}'s token (${describeAuth(headers)})`);
    check(res.status() === 403 && status === '403' && body.includes('Not enough permissions'),
      `as ${bob.username}, GET /stats answered ${res.status()}, the live response shows "${status}" (${body.replace(/\s+/g, ' ')})`);
  }
  await screenshot(page, 'docs-forbidden.png');
}

// A headless Chromium with a fresh profile of its own (removed at exit).
const profiles = [];
process.on('exit', () => profiles.forEach((p) => rmSync(p, { recursive: true, force: true })));
function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'brisk-chromium-'));
  profiles.push(profile);
  return chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

let context;
try {
  context = await launch();
  await run(context);
  await context.close();
  context = await launch();
  await runBob(context);
} catch (err) {
  fail(err.stack ?? String(err));
} finally {
  await context?.close().catch(() => {});
  summary();
}
