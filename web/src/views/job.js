// One job: state and why, live curves, ranks and where they run, attempts, checkpoints, events,
// logs (tail and follow), the spec, and Cancel for its owner or an admin.
import { html, useEffect, useRef, useState } from '../preact.js';
import { api, query } from '../api.js';
import { t } from '../i18n.js';
import { Chart } from '../chart.js';
import { FINISHED, fmtBytes, fmtNum, fmtTime, stateLabel, usePoll } from '../util.js';
import { Progress, WhyWaiting } from './queue.js';

const MAX_LOG_LINES = 2000;

// Metric points -> the four charts' columns, by ascending step (a restarted attempt resumes
// from a checkpoint, so later points may repeat steps: the newest wins).
function chartData(points) {
  const byStep = new Map();
  for (const p of points) if (typeof p.step === 'number') byStep.set(p.step, p);
  const rows = [...byStep.values()].sort((a, b) => a.step - b.step);
  const col = (f) => rows.map((p) => (typeof f(p) === 'number' && Number.isFinite(f(p)) ? f(p) : null));
  const tokens = rows.some((p) => typeof p.tokensPerSec === 'number');
  return {
    xs: rows.map((p) => p.step),
    loss: col((p) => p.loss), testLoss: col((p) => p.testLoss),
    acc: col((p) => p.trainAccuracy), testAcc: col((p) => p.testAccuracy),
    rate: col((p) => (tokens ? p.tokensPerSec : p.samplesPerSec)), tokens,
    share: col((p) => (p.stepSec > 0 && typeof p.allReduceSec === 'number' ? (100 * p.allReduceSec) / p.stepSec : null)),
  };
}

function Charts({ points }) {
  if (!points.length) return html`<p class="muted" id="no-metrics">${t('job.noMetrics')}</p>`;
  const d = chartData(points);
  return html`<div class="charts">
    <${Chart} name="loss" title=${t('chart.loss')} xs=${d.xs} yLabel=${t('chart.loss')}
      series=${[{ label: t('chart.trainLoss'), values: d.loss }, { label: t('chart.testLoss'), values: d.testLoss, points: true }]} />
    <${Chart} name="accuracy" title=${t('chart.accuracy')} xs=${d.xs} yLabel=${t('chart.accuracy')}
      series=${[{ label: t('chart.trainAccuracy'), values: d.acc }, { label: t('chart.testAccuracy'), values: d.testAcc, points: true }]} />
    <${Chart} name="throughput" title=${d.tokens ? t('chart.tokensPerSec') : t('chart.samplesPerSec')} xs=${d.xs}
      yLabel=${d.tokens ? t('chart.tokensPerSec') : t('chart.samplesPerSec')}
      series=${[{ label: d.tokens ? t('chart.tokensPerSec') : t('chart.samplesPerSec'), values: d.rate }]} />
    <${Chart} name="allreduce" title=${t('chart.allReduceShare')} xs=${d.xs} yLabel="%"
      series=${[{ label: t('chart.allReduceShare'), values: d.share }]} />
  </div>`;
}

function Ranks({ job }) {
  const attempts = job.attemptHistory || [];
  const last = attempts[attempts.length - 1];
  if (!last) return html`<p class="muted">${t('job.noRanks')}</p>`;
  return html`<table class="grid" id="ranks">
    <thead><tr><th>${t('job.rank')}</th><th>${t('job.worker')}</th><th>${t('job.state')}</th><th>${t('job.exitCode')}</th><th>${t('job.message')}</th></tr></thead>
    <tbody>${(last.ranks || []).map((r) => html`<tr>
      <td>${r.rank}</td><td><a href="#/workers">${r.worker}</a></td><td>${r.state}</td>
      <td>${r.exitCode ?? (r.signal ? `SIG${r.signal}` : '—')}</td><td class="text">${r.message || ''}</td></tr>`)}</tbody>
  </table>`;
}

function Attempts({ job }) {
  const attempts = job.attemptHistory || [];
  if (!attempts.length) return html`<p class="muted">${t('job.noAttempts')}</p>`;
  return html`<table class="grid" id="attempts">
    <thead><tr><th>${t('job.attempt')}</th><th>${t('job.state')}</th><th>${t('job.worldSize')}</th><th>${t('job.started')}</th><th>${t('job.ended')}</th><th>${t('job.reason')}</th></tr></thead>
    <tbody>${attempts.map((a) => html`<tr>
      <td>${a.number}</td><td>${a.state}</td><td>${a.worldSize}</td><td>${fmtTime(a.startedMs)}</td>
      <td>${fmtTime(a.endedMs)}</td><td class="text">${a.reason || ''}</td></tr>`)}</tbody>
  </table>`;
}

