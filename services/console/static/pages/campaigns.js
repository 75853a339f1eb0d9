// 活动 campaigns: measurement per step and variant (posts sent, members'
// replies within an hour, conversions) and SOP compliance per store as
// charts, from GET /campaigns/report (qyctl campaign report's figures);
// the campaigns with pause and resume; and the definition editor: a
// playbook document (docs/campaign.md) validated with its errors shown,
// then applied. HQ and admins change; a region manager reads.
import { get, api, qs } from '../api.js';
import { t } from '../i18n.js';
import { h, table, fmt } from '../dom.js';
import { barChart } from '../charts.js';
import { showError, currentRole } from '../app.js';

const stepLabel = (s) => `${s.campaign} · ${t('step')} ${s.step}${s.variant ? ' · ' + s.variant : ''}`;

function charts (report) {
  const steps = h('canvas', { id: 'campaign-steps-chart' }), sop = h('canvas', { id: 'campaign-sop-chart' });
  const panel = h('div', { class: 'grid2' },
    h('div', { class: 'panel' }, h('h3', {}, t('measurement')), h('div', { class: 'chart' }, steps)),
    h('div', { class: 'panel' }, h('h3', {}, t('sop_per_store')), h('div', { class: 'chart' }, sop)));
  return { panel, draw: () => {
    barChart(steps, report.steps.map(stepLabel), [
      { label: t('sent'), data: report.steps.map((s) => s.sent) },
      { label: t('replies_1h'), data: report.steps.map((s) => s.replies_1h) },
      { label: t('conversions'), data: report.steps.map((s) => s.conversions) }]);
    barChart(sop, report.stores.map((s) => s.name || s.store), [
      { label: t('sop') + ' %', data: report.stores.map((s) => s.compliance_pct) }], { horizontal: true });
  } };
}

function toggle (c, reload) {
  return h('button', { class: 'secondary', onclick: async () => {
    try {
      await api('POST', `/campaigns/${encodeURIComponent(c.name)}/${c.enabled ? 'pause' : 'resume'}`, {});
      await reload();
    } catch (e) { showError(e); }
  } }, t(c.enabled ? 'pause' : 'resume'));
}

// The definition editor: validate shows the first problem as qyctl words
// it; apply asks again before re-planning steps not yet sent.
function editor (brand, reload) {
  const doc = h('textarea', { id: 'campaign-doc', rows: 14, spellcheck: 'false' },
    JSON.stringify({ brand, campaigns: [] }, null, 2));
  const out = h('div', { id: 'campaign-result' });
  const replan = h('input', { type: 'checkbox', id: 'campaign-replan' });
  const send = async (path) => {
    showError(null);
    let body;
    try { body = JSON.parse(doc.value); } catch (e) {
      out.replaceChildren(h('p', { class: 'error-box' }, `JSON: ${e.message}`));
      return;
    }
    try {
      const r = await api('POST', path, body);
      out.replaceChildren(h('p', { class: 'ok' }, path.includes('validate') ? t('valid') : t('applied')),
        table(Object.keys((r.campaigns || [])[0] || { name: 1 }).map((k) => ({ key: k, label: k })), r.campaigns || []));
      if (!path.includes('validate')) await reload();
    } catch (e) { out.replaceChildren(h('p', { class: 'error-box' }, `${e.status}: ${e.message}`)); }
  };
  const load = (c) => { doc.value = JSON.stringify({ brand, campaigns: [{ ...c.definition, name: c.name }] }, null, 2); out.replaceChildren(); };
  const el = h('div', { class: 'panel' }, h('h3', {}, t('campaign_edit')), h('p', { class: 'muted' }, t('campaign_help')), doc,
    h('div', { class: 'toolbar' },
      h('button', { id: 'campaign-validate', onclick: () => send('/campaigns/validate') }, t('validate')),
      h('button', { id: 'campaign-apply', onclick: () => send('/campaigns/apply' + (replan.checked ? '?replan=yes' : '')) }, t('apply')),
      h('label', {}, replan, ' ', t('replan'))), out);
  return { el, load };
}

export async function campaignsPage (main, hash) {
  const days = new URLSearchParams(hash.split('?')[1] || '').get('days') || '30';
  const canChange = ['admin', 'hq'].includes(currentRole());
  const me = await get('/session');
  const edit = canChange ? editor(me.brand, () => render()) : null;
  const body = h('div', {});
  async function render () {
    const [list, report] = await Promise.all([get('/campaigns'), get('/campaigns/report' + qs({ days }))]);
    const c = charts(report);
    const cols = ['name', 'trigger', 'enabled', 'version', 'updated_at', 'conversions'].map((k) => ({ key: k, label: t(k) === k ? k : t(k) }));
    cols.push({ key: 'jobs', label: t('jobs'), render: (r) => r.jobs ? Object.entries(r.jobs).map(([k, v]) => `${k} ${v}`).join(', ') : '–' });
    if (canChange) {
      cols.push({ key: 'toggle', label: '', render: (r) => toggle(r, render) });
      cols.push({ key: 'edit', label: '', render: (r) => h('button', { class: 'secondary', onclick: () => edit.load(r) }, t('edit')) });
    }
    body.replaceChildren(c.panel,
      h('h3', {}, t('campaigns')), table(cols, list.items),
      h('h3', {}, t('measurement')),
      h('div', { id: 'campaign-steps' }, table(['campaign', 'step', 'variant', 'sent', 'delivered', 'blocked', 'replies_1h', 'conversions', 'revenue_cents']
        .map((k) => ({ key: k, label: t(k) === k ? k : t(k) })), report.steps)),
      h('h3', {}, t('sop_per_store')),
      table(['store', 'name', 'due', 'done', 'excused', 'missed', 'compliance_pct'].map((k) => ({ key: k, label: t(k) === k ? k : t(k), render: (r) => fmt(r[k]) })), report.stores),
      h('h3', {}, t('blocked_by_guard')),
      table(['campaign', 'guard', 'jobs'].map((k) => ({ key: k, label: t(k) === k ? k : t(k) })), report.blocked));
    c.draw();
  }
  const range = h('select', { id: 'campaign-days', onchange: (ev) => { location.hash = '#/campaigns?days=' + ev.target.value; } },
    ['7', '30', '90'].map((d) => h('option', { value: d, selected: d === days }, `${d} ${t('days')}`)));
  main.replaceChildren(h('h2', {}, t('campaigns')), h('div', { class: 'toolbar' }, range), body, edit ? edit.el : '');
  await render();
}
