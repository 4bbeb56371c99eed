// The dashboard in headless Chromium against a real pool: a scheduler serving the build's ui/
// and two CPU workers on 127.0.0.1, a real training job. docs/dashboard.md, "Browser tests".
//
//   node tests/browser/dashboard.test.mjs --scheduler BIN --worker BIN --trainer BIN \
//        --ui-dir BUILD/scheduler/ui --artifacts BUILD/test-artifacts/dashboard
//
// Exit 0: passed; 1: failed; 77 (CTest's SKIP_RETURN_CODE): Chromium or this folder's
// node_modules (npm ci in tests/browser) is missing. Screenshots of every view go to --artifacts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SKIP = 77;
const here = path.dirname(fileURLToPath(import.meta.url));
const started = Date.now();
const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);

const { values: args } = parseArgs({
  options: {
    scheduler: { type: 'string' }, worker: { type: 'string' }, trainer: { type: 'string' },
    'ui-dir': { type: 'string' }, artifacts: { type: 'string' }, chromium: { type: 'string' },
  },
});
for (const k of ['scheduler', 'worker', 'trainer', 'ui-dir', 'artifacts']) {
  if (!args[k]) { console.error(`missing --${k}`); process.exit(2); }
}

function findChromium() {
  const candidates = [args.chromium, process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((c) => c && fs.existsSync(c));
}
const chromium = findChromium();
if (!chromium) {
  console.log('SKIP: no Chromium (Debian package chromium; scripts/install-deps.sh installs it)');
  process.exit(SKIP);
}
let puppeteer;
try {
  puppeteer = (await import('puppeteer-core')).default;
} catch (e) {
  console.log(`SKIP: puppeteer-core is not installed in ${here}/node_modules (npm ci there; scripts/install-deps.sh does it): ${e.message}`);
  process.exit(SKIP);
}
if (!fs.existsSync(path.join(args['ui-dir'], 'vendor/htm/standalone.module.js'))) {
  console.error(`FAIL: ${args['ui-dir']} has no vendor files: web/node_modules was missing when it was built (npm ci in web/)`);
  process.exit(1);
}
const { Cluster } = await import('./cluster.mjs');

const JOB = (name, { ranks = 2, train = '/usr/share/datasets/fashion-mnist/train', epochs = 200 } = {}) => `
apiVersion: shoal/v1
kind: TrainingJob
metadata: {name: ${JSON.stringify(name)}}
spec:
  workers: {min: ${ranks}, max: ${ranks}}
  resources: {backend: cpu, gpusPerWorker: 0}
  model: {layers: [784, 256, 256, 10], activation: relu, loss: cross_entropy}
  data: {train: ${JSON.stringify(train)}, test: /usr/share/datasets/fashion-mnist/t10k, format: idx}
  optimizer: {kind: sgd, lr: 0.05, momentum: 0.9}
  training: {epochs: ${epochs}, batchSize: 64, seed: 1}
  checkpoint: {everySeconds: 0, keep: 1}
  limits: {maxRuntime: 5m, maxRetries: 0}
`;
const XSS = '<script>alert(1)</script>';

function assert(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

const cluster = new Cluster({
  scheduler: path.resolve(args.scheduler), worker: path.resolve(args.worker),
  trainer: path.resolve(args.trainer), uiDir: path.resolve(args['ui-dir']),
});
let browser = null;
const problems = [];  // console errors, page errors, dialogs: each fails the test
let allowHttpErrors = null;  // a RegExp of expected "Failed to load resource" statuses, per step
fs.mkdirSync(args.artifacts, { recursive: true });
const shot = async (page, name) => {
  const file = path.join(args.artifacts, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${file}`);
};

function watch(page, who) {
  page.on('dialog', async (d) => { problems.push(`${who}: a ${d.type()} dialog fired: ${d.message()}`); await d.dismiss(); });
  page.on('pageerror', (e) => problems.push(`${who}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (allowHttpErrors && /Failed to load resource/.test(text) && allowHttpErrors.test(text)) return;
    problems.push(`${who}: console error: ${text}`);
  });
}

async function newPage(context, who) {
  const page = await context.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.setDefaultTimeout(20000);
  watch(page, who);
  return page;
}

// Logs in through the form; the session probe before it answers 401 (expected).
async function loginAs(page, token, account) {
  allowHttpErrors = /status of 401/;
  await page.goto(`${cluster.url}/ui/#/queue`);
  await page.waitForSelector('#token');
  await page.type('#token', token);
  await page.click('#login');
  await page.waitForFunction((a) => document.querySelector('#who')?.textContent.includes(a), {}, account);
  allowHttpErrors = null;
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
const chartPoints = (page) => page.$eval('[data-chart=loss]', (e) => Number(e.dataset.points)).catch(() => 0);

async function main() {
  await cluster.start(['w1', 'w2']);
  log(`scheduler at ${cluster.url}, 2 workers alive`);

  // The hostile job first (one rank): the worker refuses the data path and its message, which
  // quotes the path, goes into the job's log.
  const xssId = await cluster.submit(cluster.userToken, JOB('xss-job', { ranks: 1, train: `/usr/share/datasets/${XSS}` }));
  await cluster.waitFor('xss-job to fail', async () =>
    (await cluster.call(cluster.userToken, 'GET', `/v1/jobs/${xssId}`)).state === 'FAILED', 30000, 200);
  const xssLogs = await cluster.call(cluster.userToken, 'GET', `/v1/jobs/${xssId}/logs?tail=50`);
  assert(xssLogs.lines.some((l) => l.line.includes(XSS)), `the worker's refusal quotes ${XSS} in the job log`);
  log('xss-job failed and its log quotes the script tag');

  const jobId = await cluster.submit(cluster.userToken, JOB('watch-mlp'));
  await cluster.waitFor('watch-mlp to run', async () =>
    (await cluster.call(cluster.userToken, 'GET', `/v1/jobs/${jobId}`)).state === 'RUNNING', 30000, 200);
  log(`job ${jobId} running on 2 ranks`);
  // A job no two workers can hold waits with reason Constraint (and a message with the numbers).
  const waitingId = await cluster.submit(cluster.userToken, JOB('too-big', { ranks: 3 }));

  browser = await puppeteer.launch({
    executablePath: chromium, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--lang=en-US'],
  });
  const owner = await newPage(browser.defaultBrowserContext(), 'owner');
  await owner.goto(`${cluster.url}/ui/`);
  allowHttpErrors = /status of 401/;
  await owner.waitForSelector('#token');
  assert(await owner.$eval('#token', (e) => e.type) === 'password', 'the token input is a password field');
  await shot(owner, 'login');
  await loginAs(owner, cluster.userToken, 'lab');
  assert((await text(owner, '#who')).includes('user'), 'the header shows the role');

  // Queue: the running job is listed (pending + running by default).
  await owner.waitForSelector(`#queue-table tr[data-job="${jobId}"]`);
  assert((await text(owner, `#queue-table tr[data-job="${jobId}"]`)).includes('watch-mlp'), 'the queue lists watch-mlp');
  await owner.waitForSelector(`#queue-table tr[data-job="${waitingId}"]`);
  const waitingRow = await text(owner, `#queue-table tr[data-job="${waitingId}"]`);
  assert(waitingRow.includes('Constraint') && waitingRow.includes('needs 3 ranks'), `the queue says why too-big waits: ${waitingRow}`);
  await shot(owner, 'queue');
  // The name filter (q) and the state filter, through the form.
  await owner.type('#f-q', 'watch');
  await owner.select('#f-state', 'ALL');
  await owner.click('#f-apply');
  await owner.waitForFunction((w) => !document.querySelector(`#queue-table tr[data-job="${w}"]`)
    && document.querySelectorAll('#queue-table tbody tr').length === 1, {}, waitingId);
  log('queue lists the job, says why the other waits, filters by name');

  // Job page: the loss curve gains points while it trains.
  await owner.goto(`${cluster.url}/ui/#/jobs/${jobId}`);
  await owner.waitForFunction(() => Number(document.querySelector('[data-chart=loss]')?.dataset.points) > 0);
  const before = await chartPoints(owner);
  await owner.waitForFunction((n) => Number(document.querySelector('[data-chart=loss]')?.dataset.points) > n, { timeout: 20000 }, before);
  const after = await chartPoints(owner);
  assert(await owner.$eval('[data-chart=loss] canvas', (c) => c.width > 0), 'uPlot drew the loss chart');
  log(`loss curve: ${before} -> ${after} points`);

  // Logs follow: a line newer than the ones shown appears without reloading.
  await owner.waitForSelector('#log .log-line');
  const lastSeq = await owner.$$eval('#log .log-line', (ls) => Math.max(...ls.map((l) => Number(l.dataset.seq))));
  await owner.waitForFunction((s) => [...document.querySelectorAll('#log .log-line')].some((l) => Number(l.dataset.seq) > s), { timeout: 20000 }, lastSeq);
  log(`logs followed past seq ${lastSeq}`);
  // The per-rank filter: rank 1 shows only rank 1's lines.
  await owner.select('#log-rank', '1');
  await owner.waitForFunction(() => {
    const ls = [...document.querySelectorAll('#log .log-line')];
    return ls.length > 0 && ls.every((l) => l.textContent.startsWith('[1]'));
  });
  await owner.select('#log-rank', '');
  assert(await owner.$('#cancel') !== null, 'the owner sees Cancel');
  await shot(owner, 'job');

  // Language: Chinese and back; <html lang> follows, and the choice is remembered.
  await owner.select('#lang', 'zh');
  await owner.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  const zh = JSON.parse(fs.readFileSync(path.join(args['ui-dir'], 'i18n/zh.json'), 'utf8'));
  await owner.waitForFunction((s) => document.querySelector('#nav-queue')?.textContent === s, {}, zh['nav.queue']);
  await owner.waitForFunction((s) => document.querySelector('h3')?.textContent.trim() === s, {}, zh['job.curves']);
  await owner.waitForSelector('[data-chart=loss] canvas');
  await shot(owner, 'job-zh');
  await owner.reload();
  await owner.waitForFunction((s) => document.querySelector('#nav-queue')?.textContent === s, {}, zh['nav.queue']);
  await owner.select('#lang', 'en');
  await owner.waitForFunction(() => document.documentElement.lang === 'en' && document.querySelector('#nav-queue')?.textContent === 'Queue');
  log('language switched to Chinese and back');

  // The hostile job: the log line, the reason and the spec show the tag as text; nothing runs.
  await owner.goto(`${cluster.url}/ui/#/jobs/${xssId}`);
  await owner.waitForFunction((x) => [...document.querySelectorAll('#log .log-line')].some((l) => l.textContent.includes(x)), {}, XSS);
  assert((await text(owner, '#spec')).includes(XSS), 'the spec shows the path as text');
  assert(await owner.$$eval('#app script, #app img, #app iframe', (e) => e.length) === 0, 'no element was made from job text');
  await shot(owner, 'job-xss');
  log('the script tag shows as text');

  for (const [view, sel] of [['workers', '#workers-table tr[data-worker]'], ['board', '#board-table tr[data-account]'], ['registry', 'h3']]) {
    await owner.goto(`${cluster.url}/ui/#/${view}`);
    await owner.waitForSelector(sel);
    // The board's chart of total contributions over time (uPlot draws on a canvas).
    if (view === 'board') await owner.waitForSelector('[data-chart=board-history] .uplot canvas');
    await shot(owner, view);
  }
  assert(await owner.$$eval('#workers-table tr[data-worker]', (r) => r.length).catch(() => 0) === 0, 'left the workers view');

  // Another account's user: the job is not listed, its page says not found, and the API
  // refuses a cancel through that session (404: it may not see the job).
  const otherContext = await browser.createBrowserContext();
  const other = await newPage(otherContext, 'other');
  await loginAs(other, cluster.otherToken, 'other');
  await other.goto(`${cluster.url}/ui/#/queue?state=ALL`);
  await other.waitForSelector('#queue-total');
  assert(await other.$$eval('#queue-table tbody tr', (r) => r.length) === 0, "the other user's queue is empty");
  allowHttpErrors = /status of 40[34]/;  // 404: not its job; 403: the request without CSRF
  await other.goto(`${cluster.url}/ui/#/jobs/${jobId}`);
  await other.waitForSelector('#job-error');
  assert(await other.$('#cancel') === null, 'no Cancel for another account');
  const refused = await other.evaluate(async (id) => {
    const s = await (await fetch('/ui/api/session')).json();
    const r = await fetch(`/v1/jobs/${id}`, { method: 'DELETE', headers: { 'X-CSRF-Token': s.csrf } });
    const noCsrf = await fetch(`/v1/jobs/${id}`, { method: 'DELETE' });
    return [r.status, noCsrf.status];
  }, jobId);
  await shot(other, 'job-other-user');
  allowHttpErrors = null;
  assert(refused[0] === 404, `the other user's cancel is refused with 404 (got ${refused[0]})`);
  assert(refused[1] === 403, `a cancel without the CSRF token is refused with 403 (got ${refused[1]})`);
  assert((await cluster.call(cluster.adminToken, 'GET', `/v1/jobs/${jobId}`)).state === 'RUNNING', 'still running after the refused cancel');
  log(`other user: not listed, page not found, cancel refused (${refused.join(', ')})`);
  await otherContext.close();

  // The owner cancels through the page.
  await owner.goto(`${cluster.url}/ui/#/jobs/${jobId}`);
  await owner.waitForSelector('#cancel');
  await owner.click('#cancel');
  await owner.waitForSelector('#cancel-confirm');
  await owner.click('#cancel-confirm');
  await owner.waitForFunction(() => document.querySelector('#job-state')?.textContent === 'Cancelled');
  assert((await cluster.call(cluster.adminToken, 'GET', `/v1/jobs/${jobId}`)).state === 'CANCELLED', 'the API reports CANCELLED');
  assert(await owner.$('#cancel') === null, 'no Cancel on a finished job');
  log('the owner cancelled the job from the page');

  await owner.click('#logout');
  await owner.waitForSelector('#token');
  allowHttpErrors = /status of 401/;  // the probe below
  const status = await owner.evaluate(async () => (await fetch('/v1/whoami')).status).catch(() => 0);
  assert(status === 401, `logged out: /v1/whoami answers 401 (got ${status})`);
  log('logged out');
  await new Promise((r) => setTimeout(r, 300));
  if (problems.length) throw new Error(`the browser reported:\n  ${problems.join('\n  ')}`);
}

let code = 0;
try {
  await main();
  log('PASS');
} catch (e) {
  code = 1;
  console.error(`FAIL: ${e.stack || e}`);
  if (problems.length) console.error(`browser problems:\n  ${problems.join('\n  ')}`);
  console.error(cluster.logs());
} finally {
  if (browser) await browser.close().catch(() => {});
  await cluster.stop();
  if (code === 0) cluster.remove();
  else console.error(`kept ${cluster.dir}`);
}
process.exit(code);
