// The pool's workers: CPUs, GPUs, slots, state, the ranks they run, last heartbeat.
import { html, useState } from '../preact.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { fmtAgo, fmtBytes, fmtTime, usePoll } from '../util.js';

// GPU telemetry: the fields of a worker's gpus[] entry that carry its NVML sample. The
// scheduler sends them only when the worker sampled them (absent = unknown); until then every
// GPU shows "unknown". utilization is a fraction 0..1.
export const GPU_TELEMETRY = { utilization: 'utilization', memoryUsedMiB: 'memoryUsedMiB' };

function Gpu({ gpu }) {
  const util = gpu[GPU_TELEMETRY.utilization];
  const used = gpu[GPU_TELEMETRY.memoryUsedMiB];
  return html`<div class="gpu">
    ${gpu.name} · ${fmtBytes((gpu.memoryMiB || 0) * 1048576)}${gpu.computeCapability ? ` · sm ${gpu.computeCapability}` : ''}
    <br /><span class="muted">${t('workers.gpuUtil')}: ${typeof util === 'number' ? `${Math.round(util * 100)}%` : t('workers.unknown')}
    · ${t('workers.gpuMem')}: ${typeof used === 'number' ? fmtBytes(used * 1048576) : t('workers.unknown')}</span>
  </div>`;
}

export function WorkersView() {
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  usePoll(async (signal) => {
    try {
      setData(await api('/v1/workers', { signal }));
      setError('');
    } catch (e) {
      if (e.name !== 'AbortError') setError(e.message);
    }
  }, 5000, []);
  const workers = data?.workers ?? [];
  return html`<section>
    <h2>${t('workers.title')}</h2>
    ${error && html`<p class="error">${error}</p>`}
    <table class="grid" id="workers-table">
      <thead><tr>
        <th>${t('workers.worker')}</th><th>${t('workers.account')}</th><th>${t('workers.state')}</th>
        <th>${t('workers.cpus')}</th><th>${t('workers.gpus')}</th><th>${t('workers.slots')}</th>
        <th>${t('workers.memory')}</th><th>${t('workers.jobs')}</th><th>${t('workers.lastSeen')}</th>
      </tr></thead>
      <tbody>${workers.map((w) => html`<tr data-worker=${w.id}>
        <td>${w.anonymous ? t('workers.anonymous') : w.name}<br /><span class="muted mono">${w.id}${w.host ? ` · ${w.host}` : ''}</span></td>
        <td>${w.account ?? '—'}</td>
        <td><span class=${`state w-${w.state}`}>${w.state === 'alive' ? t('workers.alive') : w.state === 'lost' ? t('workers.lost') : w.state}</span></td>
        <td>${w.cpus}</td>
        <td>${(w.gpus || []).length ? w.gpus.map((g) => html`<${Gpu} gpu=${g} />`) : html`<span class="muted">${t('workers.noGpu')}</span>`}</td>
        <td>${t('workers.slotsUsed', { used: w.usedSlots ?? 0, total: w.slots })}</td>
        <td>${w.memoryLentBytes ? t('workers.memoryLent', { lent: fmtBytes(w.memoryLentBytes), total: fmtBytes(w.memoryBytes) }) : t('workers.unknown')}</td>
        <td>${(w.ranks || []).length
          ? (w.ranks || []).map((r) => html`<div><a href=${`#/jobs/${r.job}`}>${t('workers.rankOf', { job: r.job, rank: r.rank, attempt: r.attempt })}</a> <span class="muted">${r.state}</span></div>`)
          : html`<span class="muted">${t('workers.idle')}</span>`}</td>
        <td title=${fmtTime(w.lastSeenMs)}>${fmtAgo(w.lastSeenMs)}</td>
      </tr>`)}</tbody>
    </table>
    ${data && workers.length === 0 && html`<p class="muted">${t('workers.none')}</p>`}
  </section>`;
}
