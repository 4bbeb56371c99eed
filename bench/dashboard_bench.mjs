// bench/run.py --target dashboard: the dashboard's queue page with N jobs in the scheduler (default
// 100,000), in headless Chromium (Debian's chromium, driven by tests/browser's puppeteer-core).
// Submits N tiny jobs through the API (64 requests in flight; no workers, so they stay PENDING),
// then measures, per repetition: the first paint of the queue page (navigation start to the
// first row drawn, and Chromium's first-contentful-paint), a filter change (the Filter click to
// the filtered rows drawn), and the bytes of the queue's API page. Prints one JSON object.
//
//   node bench/dashboard_bench.mjs --build DIR [--jobs 100000] [--repeat 5] [--chromium PATH]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'browser', 'package.json'));
const puppeteer = require('puppeteer-core');
const { Cluster } = await import(path.join(here, '..', 'tests', 'browser', 'cluster.mjs'));

const args = { jobs: '100000', repeat: '5', chromium: '/usr/bin/chromium' };
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!args.build) throw new Error('--build DIR is required');
const build = path.resolve(args.build);
const jobs = Number(args.jobs), repeat = Number(args.repeat);
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

const cluster = new Cluster({
  scheduler: path.join(build, 'scheduler', 'shoal-scheduler'),
  worker: path.join(build, 'worker', 'shoal-worker'),
  trainer: path.join(build, 'worker', 'shoal-train'),
  uiDir: path.join(build, 'scheduler', 'ui'),
  // The production scheduling interval (1 s; the browser test's cluster uses 200 ms): a cycle over
  // 100k pending jobs holds the event loop for a while, and how often it runs shows in the page.
  schedulerFlags: ['--max-active-jobs', '0', '--schedule-interval', process.env.SHOAL_BENCH_INTERVAL || '1s'],
});
let browser = null;
try {
  await cluster.start([]);
  const spec = (i) => `apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: ${i % 1000 === 0 ? 'needle' : 'job'}-${i}}\n` +
    'spec:\n  resources: {backend: cpu, gpusPerWorker: 0}\n  model: {layers: [784, 10]}\n' +
    '  data: {train: /usr/share/datasets/fashion-mnist/train}\n';
  const t0 = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < jobs) await cluster.submit(cluster.userToken, spec(next++));
  }));
  const submitSec = (Date.now() - t0) / 1000;
  const page1 = await cluster.call(cluster.userToken, 'GET', '/v1/jobs?limit=50&state=PENDING,RUNNING,RESTARTING', undefined, true);

  browser = await puppeteer.launch({ executablePath: args.chromium, headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.setDefaultTimeout(60000);
  await page.goto(`${cluster.url}/ui/#/queue`);
  await page.waitForSelector('#token');
  await page.type('#token', cluster.userToken);
  await page.click('#login');
  await page.waitForSelector('#queue-table tbody tr');
  // The moment the first row is in the DOM, taken in the page itself (a puppeteer round trip
  // after the fact would add its own latency).
  await page.evaluateOnNewDocument(() => {
    new MutationObserver((_, obs) => {
      if (document.querySelector('#queue-table tbody tr')) {
        window.__firstRowMs = performance.now();
        obs.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  const firstPaint = [], fcp = [], filter = [];
  for (let r = 0; r < repeat; ++r) {
    // A fresh load of the page (the session cookie is kept), timed from navigation start.
    await page.goto('about:blank');
    await page.goto(`${cluster.url}/ui/#/queue`);
    await page.waitForSelector('#queue-table tbody tr');
    firstPaint.push(await page.evaluate(() => window.__firstRowMs));
    if (process.env.SHOAL_BENCH_TRACE) {
      console.error(JSON.stringify(await page.evaluate(() => performance.getEntriesByType('resource')
        .map((e) => [e.name.replace(/^https?:\/\/[^/]+/, ''), Math.round(e.startTime), Math.round(e.responseEnd)]))));
    }
    fcp.push(await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1));
    // The name filter: from the click to every row being a needle.
    await page.$eval('#f-q', (e) => { e.value = ''; });
    await page.type('#f-q', 'needle');
    // Timed in the page: the click handler's start to the mutation that shows only needles.
    await page.evaluate(() => {
      window.__filterMs = null;
      const start = performance.now();
      const done = () => {
        const rows = document.querySelectorAll('#queue-table tbody tr');
        return rows.length > 0 && [...rows].every((row) => row.textContent.includes('needle'));
      };
      new MutationObserver((_, obs) => {
        if (done()) {
          window.__filterMs = performance.now() - start;
          obs.disconnect();
        }
      }).observe(document.getElementById('app'), { childList: true, subtree: true, characterData: true });
      document.getElementById('f-apply').click();
    });
    await page.waitForFunction(() => window.__filterMs !== null);
    filter.push(await page.evaluate(() => window.__filterMs));
  }
  console.log(JSON.stringify({
    jobs, submitSec, submitPerSec: jobs / submitSec, queuePageBytes: page1.text.length,
    firstPaintMs: firstPaint, firstContentfulPaintMs: fcp, filterMs: filter,
    medianFirstPaintMs: median(firstPaint), medianFcpMs: median(fcp), medianFilterMs: median(filter),
    chromium: await browser.version(),
  }));
} finally {
  if (browser) await browser.close();
  await cluster.stop();
  cluster.remove();
}
