// The groups list: filter (store, region, state, tag, type, size, health),
// sort, pages, CSV export; tags and positioning set from the profile.
import { get, qs } from '../api.js';
import { t } from '../i18n.js';
import { h, table, link } from '../dom.js';

export async function groupsPage (main, hash) {
  const params = Object.fromEntries(new URLSearchParams(hash.split('?')[1] || ''));
  const data = await get('/groups' + qs(params));
  const go = (p) => { location.hash = '#/groups' + qs(p); };
  const input = (name, label, attrs = {}) => h('label', {}, t(label), h('input', { name, value: params[name] || '', ...attrs }));
  const form = h('form', { class: 'filters', onsubmit: (ev) => {
    ev.preventDefault();
    const f = Object.fromEntries(new FormData(ev.target));
    go({ ...f, sort: params.sort });
  } },
    input('q', 'name'), input('store', 'store'), input('region', 'region'),
    h('label', {}, t('state'), h('select', { name: 'state' }, h('option', { value: '' }, '–'),
      ['growing', 'healthy', 'declining', 'zombie'].map((s) => h('option', { value: s, selected: params.state === s }, t(s))))),
    input('tag', 'tag'), input('type', 'type'),
    input('min_size', 'size', { type: 'number', min: 0, placeholder: '≥' }), input('max_size', 'size', { type: 'number', min: 0, placeholder: '≤' }),
    input('min_health', 'health', { type: 'number', min: 0, max: 100, placeholder: '≥' }), input('max_health', 'health', { type: 'number', min: 0, max: 100, placeholder: '≤' }),
    h('button', { type: 'submit' }, t('filter')),
    h('a', { href: '/api/v1/groups.csv' + qs({ ...params, after: undefined, lang: document.documentElement.lang === 'en' ? 'en' : undefined }), download: 'groups.csv' }, t('export')));
  const sortBy = (key) => go({ ...params, after: undefined, sort: params.sort === key ? '-' + key : key });
  const cols = [
    { key: 'code', label: t('code'), sort: 'code', render: (g) => link('#/group/' + encodeURIComponent(g.code), g.code) },
    { key: 'name', label: t('name'), sort: 'name' },
    { key: 'store', label: t('store'), sort: 'store', render: (g) => g.store_name ? `${g.store_name} (${g.store})` : '–' },
    { key: 'region', label: t('region') },
    { key: 'type', label: t('type'), sort: 'type' },
    { key: 'positioning', label: t('positioning') },
    { key: 'tags', label: t('tags'), render: (g) => g.tags.map((x) => h('span', { class: 'tag' }, x)) },
    { key: 'members', label: t('size'), sort: 'size' },
    { key: 'state', label: t('state'), sort: 'state', render: (g) => g.state ? h('span', { class: 'state-' + g.state }, t(g.state)) : '–' },
    { key: 'health', label: t('health'), sort: 'health' },
    { key: 'msgs_per_day', label: t('activity'), sort: 'activity' }
  ];
  const offset = Number(params.after || 0);
  main.replaceChildren(h('h2', {}, t('groups')), form,
    h('div', { id: 'groups-table' }, table(cols, data.items, { onSort: sortBy })),
    h('div', { class: 'pager' },
      h('span', { class: 'muted' }, `${t('total')} ${data.total}`),
      offset > 0 ? h('button', { class: 'secondary', onclick: () => go({ ...params, after: Math.max(0, offset - 50) || undefined }) }, t('prev')) : null,
      data.next ? h('button', { class: 'secondary', onclick: () => go({ ...params, after: data.next }) }, t('next')) : null));
}
