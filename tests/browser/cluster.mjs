// A real shoal pool on 127.0.0.1 for the browser tests: one scheduler (ephemeral port, temp
// state, the build's dashboard) and CPU workers, with accounts and tokens made through the API.
// stop() kills every process it started (SIGTERM, then SIGKILL), also on failure.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs = 20000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export class Cluster {
  // schedulerFlags: more flags for shoal-scheduler (e.g. the dashboard bench's
  // --max-active-jobs 0).
  constructor({ scheduler, worker, trainer, uiDir, schedulerFlags = [] }) {
    this.bins = { scheduler, worker, trainer };
    this.schedulerFlags = schedulerFlags;
    this.uiDir = uiDir;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-browser-'));
    this.procs = [];
    this.url = '';
    this.adminToken = randomBytes(32).toString('hex');
  }

  spawnLogged(name, argv) {
    const log = fs.openSync(path.join(this.dir, `${name}.log`), 'a');
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', log, log] });
    p.name = name;
    p.exited = new Promise((resolve) => p.on('exit', resolve));
    this.procs.push(p);
    return p;
  }

  async start(workers = ['w1', 'w2']) {
    const tokenFile = path.join(this.dir, 'admin-token');
    fs.writeFileSync(tokenFile, `${this.adminToken}\n`, { mode: 0o600 });
    const state = path.join(this.dir, 'state');
    this.spawnLogged('scheduler', [this.bins.scheduler, '--port', '0', '--state-dir', state,
      '--admin-token-file', tokenFile, '--ui-dir', this.uiDir, '--worker-timeout', '5s',
      '--heartbeat-wait', '1s', '--schedule-interval', '200ms',
      // A ledger snapshot a second, so that the board's chart has points to draw.
      '--ledger-history-interval', '1s', ...this.schedulerFlags]);
    const addrFile = path.join(state, 'scheduler.addr');
    this.url = (await waitFor('scheduler.addr', () => fs.existsSync(addrFile) && fs.readFileSync(addrFile, 'utf8').trim())).trim();
    await waitFor('/readyz', async () => (await fetch(`${this.url}/readyz`).catch(() => null))?.ok);
    for (const a of ['lab', 'other']) await this.call(this.adminToken, 'POST', '/v1/accounts', { name: a });
    const contributor = await this.token('lab', 'contributor');
    this.userToken = await this.token('lab', 'user');
    this.otherToken = await this.token('other', 'user');
    const cfile = path.join(this.dir, 'contributor-token');
    fs.writeFileSync(cfile, `${contributor}\n`, { mode: 0o600 });
    for (const w of workers) {
      this.spawnLogged(w, [this.bins.worker, '--scheduler', this.url, '--token-file', cfile, '--name', w,
        '--no-gpu', '--threads-per-rank', '1', '--trainer', this.bins.trainer,
        '--work-dir', path.join(this.dir, w)]);
    }
    await waitFor('workers alive', async () => {
      const r = await this.call(this.adminToken, 'GET', '/v1/workers');
      return r.workers.filter((w) => w.state === 'alive').length === workers.length;
    });
  }

  async call(token, method, route, body, raw = false) {
    const r = await fetch(`${this.url}${route}`, {
      method, headers: { Authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
    });
    const text = await r.text();
    if (raw) return { status: r.status, text };
    if (!r.ok) throw new Error(`${method} ${route}: HTTP ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async token(account, role) {
    return (await this.call(this.adminToken, 'POST', '/v1/tokens', { account, role, label: 'browser-test' })).token;
  }

  async submit(token, yaml) {
    return (await this.call(token, 'POST', '/v1/jobs', yaml)).id;
  }

  waitFor(what, fn, timeoutMs, everyMs) { return waitFor(what, fn, timeoutMs, everyMs); }

  // Workers first (they take their trainers with them), then the scheduler.
  async stop() {
    const order = [...this.procs].sort((a, b) => (a.name === 'scheduler') - (b.name === 'scheduler'));
    for (const p of order) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      p.kill('SIGTERM');
      const done = await Promise.race([p.exited.then(() => true), sleep(10000).then(() => false)]);
      if (!done) p.kill('SIGKILL');
    }
  }

  logs() {
    return fs.readdirSync(this.dir).filter((f) => f.endsWith('.log'))
      .map((f) => `---- ${f} (last 30 lines)\n${fs.readFileSync(path.join(this.dir, f), 'utf8').split('\n').slice(-31).join('\n')}`)
      .join('\n');
  }

  remove() { fs.rmSync(this.dir, { recursive: true, force: true }); }
}
