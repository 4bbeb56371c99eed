// The contribution board: the ledger per account (GPU-seconds contributed and used, shown in
// GPU-hours), balance, fair share, the undecayed total and the recent average (BOINC's total and
// recent average credit), and a chart of the totals over time from the ledger's history.
import { html, useState } from '../preact.js';
import { api } from '../api.js';
import { Chart } from '../chart.js';
import { t } from '../i18n.js';
import { fmtNum, hours, usePoll } from '../util.js';

const TOP = 8;  // accounts in the chart: more lines than this are unreadable

// The top accounts' total contributed GPU-hours on one time axis: snapshots share their times,
// but each account's points are downsampled on their own, so the axis is the union of them
// (null where an account has no point; the chart spans the gaps).
function historyChart(history) {
  const top = [...(history?.accounts ?? [])]
    .map((a) => ({ name: a.name, points: a.points ?? [] }))
    .filter((a) => a.points.length > 0)
    .sort((a, b) => (b.points.at(-1).totalContributedGpuSeconds ?? 0) - (a.points.at(-1).totalContributedGpuSeconds ?? 0))
    .slice(0, TOP);
  const ts = [...new Set(top.flatMap((a) => a.points.map((p) => p.tsMs)))].sort((a, b) => a - b);
  const index = new Map(ts.map((v, i) => [v, i]));
  const series = top.map((a) => {
    const values = new Array(ts.length).fill(null);
    for (const p of a.points) values[index.get(p.tsMs)] = (p.totalContributedGpuSeconds ?? 0) / 3600;
    return { label: a.name, values };
  });
  return { xs: ts.map((v) => v / 1000), series };
}

export function BoardView() {
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  const [history, setHistory] = useState(null);
  usePoll(async (signal) => {
    try {
      setData(await api('/v1/accounts', { signal }));
      setError('');
    } catch (e) {
      if (e.name !== 'AbortError') setError(e.message);
    }
  }, 10000, []);
  // Snapshots are hourly by default: once a minute is plenty.
  usePoll(async (signal) => {
    try {
      setHistory(await api('/v1/accounts/history?maxPoints=500', { signal }));
    } catch (e) {
      if (e.name !== 'AbortError') setError(e.message);
    }
  }, 60000, []);
  const rows = [...(data?.accounts ?? [])].sort((a, b) => (b.contributedGpuSeconds ?? 0) - (a.contributedGpuSeconds ?? 0));
  const chart = historyChart(history);
  return html`<section>
    <h2>${t('board.title')}</h2>
    <p class="muted">${t('board.intro')}</p>
    ${error && html`<p class="error">${error}</p>`}
    ${data && html`<p class="muted">${t('board.policy', { policy: data.policy, days: fmtNum((data.halfLifeSeconds ?? 0) / 86400) })}</p>`}
    ${history && (chart.series.length
      ? html`<${Chart} name="board-history" title=${t('board.chartTitle')} xs=${chart.xs} series=${chart.series}
          yLabel=${t('board.chartY')} time=${true} xLabel=${t('board.chartX')} />`
      : html`<p class="muted" id="board-no-history">${t('board.noHistory')}</p>`)}
    <table class="grid" id="board-table">
      <thead><tr>
        <th>${t('board.account')}</th><th>${t('board.contributed')}</th><th>${t('board.used')}</th>
        <th>${t('board.balance')}</th><th>${t('board.share')}</th><th>${t('board.usage')}</th>
        <th>${t('board.factor')}</th><th>${t('board.totalContributed')}</th><th>${t('board.recentAverage')}</th>
      </tr></thead>
      <tbody>${rows.map((a) => html`<tr data-account=${a.name}>
        <td>${a.name}${a.registered === false ? html` <span class="muted">${t('board.unregistered')}</span>` : ''}</td>
        <td class="num">${hours(a.contributedGpuSeconds)}</td><td class="num">${hours(a.usedGpuSeconds)}</td>
        <td class=${`num ${(a.balanceGpuSeconds ?? 0) < 0 ? 'neg' : ''}`}>${hours(a.balanceGpuSeconds)}</td>
        <td class="num">${fmtNum(a.share)}</td><td class="num">${fmtNum(a.usage)}</td>
        <td class="num">${fmtNum(a.fairShareFactor)}</td>
        <td class="num">${hours(a.totalContributedGpuSeconds)}</td><td class="num">${fmtNum(a.recentAverageGpuHoursPerDay)}</td>
      </tr>`)}</tbody>
    </table>
    ${data?.otherAccounts ? html`<p class="muted">${t('board.otherAccounts', { n: data.otherAccounts })}</p>` : ''}
  </section>`;
}
