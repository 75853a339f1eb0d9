// A member's profile: groups and channel of origin, activity over time,
// violations, strikes, mutes and blocks, campaign interactions, opt-out.
import { get } from '../api.js';
import { t } from '../i18n.js';
import { h, table, link, fmt } from '../dom.js';
import { barChart } from '../charts.js';

export async function memberPage (main, user) {
  const m = await get('/members/' + encodeURIComponent(user));
  const chart = h('canvas', { id: 'member-chart' });
  const c = m.campaigns;
  main.replaceChildren(
    h('h2', {}, `${m.nickname || m.user_id} (${m.user_id})`),
    h('div', { class: 'cards' },
      h('div', { class: 'card' }, h('div', { class: 'muted' }, t('strikes')), h('div', { class: 'value' }, String(m.strikes))),
      h('div', { class: 'card' }, h('div', { class: 'muted' }, t('muted_until')), h('div', {}, fmt(m.muted_until))),
      h('div', { class: 'card' }, h('div', { class: 'muted' }, t('block')), h('div', {}, m.block && !m.block.lifted_at ? m.block.reason : t('none'))),
      h('div', { class: 'card' }, h('div', { class: 'muted' }, t('opted_out')), h('div', {}, c.opted_out ? fmt(c.opted_out.at) : t('none'))),
      h('div', { class: 'card' }, h('div', { class: 'muted' }, t('campaign_interactions')),
        h('div', {}, `contacts ${c.contacts} · entries ${c.entries} · check-ins ${c.checkins} · conversions ${c.conversions}`))),
    h('div', { class: 'panel' }, h('h3', {}, t('groups_of')),
      table([{ key: 'code', label: t('group'), render: (g) => link('#/group/' + encodeURIComponent(g.code), g.name) },
             { key: 'role', label: t('role') }, { key: 'joined_at', label: t('joined') }, { key: 'left_at', label: t('leaves') },
             { key: 'channel', label: t('channels') }, { key: 'join_scene', label: 'scene' }, { key: 'state', label: t('state') },
             { key: 'trust_level', label: t('trust') }], m.groups)),
    h('div', { class: 'panel' }, h('h3', {}, t('activity')), h('div', { class: 'chart' }, chart)),
    h('div', { class: 'panel' }, h('h3', {}, t('violations')),
      table([{ key: 'created_at', label: t('at') }, { key: 'group', label: t('group') }, { key: 'category', label: t('category') },
             { key: 'action', label: t('action') }, { key: 'strike', label: t('strikes') }, { key: 'status', label: t('status') },
             { key: 'mute_until', label: t('muted_until') }, { key: 'excerpt', label: t('text') }], m.violations)),
    h('p', {}, `${t('tags')}: `, m.tags.map((x) => h('span', { class: 'tag' }, x))));
  barChart(chart, m.activity.map((d) => d.day), [{ label: t('messages'), data: m.activity.map((d) => d.messages) }]);
}
