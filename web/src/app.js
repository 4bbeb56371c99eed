// Boot: translations first (no third-party code), then the Preact app. When the vendor files
// are missing (web/node_modules was not installed when shoal was built) this says so instead of
// leaving a blank page.
import { initI18n, t } from './i18n.js';

function fail(message, detail) {
  const root = document.getElementById('app');
  root.textContent = '';
  const p = document.createElement('p');
  p.className = 'error';
  p.textContent = message;
  root.append(p);
  if (detail) {
    const d = document.createElement('pre');
    d.textContent = String(detail);
    root.append(d);
  }
}

try {
  await initI18n();
} catch (e) {
  fail(t('boot.noCatalog'), e);
  throw e;
}
let shell;
try {
  shell = await import('./shell.js');
} catch (e) {
  fail(t('boot.vendorMissing'), e);
  throw e;
}
shell.start(document.getElementById('app'));
