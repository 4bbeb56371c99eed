// The app: session, header (account, role, language, log out), hash routing to the views.
import { html, render, useEffect, useState } from './preact.js';
import { currentSession, login, logout, whenLoggedOut } from './api.js';
import { LANGUAGES, language, setLanguage, t } from './i18n.js';
import { useRoute } from './util.js';
import { QueueView } from './views/queue.js';
import { JobView } from './views/job.js';
import { WorkersView } from './views/workers.js';
import { BoardView } from './views/board.js';
import { RegistryView } from './views/registry.js';

function Login({ onLogin }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      onLogin(await login(token.trim()));
    } catch (err) {
      setError(err.status === 401 ? t('login.badToken') : `${t('login.failed')}: ${err.message}`);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="login" onSubmit=${submit}>
      <h1>${t('app.title')}</h1>
      <p>${t('login.intro')}</p>
      <label>${t('login.token')}
        <input id="token" type="password" autocomplete="off" value=${token}
               onInput=${(e) => setToken(e.target.value)} />
      </label>
      <button id="login" type="submit" disabled=${busy || !token.trim()}>${t('login.submit')}</button>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>`;
}

const NAV = [
  ['queue', 'nav.queue'], ['workers', 'nav.workers'], ['board', 'nav.board'], ['registry', 'nav.registry'],
];

function navLabel(key) {
  return ({ 'nav.queue': t('nav.queue'), 'nav.workers': t('nav.workers'), 'nav.board': t('nav.board'),
    'nav.registry': t('nav.registry') })[key];
}

function View({ route, session }) {
  const [head, id] = route.parts;
  if (head === 'jobs' && id) return html`<${JobView} key=${id} id=${id} session=${session} />`;
  if (head === 'workers') return html`<${WorkersView} />`;
  if (head === 'board') return html`<${BoardView} />`;
  if (head === 'registry') return html`<${RegistryView} route=${route} />`;
  return html`<${QueueView} route=${route} session=${session} />`;
}

function App() {
  const [session, setSession] = useState(undefined);  // undefined: still asking
  const [lang, setLang] = useState(language());
  const [error, setError] = useState('');
  const route = useRoute();
  useEffect(() => {
    whenLoggedOut(() => setSession(null));
    currentSession().then(setSession, (e) => { setError(e.message); setSession(null); });
  }, []);
  const switchLanguage = async (code) => {
    await setLanguage(code);
    setLang(code);
  };
  const doLogout = async () => {
    try { await logout(); } catch (e) { setError(e.message); }
    setSession(null);
  };
  const langSelect = html`
    <label class="lang">${t('lang.label')}
      <select id="lang" value=${lang} onChange=${(e) => switchLanguage(e.target.value)}>
        ${LANGUAGES.map((c) => html`<option value=${c}>${c === 'zh' ? t('lang.zh') : t('lang.en')}</option>`)}
      </select>
    </label>`;
  if (session === undefined) return html`<p class="muted">${t('app.loading')}</p>`;
  if (session === null) {
    return html`<div class="top"><span class="brand">${t('app.title')}</span>${langSelect}</div>
      ${error && html`<p class="error">${error}</p>`}
      <${Login} onLogin=${setSession} />`;
  }
  const current = route.parts[0] === 'jobs' ? 'queue' : (route.parts[0] || 'queue');
  return html`
    <header class="top">
      <span class="brand">${t('app.title')}</span>
      <nav>
        ${NAV.map(([name, key]) => html`
          <a href=${`#/${name}`} class=${current === name ? 'active' : ''} id=${`nav-${name}`}>${navLabel(key)}</a>`)}
      </nav>
      <span class="spacer"></span>
      <span class="who" id="who">${t('session.who', { account: session.account, role: session.role })}</span>
      ${langSelect}
      <button id="logout" onClick=${doLogout}>${t('session.logout')}</button>
    </header>
    <main key=${lang}>
      ${error && html`<p class="error">${error}</p>`}
      <${View} route=${route} session=${session} />
    </main>`;
}

export function start(root) {
  root.textContent = '';
  render(html`<${App} />`, root);
}
