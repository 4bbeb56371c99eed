// The contribution board: the ledger per account (GPU-seconds contributed and used, shown in
// GPU-hours), balance, fair share. The API has no history of it, so there is no chart over time.
import { html, useState } from '../preact.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { fmtNum, hours, usePoll } from '../util.js';

export function BoardView() {
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  usePoll(async (signal) => {
    try {
      setData(await api('/v1/accounts', { signal }));
      setError('');
    } catch (e) {
      if (e.name !== 'AbortError') setError(e.message);
    }
  }, 10000, []);
  const rows = [...(data?.accounts ?? [])].sort((a, b) => (b.contributedGpuSeconds ?? 0) - (a.contributedGpuSeconds ?? 0));
  return html`<section>
    <h2>${t('board.title')}</h2>
    <p class="muted">${t('board.intro')}</p>
    ${error && html`<p class="error">${error}</p>`}
    ${data && html`<p class="muted">${t('board.policy', { policy: data.policy, days: fmtNum((data.halfLifeSeconds ?? 0) / 86400) })}</p>`}
    <table class="grid" id="board-table">
      <thead><tr>
        <th>${t('board.account')}</th><th>${t('board.contributed')}</th><th>${t('board.used')}</th>
        <th>${t('board.balance')}</th><th>${t('board.share')}</th><th>${t('board.usage')}</th>
        <th>${t('board.factor')}</th>
      </tr></thead>
      <tbody>${rows.map((a) => html`<tr data-account=${a.name}>
        <td>${a.name}${a.registered === false ? html` <span class="muted">${t('board.unregistered')}</span>` : ''}</td>
        <td class="num">${hours(a.contributedGpuSeconds)}</td><td class="num">${hours(a.usedGpuSeconds)}</td>
        <td class=${`num ${(a.balanceGpuSeconds ?? 0) < 0 ? 'neg' : ''}`}>${hours(a.balanceGpuSeconds)}</td>
        <td class="num">${fmtNum(a.share)}</td><td class="num">${fmtNum(a.usage)}</td>
        <td class="num">${fmtNum(a.fairShareFactor)}</td>
      </tr>`)}</tbody>
    </table>
    ${data?.otherAccounts ? html`<p class="muted">${t('board.otherAccounts', { n: data.otherAccounts })}</p>` : ''}
  </section>`;
}
