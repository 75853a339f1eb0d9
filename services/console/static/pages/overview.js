// Overview for the user's scope: today vs yesterday, trends over 7/30/90
// days, groups by health state, stores ranked, current alerts.
import { get, qs } from '../api.js';
import { t } from '../i18n.js';
import { h, table, link } from '../dom.js';
import { lineChart, doughnut, barChart } from '../charts.js';

function card (key, today, yesterday) {
  const v = today ?? 0, y = yesterday ?? 0, d = v - y;
  return h('div', { class: 'card', dataset: { card: key } },
    h('div', { class: 'muted' }, t(key)), h('div', { class: 'value' }, String(v)),
    yesterday === undefined ? null : h('div', { class: 'delta ' + (d >= 0 ? 'up' : 'down') }, `${t('yesterday')} ${y} (${d >= 0 ? '+' : ''}${d})`));
}

export async function overviewPage (main, hash) {
  const days = new URLSearchParams(hash.split('?')[1] || '').get('days') || '30';
  const o = await get('/overview' + qs({ days }));
  const today = o.cards.today || {}, yest = o.cards.yesterday || {};
  const trend = h('canvas', { id: 'trend-chart' }), states = h('canvas', { id: 'states-chart' }), stores = h('canvas', { id: 'stores-chart' });
  main.replaceChildren(
    h('h2', {}, t('overview'), ' ', h('span', { class: 'muted' }, o.today)),
    h('div', { class: 'cards' },
      ['messages', 'active', 'joins', 'leaves', 'violations'].map((k) => card(k, today[k], yest[k] ?? 0)),
      card('open_reviews', o.cards.open_reviews), card('pending_jobs', o.cards.pending_jobs)),
    h('div', { class: 'panel' },
      h('h3', {}, t('trend'), ' ', ...['7', '30', '90'].map((d) => h('a', { href: '#/overview?days=' + d, class: d === days ? 'active' : null }, ` ${d}${t('days')} `))),
      h('div', { class: 'chart' }, trend)),
    h('div', { class: 'grid2' },
      h('div', { class: 'panel' }, h('h3', {}, t('states')), h('div', { class: 'chart' }, states)),
      h('div', { class: 'panel' }, h('h3', {}, t('stores_ranked')), h('div', { class: 'chart' }, stores))),
    h('div', { class: 'panel' }, h('h3', {}, t('stores_ranked')),
      table([{ key: 'code', label: t('store'), render: (s) => link('#/groups?store=' + encodeURIComponent(s.code), `${s.name} (${s.code})`) },
             { key: 'groups', label: t('groups') }, { key: 'health', label: t('health') }, { key: 'sop_compliance', label: t('sop') + ' %' }], o.stores)),
    h('div', { class: 'panel' }, h('h3', {}, t('alerts')),
      o.alerts.length ? table([{ key: 'created_at', label: t('at') }, { key: 'status', label: t('status') }, { key: 'text', label: t('text') }], o.alerts)
                      : h('p', { class: 'muted' }, t('none'))));
  const labels = o.trend.map((d) => d.day);
  lineChart(trend, labels, ['messages', 'active', 'joins', 'leaves', 'violations'].map((k) => ({ label: t(k), data: o.trend.map((d) => d[k]) })));
  const order = ['growing', 'healthy', 'declining', 'zombie'];
  doughnut(states, order.map(t), order.map((s) => o.states[s] || 0));
  const top = o.stores.slice(0, 15);
  barChart(stores, top.map((s) => s.name), [{ label: t('health'), data: top.map((s) => s.health) }, { label: t('sop'), data: top.map((s) => s.sop_compliance) }], { horizontal: true });
}
