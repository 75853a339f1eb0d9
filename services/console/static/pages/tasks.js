// Staff tasks (docs/tasks.md): the scope's tasks by state, the completion
// report `qyctl tasks report` prints, and one task with its evidence, where
// the person who did it by hand closes it with a note. The task loop's
// notices link to /tasks/<id>, which opens #/task/<id>.
import { get, api, qs } from '../api.js';
import { t } from '../i18n.js';
import { h, table, link, fmt } from '../dom.js';
import { currentRole, showError } from '../app.js';

const STATES = ['open', 'overdue', 'done', 'closed', 'all'];
const STATS = ['tasks', 'done', 'by_note', 'open', 'expired', 'cancelled', 'escalated', 'completion_pct', 'median_min', 'p90_min'];

export async function tasksPage (main, hash) {
  const params = new URLSearchParams(hash.split('?')[1] || '');
  const state = params.get('state') || 'open';
  const [list, report] = await Promise.all([get('/tasks' + qs({ state, limit: 200 })), get('/tasks/report')]);
  const col = (key, render) => ({ key, label: t(key), render });
  main.replaceChildren(
    h('h2', {}, t('tasks')),
    h('p', { class: 'filters' }, ...STATES.map((s) =>
      h('a', { href: '#/tasks?state=' + s, class: s === state ? 'active' : null }, t('task_' + s)))),
    table([col('id', (r) => link('#/task/' + r.id, '#' + r.id)), col('kind', (r) => t('kind_' + r.kind)), col('state'),
           col('group', (r) => r.group_name || r.group), col('store'), col('member'), col('assignee', (r) => r.assignee_name || r.assignee),
           col('due_at', (r) => h('span', { class: r.overdue ? 'bad' : null }, fmt(r.due_at))), col('closed_at'),
           col('close_evidence')], list.items),
    h('h3', {}, t('task_report')),
    table(['store', 'name', 'kind', ...STATS].map((k) => col(k)), report.stores),
    table(['staff', 'name', ...STATS].map((k) => col(k)), report.staff));
}

function doneForm (task) {
  const note = h('input', { type: 'text', maxlength: '1000', placeholder: t('note'), id: 'done-note' });
  return h('form', { class: 'panel', onsubmit: async (ev) => {
    ev.preventDefault();
    if (!note.value.trim()) return showError(new Error(t('note')));
    try {
      await api('POST', `/tasks/${task.id}/done`, { note: note.value.trim() });
      location.hash = '#/task/' + task.id + '?done';
    } catch (e) { showError(e); }
  } }, note, h('button', { type: 'submit' }, t('mark_done')));
}

export async function taskPage (main, rest) {
  const id = rest.split('?')[0];
  const task = await get('/tasks/' + encodeURIComponent(id));
  const row = (k, v) => h('tr', {}, h('th', {}, t(k)), h('td', { id: 'task-' + k }, v ?? ''));
  const open = ['open', 'reminded', 'escalated'].includes(task.state);
  const v = task.violation, step = task.campaign_step, msg = task.message;
  main.replaceChildren(
    h('h2', {}, `${t('task')} #${task.id} · ${t('kind_' + task.kind)}`),
    h('table', { class: 'kv' },
      row('state', task.state + (task.overdue ? ` (${t('task_overdue')})` : '')),
      row('group', task.group ? link('#/group/' + encodeURIComponent(task.group), task.group_name || task.group) : ''),
      row('store', task.store_name || task.store),
      row('member', task.user_id ? link('#/member/' + encodeURIComponent(task.user_id), task.member || task.user_id) : task.member),
      row('reason', task.reason), row('text', task.content), row('muted_until', fmt(task.mute_until)),
      row('assignee', task.assignee_name || task.assignee), row('due_at', fmt(task.due_at)),
      row('closed_at', fmt(task.closed_at)), row('close_evidence', task.close_evidence), row('note', task.note)),
    h('div', { class: 'panel' }, h('h3', {}, t('evidence')),
      msg && msg.msg_id ? h('p', { id: 'task-message' }, fmt(msg.at), ' ', msg.text || '', ' (', msg.msg_id, ')') : '',
      v ? h('p', {}, `${t('violations')}: ${v.category} · ${v.action} · ${v.status}`) : '',
      step ? h('p', {}, `${t('campaigns')}: ${step.campaign} · ${step.step} · ${step.period} · ${step.status}`) : ''),
    h('div', { class: 'panel' }, h('h3', {}, t('notices')),
      table(['created_at', 'touser', 'status', 'delivered_at'].map((k) => ({ key: k, label: t(k) })), task.notices)),
    open && currentRole() !== 'reviewer' ? doneForm(task) : '');
}
