// The moderation review queue: each flagged message with its evidence
// spans marked in the original text, the member's history and the rule
// scores; confirm or overturn one or many with a reason. Keys: j/k move,
// x select, c confirm, o overturn. An overturn lifts the strike and
// teaches the model (moderation_decide, as qyctl does).
import { get, api, qs } from '../api.js';
import { t } from '../i18n.js';
import { h, segments, fmt } from '../dom.js';
import { showError } from '../app.js';

let keyHandler = null;

export async function queuePage (main, hash) {
  const params = Object.fromEntries(new URLSearchParams(hash.split('?')[1] || ''));
  const data = await get('/queue' + qs({ status: params.status, after: params.after }));
  const selected = new Set();
  let current = 0;
  const reason = h('input', { id: 'decision-reason', placeholder: t('reason'), size: 40 });
  const result = h('p', { id: 'decision-result', class: 'muted' });
  const rows = data.items.map((v, i) => h('tr', { dataset: { id: v.id, index: i }, onclick: (ev) => { if (ev.target.classList.contains('pick')) return; current = i; paint(); } },
    h('td', {}, h('input', { type: 'checkbox', class: 'pick', onchange: (ev) => { ev.target.checked ? selected.add(v.id) : selected.delete(v.id); paint(); } })),
    h('td', {}, fmt(v.event_time), h('br'), h('span', { class: 'muted' }, `${v.group_name} · ${v.nickname || v.user_id || ''}`)),
    h('td', { class: 'queue-text' }, segments(v.segments, 'evidence')),
    h('td', {}, `${v.category} · ${v.action}`, h('br'), h('span', { class: 'muted' }, `${t('score')} ${v.score}`),
      h('ul', {}, v.scores.map((s) => h('li', { class: 'muted' }, `${s.rule} ${s.weight}${s.dry_run ? ' (dry-run)' : ''}`)))),
    h('td', {}, `${t('violations')} ${v.history ? v.history.violations : 0} · ${t('strikes')} ${v.history ? v.history.strikes : 0}`,
      h('ul', {}, (v.history && v.history.recent ? v.history.recent : []).map((r) => h('li', { class: 'muted' }, `${r.category} ${r.action} ${r.status}`)))),
    h('td', { class: 'queue-status' }, v.status)));
  const paint = () => rows.forEach((r, i) => {
    r.classList.toggle('current', i === current);
    r.classList.toggle('selected', selected.has(Number(r.dataset.id)));
    r.querySelector('.pick').checked = selected.has(Number(r.dataset.id));
  });
  const decide = async (decision) => {
    const ids = selected.size ? [...selected] : (data.items[current] ? [data.items[current].id] : []);
    if (!ids.length) return;
    if (!reason.value.trim()) { showError(new Error(t('reason_required'))); reason.focus(); return; }
    try {
      const r = await api('POST', '/queue/decide', { ids, decision, reason: reason.value.trim() });
      for (const item of r.items) {
        const row = rows.find((x) => Number(x.dataset.id) === item.id);
        if (row) row.querySelector('.queue-status').textContent = item.result;
      }
      result.textContent = `${t('decided')}: ` + r.items.map((i) => `#${i.id} ${i.result}`).join(', ');
      selected.clear();
      paint();
    } catch (e) { showError(e); }
  };
  if (keyHandler) document.removeEventListener('keydown', keyHandler);
  keyHandler = (ev) => {
    if (!document.getElementById('queue-table') || ev.target.tagName === 'INPUT') return;
    const item = data.items[current];
    if (ev.key === 'j') current = Math.min(current + 1, rows.length - 1);
    else if (ev.key === 'k') current = Math.max(current - 1, 0);
    else if (ev.key === 'x' && item) selected.has(item.id) ? selected.delete(item.id) : selected.add(item.id);
    else if (ev.key === 'c') return decide('confirm');
    else if (ev.key === 'o') return decide('overturn');
    else return;
    paint();
  };
  document.addEventListener('keydown', keyHandler);
  main.replaceChildren(h('h2', {}, t('queue')),
    h('p', { class: 'muted' }, t('shortcuts'), ' · ',
      ...['open', 'confirmed', 'overturned'].map((s) => h('a', { href: '#/queue?status=' + s }, ` ${s} `))),
    h('div', { class: 'filters' }, reason,
      h('button', { id: 'confirm-btn', onclick: () => decide('confirm') }, t('confirm')),
      h('button', { id: 'overturn-btn', class: 'danger', onclick: () => decide('overturn') }, t('overturn'))),
    result,
    h('table', { id: 'queue-table' }, h('thead', {}, h('tr', {}, ['', t('at'), t('evidence'), t('scores'), t('history'), t('status')].map((x) => h('th', {}, x)))),
      h('tbody', {}, rows)),
    data.next ? h('button', { class: 'secondary', onclick: () => { location.hash = '#/queue' + qs({ ...params, after: data.next }); } }, t('next')) : '');
  paint();
}
