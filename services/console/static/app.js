// The console's pages: a hash router over the API (#/overview, #/groups,
// #/group/CODE, #/member/USER, #/search, #/queue, #/audit …). Which pages a
// user gets follows their role; PostgreSQL decides which rows they see.
import { api, get, setCsrf, ApiError } from './api.js';
import { t, applyStatic, toggleLang } from './i18n.js';
import { h } from './dom.js';
import { overviewPage } from './pages/overview.js';
import { groupsPage } from './pages/groups.js';
import { groupPage } from './pages/group.js';
import { memberPage } from './pages/member.js';
import { searchPage } from './pages/search.js';
import { queuePage } from './pages/queue.js';
import { listPage } from './pages/lists.js';
import { rulesPage } from './pages/rules.js';
import { campaignsPage } from './pages/campaigns.js';
import { tasksPage, taskPage } from './pages/tasks.js';

let me = null;

const pages = [
  { path: 'overview', label: 'overview', roles: ['admin', 'hq', 'region', 'store'], render: overviewPage },
  { path: 'groups', label: 'groups', roles: ['admin', 'hq', 'region', 'store'], render: groupsPage },
  { path: 'search', label: 'search', roles: ['admin', 'hq', 'region', 'store'], render: searchPage },
  { path: 'queue', label: 'queue', roles: ['admin', 'hq', 'region', 'store', 'reviewer'], render: queuePage },
  { path: 'tasks', label: 'tasks', roles: ['admin', 'hq', 'region', 'store'], render: tasksPage },
  { path: 'channels', label: 'channels', roles: ['admin', 'hq', 'region', 'store'], render: (m) => listPage(m, 'channels') },
  { path: 'campaigns', label: 'campaigns', roles: ['admin', 'hq', 'region'], render: campaignsPage },
  { path: 'rules', label: 'rules', roles: ['admin', 'hq'], render: rulesPage },
  { path: 'deliveries', label: 'deliveries', roles: ['admin', 'hq'], render: (m) => listPage(m, 'deliveries') },
  { path: 'deadletters', label: 'deadletters', roles: ['admin', 'hq'], render: (m) => listPage(m, 'deadletters') },
  { path: 'audit', label: 'audit', roles: ['admin', 'hq'], render: (m) => listPage(m, 'audit') }
];
const detail = [
  { prefix: 'group/', render: groupPage },
  { prefix: 'member/', render: memberPage },
  { prefix: 'task/', render: taskPage }
];

function allowed () { return pages.filter((p) => p.roles.includes(me.role)); }

function renderNav (current) {
  const nav = document.getElementById('nav');
  nav.replaceChildren(...allowed().map((p) =>
    h('a', { href: '#/' + p.path, class: current.startsWith(p.path) ? 'active' : null }, t(p.label))));
  const scope = me.store_name || me.region_name || me.brand_name || 'admin';
  document.getElementById('who').textContent = `${me.login} · ${scope}`;
}

export const currentRole = () => (me ? me.role : null);

export function showError (e) {
  const el = document.getElementById('status');
  el.textContent = e ? (e.message || String(e)) : '';
  if (e && !(e instanceof ApiError)) console.error(e);
}

async function route () {
  if (!me) return;
  const hash = decodeURIComponent(location.hash.replace(/^#\/?/, '')) || allowed()[0].path;
  const main = document.getElementById('main');
  renderNav(hash);
  showError(null);
  main.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  const page = pages.find((p) => hash === p.path || hash.startsWith(p.path + '?'));
  const det = detail.find((d) => hash.startsWith(d.prefix));
  try {
    if (page && page.roles.includes(me.role)) await page.render(main, hash);
    else if (det && me.role !== 'reviewer') await det.render(main, hash.slice(det.prefix.length));
    else location.hash = '#/' + allowed()[0].path;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return showLogin();
    main.replaceChildren();
    showError(e);
  }
}

function showLogin () {
  me = null;
  document.getElementById('top').hidden = true;
  document.getElementById('main').replaceChildren();
  document.getElementById('login').hidden = false;
}

async function start () {
  // The task loop's notices link to /tasks/<id> (docs/tasks.md).
  const task = location.pathname.match(/^\/tasks\/(\d+)$/);
  if (task) history.replaceState(null, '', '/#/task/' + task[1]);
  try {
    me = await get('/session');
    if (!me.authenticated) return showLogin();
    setCsrf(me.csrf);
    document.getElementById('login').hidden = true;
    document.getElementById('top').hidden = false;
    await route();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) showLogin();
    else showError(e);
  }
}

document.getElementById('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const err = document.getElementById('login-error');
  err.textContent = '';
  try {
    await api('POST', '/session', { login: f.get('login'), password: f.get('password') });
    ev.target.reset();
    await start();
  } catch (e) { err.textContent = e.message; }
});
document.getElementById('logout').addEventListener('click', async () => {
  try { await api('DELETE', '/session'); } finally { showLogin(); }
});
document.getElementById('lang').addEventListener('click', () => { toggleLang(); applyStatic(); route(); });
window.addEventListener('hashchange', route);
applyStatic();
start();
