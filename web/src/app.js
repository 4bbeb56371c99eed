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

// The catalogs and the app's modules load side by side; each failure keeps its own message.
const [catalogs, app] = await Promise.allSettled([initI18n(), import('./shell.js')]);
if (catalogs.status === 'rejected') {
  fail(t('boot.noCatalog'), catalogs.reason);
  throw catalogs.reason;
}
if (app.status === 'rejected') {
  fail(t('boot.vendorMissing'), app.reason);
  throw app.reason;
}
app.value.start(document.getElementById('app'));
