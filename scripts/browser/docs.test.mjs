// Drives Debian's Chromium over the showcase's /docs (Swagger UI) and /redoc (ReDoc) as a user
// would, with every request to another host blocked and counted as a failure.
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
const shots = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
const limitS = Number(process.env.TEST_TIMEOUT_S ?? 120);
const itemName = 'Browser test widget'; // the showcase is fresh, so this is item 1
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

  // Every request from any page: the showcase's go through, anything else is aborted and noted.
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
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => fail(`uncaught error in ${page.url()}: ${err.message}`));
  page.on('console', (msg) => msg.type() === 'error' && console.log(`  console error: ${msg.text()}`));

  // 1. Swagger UI lists every operation of the spec, and no error.
  console.log(`/docs (${seconds()} s)`);
  await page.goto(new URL('/docs', base).href);
  await page.locator('.swagger-ui .info .title').waitFor();
  await page.locator('.opblock').first().waitFor();
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
  const block = page.locator('.opblock.opblock-get')
    .filter({ has: page.locator('.opblock-summary-path[data-path="/items"]') });
  await block.locator('.opblock-summary').first().click();
  const tryOut = block.locator('button.try-out__btn');
  await tryOut.waitFor();
  // With Swagger UI's tryItOutEnabled the form starts open and the button reads "Cancel".
  if ((await tryOut.textContent()).trim() === 'Try it out') await tryOut.click();
  const reached = page.waitForResponse((r) => new URL(r.url()).origin === base.origin
    && new URL(r.url()).pathname === '/items' && r.request().method() === 'GET');
  await block.locator('button.execute').click();
  const res = await reached;
  const sent = new URL(res.url());
  check(res.status() === 200, `Execute: GET ${sent.pathname}${sent.search} reached the showcase, which answered ${res.status()}`);
  const live = block.locator('.live-responses-table');
  await live.locator('tbody .response-col_status').first().waitFor();
  const status = (await live.locator('tbody .response-col_status').first().textContent()).trim();
  check(status === '200', `the live response shows status 200 (shows "${status}")`);
  const body = await live.locator('.response-col_description pre').first().textContent();
  check(body.includes(itemName), `the live response body shows the item "${itemName}"`);
  await screenshot(page, 'docs-try-it-out.png');

  // 3. ReDoc shows every operation's summary.
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

const profile = mkdtempSync(join(tmpdir(), 'brisk-chromium-'));
process.on('exit', () => rmSync(profile, { recursive: true, force: true }));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  await run(context);
} catch (err) {
  fail(err.stack ?? String(err));
} finally {
  await context?.close().catch(() => {});
  summary();
}