function Checkpoints({ job }) {
  const cps = job.checkpoints || [];
  if (!cps.length) return html`<p class="muted">${t('job.noCheckpoints')}</p>`;
  return html`<table class="grid" id="checkpoints">
    <thead><tr><th>${t('job.step')}</th><th>${t('job.attempt')}</th><th>${t('job.size')}</th><th>${t('job.created')}</th><th>SHA-256</th><th></th></tr></thead>
    <tbody>${cps.map((c) => html`<tr>
      <td>${c.step}</td><td>${c.attempt}</td><td>${fmtBytes(c.bytes)}</td><td>${fmtTime(c.createdMs)}</td>
      <td class="mono">${(c.sha256 || '').slice(0, 16)}…</td>
      <td><a href=${`/v1/jobs/${job.id}/checkpoints/${c.step}`} download=${`job-${job.id}-step-${c.step}.safetensors`}>${t('job.download')}</a></td></tr>`)}</tbody>
  </table>`;
}

function Events({ job }) {
  const events = job.events || [];
  return html`<table class="grid" id="events">
    <thead><tr><th>${t('job.time')}</th><th>${t('job.event')}</th><th>${t('job.message')}</th></tr></thead>
    <tbody>${events.map((e) => html`<tr><td>${fmtTime(e.timeMs)}</td><td>${e.type}</td><td class="text">${e.message || ''}</td></tr>`)}</tbody>
  </table>
  ${job.eventsDropped ? html`<p class="muted">${t('job.eventsDropped', { n: job.eventsDropped })}</p>` : ''}`;
}

// Logs: the last 200 lines, then (while "follow" is on) long-polls for the next ones.
function Logs({ job }) {
  const [rank, setRank] = useState('');
  const [follow, setFollow] = useState(true);
  const [lines, setLines] = useState([]);
  const [error, setError] = useState('');
  const [done, setDone] = useState(false);
  const pre = useRef(null);
  useEffect(() => {
    const ctl = new AbortController();
    let all = [];
    const add = (page) => {
      all = all.concat(page.lines || []);
      if (all.length > MAX_LOG_LINES) all = all.slice(all.length - MAX_LOG_LINES);
      setLines(all);
      setDone(!!page.done);
    };
    (async () => {
      try {
        let page = await api(`/v1/jobs/${job.id}/logs${query({ tail: 200, rank })}`, { signal: ctl.signal });
        add(page);
        while (follow && !page.done && !ctl.signal.aborted) {
          page = await api(`/v1/jobs/${job.id}/logs${query({ after: page.next, wait: 10000, rank })}`, { signal: ctl.signal });
          add(page);
        }
        setError('');
      } catch (e) {
        if (e.name !== 'AbortError') setError(e.message);
      }
    })();
    return () => ctl.abort();
  }, [job.id, rank, follow]);
  useEffect(() => { if (pre.current && follow) pre.current.scrollTop = pre.current.scrollHeight; }, [lines]);
  const ranks = Array.from({ length: job.worldSize || job.workers?.max || 0 }, (_, i) => i);
  return html`<div class="logs">
    <div class="log-controls">
      <label>${t('logs.rank')}
        <select id="log-rank" value=${rank} onChange=${(e) => setRank(e.target.value)}>
          <option value="">${t('logs.allRanks')}</option>
          ${ranks.map((r) => html`<option value=${String(r)}>${t('logs.rankN', { n: r })}</option>`)}
        </select></label>
      <label><input type="checkbox" id="log-follow" checked=${follow} onChange=${(e) => setFollow(e.target.checked)} /> ${t('logs.follow')}</label>
      <span class="muted" id="log-count">${t('logs.count', { n: lines.length })}${done ? ` · ${t('logs.done')}` : ''}</span>
    </div>
    ${error && html`<p class="error">${error}</p>`}
    <pre id="log" ref=${pre}>${lines.map((l) => html`<div class="log-line" data-seq=${l.seq}><span class="muted">${l.rank < 0 ? '*' : `[${l.rank}]`} </span>${l.line}</div>`)}</pre>
  </div>`;
}

