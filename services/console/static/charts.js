// Chart.js from Debian's libjs-chart.js, served by the console itself at
// /vendor/chart.js/ (never a CDN). A drawn chart marks its canvas with
// data-drawn="true" (the browser test waits for it).
import { Chart, registerables } from '/vendor/chart.js/chart.esm.js';
Chart.register(...registerables);

const drawnMarker = {
  id: 'qyDrawn',
  afterRender (chart) { chart.canvas.dataset.drawn = 'true'; }
};

const palette = ['#2680c2', '#0e7c3a', '#cb6e17', '#ab091e', '#7b61ff', '#829ab1', '#f0b429'];

export function lineChart (canvas, labels, series) {
  return new Chart(canvas, {
    type: 'line',
    data: { labels, datasets: series.map((s, i) => ({ label: s.label, data: s.data, borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], tension: 0.2, pointRadius: 0 })) },
    options: { responsive: true, maintainAspectRatio: false, animation: false, interaction: { mode: 'index', intersect: false } },
    plugins: [drawnMarker]
  });
}

export function barChart (canvas, labels, series, opts = {}) {
  return new Chart(canvas, {
    type: 'bar',
    data: { labels, datasets: series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: s.colors || palette[i % palette.length] })) },
    options: { responsive: true, maintainAspectRatio: false, animation: false, indexAxis: opts.horizontal ? 'y' : 'x' },
    plugins: [drawnMarker]
  });
}

export function doughnut (canvas, labels, data) {
  return new Chart(canvas, {
    type: 'doughnut',
    data: { labels, datasets: [{ data, backgroundColor: palette }] },
    options: { responsive: true, maintainAspectRatio: false, animation: false },
    plugins: [drawnMarker]
  });
}
