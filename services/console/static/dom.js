// Building the page from data without innerHTML: text is always text.
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// A table from rows and column definitions [{key, label, render?}].
export function table (columns, rows, opts = {}) {
  const head = h('tr', {}, columns.map((c) => h('th', {
    class: c.sort ? 'sortable' : null, onclick: c.sort && opts.onSort ? () => opts.onSort(c.sort) : null
  }, c.label)));
  const body = rows.map((r, i) => h('tr', { dataset: { index: i } },
    columns.map((c) => h('td', {}, c.render ? c.render(r) : fmt(r[c.key])))));
  return h('table', {}, h('thead', {}, head), h('tbody', {}, body));
}

export function fmt (v) {
  if (v === null || v === undefined) return '–';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:/.test(v)) return v.replace('T', ' ').slice(0, 19);
  return String(v);
}

// Text segments [{t, hit}] with the hits marked.
export function segments (segs, cls = 'hit') {
  return (segs || []).map((s) => s.hit ? h('mark', { class: cls }, s.t) : s.t);
}

export function link (href, text) { return h('a', { href }, text); }
