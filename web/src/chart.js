// A uPlot line chart of metric points over steps (or over time: `time`, xs in Unix seconds). uPlot is loaded on first use, so a dashboard
// built without web/node_modules still shows everything else and says the charts are missing.
import { html, useEffect, useRef, useState } from './preact.js';
import { t } from './i18n.js';

let uplotModule = null;
function loadUplot() {
  uplotModule ??= import('./vendor/uplot/uPlot.esm.js').then((m) => m.default);
  return uplotModule;
}

const COLORS = ['#2563eb', '#dc2626', '#059669', '#9333ea', '#d97706', '#0891b2', '#db2777', '#4b5563'];

// series: [{label, values: [...], points: bool (markers only, no line)}], xs: steps (ascending),
// or with `time` Unix seconds (the x axis then shows dates and times).
export function Chart({ name, title, xs, series, yLabel, time = false, xLabel }) {
  const xName = xLabel ?? t('chart.step');
  const box = useRef(null);
  const plot = useRef(null);
  const [missing, setMissing] = useState(false);
  const data = [xs, ...series.map((s) => s.values)];
  const shape = series.map((s) => s.label).join('|');
  const latest = useRef(data);
  latest.current = data;

  useEffect(() => {
    let dead = false;
    loadUplot().then((UPlot) => {
      if (dead || !box.current) return;
      const width = Math.max(280, box.current.clientWidth || 420);
      plot.current = new UPlot({
        width, height: 200,
        scales: { x: { time } },
        axes: [{ label: xName }, { label: yLabel, size: 60 }],
        series: [{ label: xName }, ...series.map((s, i) => ({
          label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5,
          spanGaps: !s.points,
          ...(s.points ? { paths: () => null, points: { show: true, size: 6, fill: COLORS[i % COLORS.length] } } : { points: { show: false } }),
        }))],
      }, latest.current, box.current);
    }, () => { if (!dead) setMissing(true); });
    return () => { dead = true; plot.current?.destroy(); plot.current = null; };
  }, [shape]);

  useEffect(() => { plot.current?.setData(data); });

  return html`<figure class="chart" data-chart=${name} data-points=${xs.length}>
    <figcaption>${title}</figcaption>
    ${missing ? html`<p class="error">${t('chart.missing')}</p>` : html`<div ref=${box}></div>`}
  </figure>`;
}
