// A group's profile: health and its parts over time, members with their
// standing, clean-out / one-in-one-out suggestions, channel mix, recent
// messages, violations and campaign posts; tags and positioning editable
// by HQ and region managers.
import { get, api, qs } from '../api.js';
import { t } from '../i18n.js';
import { h, table, link, fmt } from '../dom.js';
import { lineChart, doughnut } from '../charts.js';
import { showError, currentRole } from '../app.js';

function editor (g) {
  const tags = h('input', { name: 'tags', value: g.tags.join(', ') });
  const pos = h('input', { name: 'positioning', value: g.positioning || '' });
  const note = h('span', { class: 'muted' });
  return h('form', { class: 'filters', id: 'group-edit', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const body = { tags: tags.value.split(/[,，]/).map((s) => s.trim()).filter(Boolean), positioning: pos.value.trim() || null };
      const r = await api('PATCH', '/groups/' + encodeURIComponent(g.code), body);
      note.textContent = '✓ ' + r.tags.join(', ');
    } catch (e) { showError(e); }
  } }, h('label', {}, t('tags'), tags), h('label', {}, t('positioning'), pos), h('button', { type: 'submit' }, t('save')), note);
}

export async function groupPage (main, code) {
  const [g, p] = await Promise.all([get('/groups/' + encodeURIComponent(code)), get('/groups/' + encodeURIComponent(code) + '/profile' + qs({ days: 90 }))]);
  const chart = h('canvas', { id: 'group-chart' }), mix = h('canvas', { id: 'channel-chart' });
  const healthChart = h('canvas', { id: 'health-chart' });
  const measures = g.measures ? Object.entries(g.measures).filter(([k]) => !['day', 'updated_at'].includes(k)) : [];
  main.replaceChildren(
    h('h2', {}, `${g.name} (${g.code})`),
    h('p', {}, `${t('store')}: ${g.store_name || '–'} · ${t('type')}: ${g.type} · ${t('state')}: `,
      g.state ? h('span', { class: 'state-' + g.state }, t(g.state)) : '–', ` · ${t('health')}: `, h('strong', { id: 'group-health' }, fmt(g.health)),
      ` · ${t('capacity')}: ${g.capacity}`),
    ['admin', 'hq', 'region'].includes(currentRole()) ? editor(g) : h('p', {}, `${t('tags')}: `, g.tags.map((x) => h('span', { class: 'tag' }, x)), ` · ${t('positioning')}: ${g.positioning || '–'}`),
    h('div', { class: 'panel' }, h('h3', {}, t('health_history')), p.health.length
      ? h('div', { class: 'chart' }, healthChart) : h('p', { class: 'muted', id: 'health-none' }, t('none'))),
    h('div', { class: 'panel' }, h('h3', {}, t('trend')), h('div', { class: 'chart' }, chart)),
    h('div', { class: 'grid2' },
      h('div', { class: 'panel' }, h('h3', {}, t('health_parts')), measures.length
        ? table([{ key: 0, label: '' }, { key: 1, label: '' }], measures.map(([k, v]) => ({ 0: k, 1: typeof v === 'number' ? Math.round(v * 1000) / 1000 : v })))
        : h('p', { class: 'muted' }, t('none'))),
      h('div', { class: 'panel' }, h('h3', {}, t('channel_mix')), h('div', { class: 'chart' }, mix))),
    h('div', { class: 'panel' }, h('h3', {}, t('standing'), ' ', h('span', { class: 'muted' }, Object.entries(p.standing).map(([k, v]) => `${k} ${v}`).join(' · '))),
      table([{ key: 'user_id', label: t('member'), render: (m) => link('#/member/' + encodeURIComponent(m.user_id), m.nickname || m.user_id) },
             { key: 'role', label: t('role') }, { key: 'trust_level', label: t('trust') }, { key: 'state', label: t('state') },
             { key: 'activity', label: t('activity') }, { key: 'contribution', label: t('contribution') },
             { key: 'channel', label: t('channels') }, { key: 'joined_at', label: t('joined') }], p.members)),
    h('div', { class: 'panel' }, h('h3', {}, t('suggestions')), p.suggestions.length
      ? table([{ key: 'kind', label: t('kind') }, { key: 'rank', label: '#' }, { key: 'nickname', label: t('member') },
               { key: 'score', label: t('score') }, { key: 'reason', label: t('reason') }, { key: 'needed', label: 'n' }], p.suggestions)
      : h('p', { class: 'muted' }, t('none'))),
    h('div', { class: 'panel' }, h('h3', {}, t('recent_messages')),
      table([{ key: 'event_time', label: t('at') }, { key: 'nickname', label: t('member') }, { key: 'kind', label: t('kind') }, { key: 'text', label: t('text') }], p.messages)),
    h('div', { class: 'panel' }, h('h3', {}, t('violations')),
      table([{ key: 'created_at', label: t('at') }, { key: 'user_id', label: t('member') }, { key: 'category', label: t('category') },
             { key: 'action', label: t('action') }, { key: 'status', label: t('status') }, { key: 'excerpt', label: t('text') }], p.violations)),
    h('div', { class: 'panel' }, h('h3', {}, t('posts')),
      table([{ key: 'sent_at', label: t('at') }, { key: 'campaign', label: t('campaigns') }, { key: 'variant', label: 'variant' }, { key: 'text', label: t('text') }], p.posts)));
  lineChart(chart, p.days.map((d) => d.day), ['messages', 'active', 'joins', 'leaves', 'violations'].map((k) => ({ label: t(k), data: p.days.map((d) => d[k]) })));
  // The score (0–100) beside its parts as percentages, one point a day.
  if (p.health.length) {
    lineChart(healthChart, p.health.map((d) => d.day), [{ label: t('health'), data: p.health.map((d) => d.health) },
      ...['active_ratio', 'self_activation', 'top3_share', 'growth_rate', 'leave_rate'].map((k) =>
        ({ label: t(k) + ' %', data: p.health.map((d) => Math.round(d[k] * 1000) / 10) }))]);
  }
  doughnut(mix, p.channels.map((c) => c.channel), p.channels.map((c) => c.joins));
}
