// Small shared helpers: formatting, the hash route, polling.
import { useEffect, useState } from './preact.js';
import { language, t } from './i18n.js';

export function fmtTime(ms) {
  if (!ms) return '—';
  return new Date(ms).toLocaleString(language() === 'zh' ? 'zh-CN' : 'en-GB');
}

export function fmtAgo(ms, now = Date.now()) {
  if (!ms) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return t('time.secondsAgo', { n: s });
  if (s < 3600) return t('time.minutesAgo', { n: Math.floor(s / 60) });
  return t('time.hoursAgo', { n: Math.floor(s / 3600) });
}

export function fmtNum(x, digits = 3) {
  if (x === undefined || x === null || Number.isNaN(x)) return '—';
  if (typeof x !== 'number') return String(x);
  if (Number.isInteger(x)) return x.toLocaleString('en');
  return Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en') : x.toPrecision(digits);
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export const hours = (seconds) => (seconds === undefined ? '—' : (seconds / 3600).toFixed(3));

export function stateLabel(s) {
  return ({
    PENDING: t('state.pending'), RUNNING: t('state.running'), RESTARTING: t('state.restarting'),
    SUCCEEDED: t('state.succeeded'), FAILED: t('state.failed'), CANCELLED: t('state.cancelled'),
  })[s] ?? s;
}

export const FINISHED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

// The route: '#/jobs/12?x=1' -> {parts: ['jobs', '12'], params: URLSearchParams}.
export function parseHash(hash) {
  const h = (hash || '').replace(/^#\/?/, '');
  const [path, qs] = h.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(qs || '') };
}

export function useRoute() {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

// Calls fn(signal) now and then every `ms` while `active` (once more when it turns false, for
// the final state). Returns a function that refreshes at once.
export function usePoll(fn, ms, deps, active = true) {
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    let timer = null;
    const run = async () => {
      try { await fn(ctl.signal); } catch (e) { if (e.name !== 'AbortError') console.warn(e); }
      if (!ctl.signal.aborted && active) timer = setTimeout(run, ms);
    };
    run();
    return () => { ctl.abort(); clearTimeout(timer); };
  }, [...deps, active, nonce]);
  return () => setNonce((n) => n + 1);
}
