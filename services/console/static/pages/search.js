// Archive search (会话存档): member, group, store, text (Chinese
// substrings), message type and time range; hits highlighted; every
// search and every message opened is in the audit log.
import { get, qs } from '../api.js';
import { t } from '../i18n.js';
import { h, table, segments, link, fmt } from '../dom.js';

export async function searchPage (main, hash) {
  const params = Object.fromEntries(new URLSearchParams(hash.split('?')[1] || ''));
  const go = (p) => { location.hash = '#/search' + qs(p); };
  const input = (name, label, attrs = {}) => h('label', {}, t(label), h('input', { name, value: params[name] || '', ...attrs }));
  const form = h('form', { class: 'filters', id: 'search-form', onsubmit: (ev) => { ev.preventDefault(); go(Object.fromEntries(new FormData(ev.target))); } },
    input('q', 'text', { size: 24 }), input('member', 'member'), input('group', 'group'), input('store', 'store'),
    h('label', {}, t('kind'), h('select', { name: 'kind' }, h('option', { value: '' }, '–'),
      ['text', 'image', 'link', 'file', 'voice', 'video', 'join', 'leave'].map((k) => h('option', { value: k, selected: params.kind === k }, k)))),
    input('from', 'from', { type: 'date' }), input('to', 'to', { type: 'date' }),
    h('button', { type: 'submit' }, t('find')));
  const opened = h('div', { id: 'message-view' });
  const open = async (id) => {
    const m = await get('/messages/' + encodeURIComponent(id));
    opened.replaceChildren(h('div', { class: 'panel' }, h('h3', {}, `${m.group_name} · ${m.nickname || m.user_id || ''} · ${fmt(m.event_time)}`),
      h('p', {}, m.text || ''), m.violation ? h('p', { class: 'muted' }, `${t('violations')}: ${m.violation.category} ${m.violation.action} ${m.violation.status}`) : null,
      m.extra ? h('pre', { class: 'muted' }, JSON.stringify(m.extra, null, 2)) : null));
  };
  const searched = Object.keys(params).length > 0;
  const data = searched ? await get('/search' + qs(params)) : { items: [], next: null };
  const results = data.items.length
    ? table([{ key: 'event_time', label: t('at') },
             { key: 'group', label: t('group'), render: (m) => link('#/group/' + encodeURIComponent(m.group), m.group_name) },
             { key: 'nickname', label: t('member'), render: (m) => m.user_id ? link('#/member/' + encodeURIComponent(m.user_id), m.nickname || m.user_id) : '–' },
             { key: 'kind', label: t('kind') },
             { key: 'segments', label: t('text'), render: (m) => h('a', { href: '#', class: 'result', onclick: (ev) => { ev.preventDefault(); open(m.id); } }, segments(m.segments)) }], data.items)
    : h('p', { class: 'muted' }, searched ? t('no_results') : '');
  const offset = Number(params.after || 0);
  main.replaceChildren(h('h2', {}, t('search')), form, h('div', { id: 'search-results' }, results), opened,
    h('div', { class: 'pager' },
      offset > 0 ? h('button', { class: 'secondary', onclick: () => go({ ...params, after: Math.max(0, offset - 50) || undefined }) }, t('prev')) : null,
      data.next ? h('button', { class: 'secondary', onclick: () => go({ ...params, after: data.next }) }, t('next')) : null));
}
