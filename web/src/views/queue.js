// The queue: pending and running jobs (or any states), filtered by owner, state and name,
// one page of `limit` at a time (the server pages, newest first).
import { html, useState } from '../preact.js';
import { api, query } from '../api.js';
import { t } from '../i18n.js';
import { fmtAgo, fmtNum, fmtTime, stateLabel, usePoll } from '../util.js';

const PAGE = 50;
const ACTIVE = 'PENDING,RUNNING,RESTARTING';

function stateChoices() {
  return [
    [ACTIVE, t('queue.stateActive')], ['ALL', t('queue.stateAll')],
    ['PENDING', t('state.pending')], ['RUNNING', t('state.running')], ['RESTARTING', t('state.restarting')],
    ['SUCCEEDED', t('state.succeeded')], ['FAILED', t('state.failed')], ['CANCELLED', t('state.cancelled')],
  ];
}

function setHash(params) {
  location.hash = `#/queue${query(params)}`;
}

export function Progress({ job }) {
  const p = job.progress || {};
  if (p.step === undefined) return html`<span class="muted">—</span>`;
  const pct = p.epochs && p.stepsPerEpoch
    ? Math.min(100, (100 * p.step) / (p.epochs * p.stepsPerEpoch)) : null;
  return html`<span class="progress">
    ${pct !== null && html`<span class="bar"><span class="fill" ref=${(el) => el && (el.style.width = `${pct}%`)}></span></span>`}
    ${t('queue.progressText', { epoch: p.epoch ?? '?', epochs: p.epochs ?? '?', step: p.step, loss: fmtNum(p.loss) })}
  </span>`;
}

export function WhyWaiting({ job }) {
  if (job.state !== 'PENDING' && job.state !== 'RESTARTING') {
    return job.reason ? html`<span class="reason">${job.reason}</span>` : html`<span class="muted">—</span>`;
  }
  return html`<span class="reason">
    ${job.reason && html`<b>${job.reason}</b> `}${job.reasonMessage || ''}
    ${job.estimatedStartMs ? html`<br /><span class="muted">${t('queue.estimatedStart', { time: fmtTime(job.estimatedStartMs) })}</span>` : ''}
  </span>`;
}

export function QueueView({ route }) {
  const p = route.params;
  const filters = {
    owner: p.get('owner') || '', state: p.get('state') || ACTIVE, q: p.get('q') || '',
  };
  const before = p.get('before') || '';
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  const [form, setForm] = useState(filters);
  usePoll(async (signal) => {
    try {
      const d = await api(`/v1/jobs${query({ ...filters, state: filters.state === 'ALL' ? '' : filters.state, limit: PAGE, before })}`, { signal });
      setData(d);
      setError('');
    } catch (e) {
      if (e.name !== 'AbortError') setError(e.message);
    }
  }, 5000, [filters.owner, filters.state, filters.q, before]);

  const apply = (e) => {
    e.preventDefault();
    setHash({ owner: form.owner, state: form.state, q: form.q });
  };
  const jobs = data?.jobs ?? [];
  return html`
    <section>
      <h2>${t('queue.title')}</h2>
      <form class="filters" onSubmit=${apply}>
        <label>${t('queue.owner')}
          <input id="f-owner" value=${form.owner} onInput=${(e) => setForm({ ...form, owner: e.target.value })} /></label>
        <label>${t('queue.state')}
          <select id="f-state" value=${form.state} onChange=${(e) => setForm({ ...form, state: e.target.value })}>
            ${stateChoices().map(([v, label]) => html`<option value=${v}>${label}</option>`)}
          </select></label>
        <label>${t('queue.name')}
          <input id="f-q" value=${form.q} onInput=${(e) => setForm({ ...form, q: e.target.value })} /></label>
        <button type="submit" id="f-apply">${t('queue.apply')}</button>
      </form>
      ${error && html`<p class="error">${error}</p>`}
      ${data && html`<p class="muted" id="queue-total">${t('queue.total', { n: data.total ?? jobs.length })}</p>`}
      <table class="grid" id="queue-table">
        <thead><tr>
          <th>${t('job.id')}</th><th>${t('job.name')}</th><th>${t('job.owner')}</th><th>${t('job.state')}</th>
          <th>${t('job.workers')}</th><th>${t('job.progress')}</th><th>${t('queue.why')}</th><th>${t('job.submitted')}</th>
        </tr></thead>
        <tbody>
          ${jobs.map((j) => html`<tr data-job=${j.id}>
            <td><a href=${`#/jobs/${j.id}`}>${j.id}</a></td>
            <td><a href=${`#/jobs/${j.id}`} class="job-name">${j.name}</a></td>
            <td>${j.owner}</td>
            <td><span class=${`state s-${j.state}`}>${stateLabel(j.state)}</span></td>
            <td>${j.worldSize ? j.worldSize : `${j.workers?.min ?? '?'}–${j.workers?.max ?? '?'}`}</td>
            <td><${Progress} job=${j} /></td>
            <td><${WhyWaiting} job=${j} /></td>
            <td title=${fmtTime(j.submittedMs)}>${fmtAgo(j.submittedMs)}</td>
          </tr>`)}
        </tbody>
      </table>
      ${data && jobs.length === 0 && html`<p class="muted">${t('queue.empty')}</p>`}
      <div class="pager">
        ${before && html`<button id="page-first" onClick=${() => setHash({ ...filters })}>${t('queue.firstPage')}</button>`}
        ${data?.next && html`<button id="page-next" onClick=${() => setHash({ ...filters, before: data.next })}>${t('queue.nextPage')}</button>`}
      </div>
    </section>`;
}
