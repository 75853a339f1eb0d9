// 规则 rules: the brand's rule set as the TSV `qyctl rules load` reads,
// edited here (a weight, a dictionary entry: one per line of a pattern),
// tried on the archive with the backtest before it is saved, showing what
// would have been flagged; saved only as it was last tried. Dictionaries,
// allow-lists and the per-layer policies are listed below.
import { get, api } from '../api.js';
import { t } from '../i18n.js';
import { h, table, fmt } from '../dom.js';
import { barChart } from '../charts.js';
import { showError } from '../app.js';

// A pattern as one TSV field: the parser's \n \t \\ escapes.
const esc = (s) => String(s).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');

export function rulesTsv (items) {
  return ['name\tkind\tcategory\tweight\tpattern\tdry_run',
    ...items.map((r) => [r.name, r.kind, r.category, r.weight, esc(r.pattern || ''), r.dry_run ? 1 : 0].join('\t'))].join('\n') + '\n';
}

function results (out, bt) {
  const chart = h('canvas', { id: 'backtest-chart' });
  const changedRules = bt.rules.filter((r) => r.delta !== 0);
  out.replaceChildren(
    h('p', { class: 'summary' }, `${t('bt_messages')}: ${bt.summary.messages} · ${t('bt_changed')}: ${bt.summary.changed} · ${bt.summary.days} ${t('days')}`),
    h('div', { class: 'panel' }, h('div', { class: 'chart' }, chart)),
    h('h3', {}, t('bt_verdicts')),
    table([{ key: 'now', label: t('bt_now') }, { key: 'proposed', label: t('bt_proposed') }, { key: 'messages', label: t('messages') }], bt.verdict_changes),
    h('h3', {}, t('bt_flagged')),
    table([{ key: 'msg_id', label: 'msg_id' }, { key: 'now', label: t('bt_now') }, { key: 'proposed', label: t('bt_proposed') },
      { key: 'text', label: t('text') }], bt.changed));
  const rows = changedRules.length ? changedRules : bt.rules;
  barChart(chart, rows.map((r) => r.rule), [
    { label: t('bt_now'), data: rows.map((r) => r.hits_now) },
    { label: t('bt_proposed'), data: rows.map((r) => r.proposed) }]);
}

export async function rulesPage (main) {
  const data = await get('/rules');
  const editor = h('textarea', { id: 'rules-tsv', rows: 14, spellcheck: 'false' }, rulesTsv(data.items));
  const days = h('select', { id: 'rules-days' }, [1, 7, 30, 90].map((d) => h('option', { value: d, selected: d === 7 }, `${d} ${t('days')}`)));
  const out = h('div', { id: 'backtest' });
  const note = h('span', { class: 'muted', id: 'rules-note' });
  let tried = null;
  const save = h('button', { id: 'rules-save', disabled: true, onclick: async () => {
    try {
      const r = await api('POST', '/rules', { rules: tried });
      note.textContent = `${t('saved')}: ${r.saved}`;
      save.disabled = true;
    } catch (e) { showError(e); }
  } }, t('save'));
  const run = h('button', { id: 'rules-backtest', onclick: async () => {
    showError(null);
    run.disabled = true;
    out.replaceChildren(h('p', { class: 'muted' }, t('loading')));
    try {
      const text = editor.value;
      results(out, await api('POST', '/rules/backtest', { rules: text, days: Number(days.value), examples: 50 }));
      tried = text;
      save.disabled = false;
      note.textContent = t('bt_then_save');
    } catch (e) { out.replaceChildren(); showError(e); } finally { run.disabled = false; }
  } }, t('backtest'));
  editor.addEventListener('input', () => { save.disabled = editor.value !== tried; });
  main.replaceChildren(h('h2', {}, t('rules')),
    h('p', { class: 'muted' }, t('rules_help')), editor,
    h('div', { class: 'toolbar' }, days, run, save, note), out,
    h('h3', {}, t('rules_current')),
    table(['name', 'kind', 'category', 'pattern', 'weight', 'dry_run', 'enabled'].map((k) => ({ key: k, label: t(k) === k ? k : t(k) })), data.items),
    h('h3', {}, t('lists')), table(['list', 'category', 'value', 'created_by', 'created_at'].map((k) => ({ key: k, label: k })), data.lists),
    h('h3', {}, t('policies')), table([{ key: 'scope', label: 'scope' }, { key: 'scope_key', label: 'key' },
      { key: 'settings', label: 'settings', render: (p) => JSON.stringify(p.settings) }, { key: 'updated_at', label: t('at'), render: (p) => fmt(p.updated_at) }], data.policies));
}
