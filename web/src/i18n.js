// Translations: every string a person reads goes through t(key). The catalogs are
// i18n/en.json and i18n/zh.json (tests/web/check_i18n.py keeps their keys in step with the
// keys that web/src passes to t, always as literal strings). The language is the stored choice, else the browser's.
const STORAGE_KEY = 'shoal.lang';
export const LANGUAGES = ['en', 'zh'];

let lang = 'en';
let catalog = {};
let fallback = {};

function initialLanguage() {
  let stored = null;
  try { stored = localStorage.getItem(STORAGE_KEY); } catch { /* storage disabled */ }
  if (LANGUAGES.includes(stored)) return stored;
  return (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

async function fetchCatalog(code) {
  const r = await fetch(`i18n/${code}.json`, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`i18n/${code}.json: HTTP ${r.status}`);
  return r.json();
}

// Loads English (the fallback) and the chosen language; sets <html lang>.
export async function initI18n() {
  const code = initialLanguage();
  // English (every key's fallback) and the chosen language side by side.
  const [en, chosen] = await Promise.all([
    fetchCatalog('en'), code !== 'en' && LANGUAGES.includes(code) ? fetchCatalog(code) : null]);
  fallback = en;
  catalog = chosen ?? en;
  lang = chosen ? code : 'en';
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

export async function setLanguage(code, remember = true) {
  if (!LANGUAGES.includes(code)) code = 'en';
  catalog = code === 'en' ? fallback : await fetchCatalog(code);
  lang = code;
  document.documentElement.lang = code === 'zh' ? 'zh-CN' : 'en';
  if (remember) {
    try { localStorage.setItem(STORAGE_KEY, code); } catch { /* storage disabled */ }
  }
}

export function language() { return lang; }

// t(key, {n: 3}) -> the catalog's text with {n} replaced (as text, never markup).
export function t(key, params) {
  let s = catalog[key] ?? fallback[key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  return s;
}
