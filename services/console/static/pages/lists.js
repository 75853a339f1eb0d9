// The operators' lists: channels (quality), deliveries,
// dead letters (replayed, or closed with a reason) and the audit log.
import { get, api } from '../api.js';
import { t } from '../i18n.js';
import { h, table, fmt } from '../dom.js';
import { barChart } from '../charts.js';
import { showError } from '../app.js';

const columns = {
  channels: ['channel', 'kind', 'joins', 'members', 'spoke', 'violators', 'retention7', 'retention30'],
  deliveries: ['created_at', 'key', 'kind', 'group', 'status', 'attempts', 'http_status', 'last_error'],
  deadletters: ['id', 'created_at', 'service', 'brand_code', 'msg_id', 'reason', 'state', 'replays', 'bytes'],
  audit: ['at', 'actor', 'action', 'object_type', 'object_id', 'detail']
};

function resolveButton (d) {
  return h('button', { class: 'secondary', onclick: async (ev) => {
    const reason = prompt(t('reason'));
    if (!reason) return;
    try {
      await api('POST', `/deadletters/${d.id}/resolve`, { reason });
      ev.target.replaceWith('resolved');
    } catch (e) { showError(e); }
  } }, t('resolve'));
}

// Put a dead letter back through the door it was refused at (as qyctl
// deadletters replay); the row's result column says what happened.
function replayButton (d) {
  return h('button', { class: 'replay', onclick: async (ev) => {
    const cell = ev.target.parentNode;
    try {
      const r = await api('POST', `/deadletters/${d.id}/replay`);
      cell.replaceChildren(h('span', { class: r.done ? 'ok' : 'muted' }, r.result));
    } catch (e) { showError(e); }
  } }, t('replay'));
}

export async function listPage (main, what) {
  const data = await get('/' + what);
  const cols = columns[what].map((k) => ({ key: k, label: t(k) === k ? k : t(k),
    render: (r) => typeof r[k] === 'object' && r[k] !== null && !Array.isArray(r[k]) ? JSON.stringify(r[k]) : fmt(r[k]) }));
  if (what === 'deadletters') {
    cols.push({ key: 'replay_result', label: t('result'), render: (d) => fmt(d.replay_result) });
    cols.push({ key: 'replay', label: '', render: (d) => d.state !== 'resolved' ? replayButton(d) : '' });
    cols.push({ key: 'resolve', label: '', render: (d) => d.state !== 'resolved' ? resolveButton(d) : '' });
  }
  const chart = what === 'channels' ? h('canvas', { id: 'channels-chart' }) : null;
  main.replaceChildren(h('h2', {}, t(what)), chart ? h('div', { class: 'panel' }, h('div', { class: 'chart' }, chart)) : '',
    table(cols, data.items));
  if (chart) {
    barChart(chart, data.items.map((c) => c.channel), [
      { label: t('joins'), data: data.items.map((c) => c.joins) },
      { label: t('retention7'), data: data.items.map((c) => Math.round((c.retention7 || 0) * 100)) },
      { label: t('violators'), data: data.items.map((c) => c.violators) }]);
  }
}
