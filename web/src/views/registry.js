// The registry: datasets and models the caller may read, with their cards and versions; a
// model's lineage as its card states it (the datasets it read, the job that trained it).
import { html, useState } from '../preact.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { fmtBytes, fmtNum, fmtTime, usePoll } from '../util.js';

function Versions({ item }) {
  return html`<table class="grid">
    <thead><tr><th>${t('registry.version')}</th><th>${t('registry.size')}</th><th>${t('registry.files')}</th>
      <th>${t('registry.digest')}</th><th>${t('registry.publisher')}</th><th>${t('registry.created')}</th></tr></thead>
    <tbody>${(item.versions || []).map((v) => html`<tr>
      <td>${v.version}</td><td>${fmtBytes(v.bytes)}</td><td>${v.files}</td>
      <td class="mono">${(v.digest || '').slice(0, 16)}…</td><td>${v.publisher}</td><td>${fmtTime(v.created)}</td></tr>`)}</tbody>
  </table>`;
}

function Lineage({ card }) {
  if (!card) return null;
  const layers = card.architecture?.layers;
  return html`<dl class="facts lineage">
    <dt>${t('registry.job')}</dt>
    <dd>${card.job ? html`<a href=${`#/jobs/${card.job}`}>#${card.job}</a> ${card.jobName || ''}` : '—'}</dd>
    <dt>${t('registry.trainedOn')}</dt>
    <dd>${(card.datasets || []).length
      ? card.datasets.map((d) => html`<div>${d.kind || 'datasets'}/${d.account}/${d.name}@${d.version}</div>`)
      : t('registry.noDatasets')}</dd>
    <dt>${t('registry.architecture')}</dt>
    <dd>${card.architecture?.kind || ''} ${Array.isArray(layers) ? layers.join('-') : ''} ${card.architecture?.activation || ''}</dd>
    <dt>${t('registry.metrics')}</dt>
    <dd>${t('registry.metricsText', { acc: fmtNum(card.metrics?.testAccuracy), loss: fmtNum(card.metrics?.testLoss) })}</dd>
  </dl>`;
}

function Items({ kind, items }) {
  if (!items.length) return html`<p class="muted">${t('registry.empty')}</p>`;
  return html`<div class="cards">${items.map((it) => html`
    <details class="card" data-item=${`${kind}/${it.account}/${it.name}`}>
      <summary>
        <b>${it.account}/${it.name}</b>
        <span class=${`vis vis-${it.visibility}`}>${it.visibility === 'public' ? t('registry.public') : t('registry.private')}</span>
        <span class="muted">${t('registry.summary', { n: (it.versions || []).length, size: fmtBytes(it.bytes) })}</span>
      </summary>
      ${it.description && html`<p class="text">${it.description}</p>`}
      <p class="muted">${t('registry.meta', { format: it.format || '—', license: it.license || '—', updated: fmtTime(it.updated) })}</p>
      ${kind === 'models' && html`<${Lineage} card=${it.card} />`}
      <${Versions} item=${it} />
    </details>`)}</div>`;
}

export function RegistryView() {
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  usePoll(async (signal) => {
    try {
      const [ds, ms] = await Promise.all([api('/v1/datasets', { signal }), api('/v1/models', { signal })]);
      setData({ datasets: ds.items || [], models: ms.items || [] });
      setError('');
    } catch (e) {
      if (e.name !== 'AbortError') setError(e.message);
    }
  }, 30000, []);
  return html`<section>
    <h2>${t('registry.title')}</h2>
    ${error && html`<p class="error">${error}</p>`}
    <h3>${t('registry.datasets')}</h3>
    ${data && html`<${Items} kind="datasets" items=${data.datasets} />`}
    <h3>${t('registry.models')}</h3>
    ${data && html`<${Items} kind="models" items=${data.models} />`}
  </section>`;
}