function CancelButton({ job, session, onDone }) {
  const [armed, setArmed] = useState(false);
  const [error, setError] = useState('');
  const mayCancel = session.role === 'admin' || session.account === job.owner;
  if (!mayCancel || FINISHED.has(job.state)) return null;
  const cancel = async () => {
    try {
      await api(`/v1/jobs/${job.id}`, { method: 'DELETE' });
      setError('');
      onDone();
    } catch (e) {
      setError(e.message);
    }
    setArmed(false);
  };
  return html`<span class="cancel">
    ${armed
      ? html`<button id="cancel-confirm" class="danger" onClick=${cancel}>${t('job.cancelConfirm')}</button>
             <button id="cancel-keep" onClick=${() => setArmed(false)}>${t('job.cancelKeep')}</button>`
      : html`<button id="cancel" class="danger" onClick=${() => setArmed(true)}>${t('job.cancel')}</button>`}
    ${error && html`<span class="error">${error}</span>`}
  </span>`;
}

export function JobView({ id, session }) {
  const [job, setJob] = useState(null);
  const [points, setPoints] = useState([]);
  const [error, setError] = useState(null);
  // Polls while the job has not finished; not at all for a job that is not there (or not ours).
  const gone = !job && error?.status === 404;
  const running = !gone && (!job || !FINISHED.has(job.state));
  const refresh = usePoll(async (signal) => {
    try {
      const [j, m] = await Promise.all([
        api(`/v1/jobs/${id}`, { signal }),
        api(`/v1/jobs/${id}/metrics?maxPoints=500`, { signal }),
      ]);
      setJob(j);
      setPoints(m.points || []);
      setError(null);
    } catch (e) {
      if (e.name !== 'AbortError') setError(e);
    }
  }, 3000, [id], running);
  if (error && !job) {
    return html`<section><h2>${t('job.title', { id })}</h2>
      <p class="error" id="job-error">${error.status === 404 ? t('job.notFound') : error.message}</p></section>`;
  }
  if (!job) return html`<p class="muted">${t('app.loading')}</p>`;
  return html`<section class="job">
    <h2><span>${t('job.title', { id: job.id })}</span> <span class="job-name" id="job-name">${job.name}</span>
      <span class=${`state s-${job.state}`} id="job-state">${stateLabel(job.state)}</span>
      <${CancelButton} job=${job} session=${session} onDone=${refresh} /></h2>
    ${error && html`<p class="error">${error.message}</p>`}
    <dl class="facts">
      <dt>${t('job.owner')}</dt><dd>${job.owner}</dd>
      <dt>${t('job.queue')}</dt><dd>${job.queue}</dd>
      <dt>${t('job.priority')}</dt><dd>${job.priority}</dd>
      <dt>${t('job.workers')}</dt><dd>${job.worldSize ? t('job.worldSizeOf', { n: job.worldSize, min: job.workers?.min, max: job.workers?.max }) : `${job.workers?.min}–${job.workers?.max}`}</dd>
      <dt>${t('job.submitted')}</dt><dd>${fmtTime(job.submittedMs)}</dd>
      <dt>${t('job.started')}</dt><dd>${fmtTime(job.startedMs)}</dd>
      <dt>${t('job.finished')}</dt><dd>${fmtTime(job.finishedMs)}</dd>
      <dt>${t('job.progress')}</dt><dd><${Progress} job=${job} /></dd>
      <dt>${t('job.reason')}</dt><dd><${WhyWaiting} job=${job} /></dd>
      ${job.result && Object.keys(job.result).length > 0 && html`<dt>${t('job.result')}</dt>
        <dd>${t('job.resultText', { acc: fmtNum(job.result.testAccuracy), loss: fmtNum(job.result.testLoss), wall: fmtNum(job.result.wallSec) })}</dd>`}
      ${job.output && html`<dt>${t('job.output')}</dt><dd>${job.output.model}${job.output.published ? ` @${job.output.published}` : ''} ${job.output.error || ''}</dd>`}
    </dl>
    <h3>${t('job.curves')}</h3>
    <${Charts} points=${points} />
    <h3>${t('job.ranks')}</h3>
    <${Ranks} job=${job} />
    <h3>${t('job.attempts')}</h3>
    <${Attempts} job=${job} />
    <h3>${t('job.checkpoints')}</h3>
    <${Checkpoints} job=${job} />
    <h3>${t('job.events')}</h3>
    <${Events} job=${job} />
    <h3>${t('job.logs')}</h3>
    <${Logs} job=${job} />
    <h3>${t('job.spec')}</h3>
    <pre class="spec" id="spec">${JSON.stringify(job.spec ?? {}, null, 2)}</pre>
  </section>`;
}
