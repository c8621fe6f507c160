// charts.js draws small inline SVG charts. Each chart is an image with a text
// alternative (role="img", <title>, <desc>); the views print the same numbers
// in a table next to it, so nothing is only in the picture.

import { s, uid } from './dom.js';

const PALETTE = ['#0b57d0', '#b3261e', '#0f6d31', '#8a4b00', '#6b3fa0', '#006a6a'];

function frame(title, desc, width, height, cls) {
  const tid = uid('chart-title');
  const did = uid('chart-desc');
  return s('svg', {
    class: ['chart', cls], viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-labelledby': `${tid} ${did}`,
    preserveAspectRatio: 'xMidYMid meet', focusable: 'false',
  }, s('title', { id: tid }, title), s('desc', { id: did }, desc));
}

// fitWidth is a chart width close to the screen's, so its text stays readable
// on a phone instead of being scaled down with a wide drawing.
export function fitWidth(max = 640) {
  return Math.round(Math.min(max, Math.max(300, window.innerWidth - 72)));
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// hbar draws horizontal bars, one per item: {label, value (number), display (text)}.
export function hbar({ title, items, width = fitWidth(520), rowHeight = 30 }) {
  const labelW = Math.min(130, width * 0.28);
  const valueW = 110;
  const height = items.length * rowHeight + 10;
  const max = niceMax(Math.max(0, ...items.map((i) => i.value)));
  const desc = items.map((i) => `${i.label}: ${i.display}`).join('; ');
  const svg = frame(title, desc, width, height, 'chart-hbar');
  const plotW = width - labelW - valueW;
  items.forEach((it, i) => {
    const y = 5 + i * rowHeight;
    const w = it.value > 0 ? Math.max(2, (it.value / max) * plotW) : 0;
    svg.appendChild(s('text', { x: labelW - 8, y: y + rowHeight / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'chart-label' }, it.label));
    svg.appendChild(s('rect', { x: labelW, y: y + 4, width: w, height: rowHeight - 8, rx: 3, fill: it.color || PALETTE[i % PALETTE.length] },
      s('title', null, `${it.label}: ${it.display}`)));
    svg.appendChild(s('text', { x: labelW + w + 6, y: y + rowHeight / 2, 'dominant-baseline': 'middle', class: 'chart-value' }, it.display));
  });
  return svg;
}

// groupedBars draws vertical bars for several series per group:
// groups [{label, values:[number]}], series [{name, format(v)}].
export function groupedBars({ title, groups, series, width = fitWidth(), height = 260 }) {
  const left = 56;
  const bottom = 46;
  const top = 26;
  const plotH = height - bottom - top;
  const plotW = width - left - 10;
  const max = niceMax(Math.max(0, ...groups.flatMap((g) => g.values.filter((v) => v !== null && v !== undefined))));
  const desc = groups.map((g) => `${g.label}: ${series.map((sr, i) => `${sr.name} ${sr.format(g.values[i])}`).join(', ')}`).join('; ');
  const svg = frame(title, desc, width, height, 'chart-bars');
  // Axis with three ticks.
  for (let t = 0; t <= 2; t++) {
    const v = (max * t) / 2;
    const y = top + plotH - (plotH * t) / 2;
    svg.appendChild(s('line', { x1: left, x2: width - 10, y1: y, y2: y, class: 'chart-grid' }));
    svg.appendChild(s('text', { x: left - 6, y, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'chart-axis' }, series[0].format(v)));
  }
  const gw = groups.length ? plotW / groups.length : plotW;
  const bw = Math.max(3, Math.min(28, (gw - 8) / series.length));
  groups.forEach((g, gi) => {
    const gx = left + gi * gw + (gw - bw * series.length) / 2;
    g.values.forEach((v, si) => {
      if (v === null || v === undefined) return;
      const hgt = (Math.max(0, v) / max) * plotH;
      svg.appendChild(s('rect', { x: gx + si * bw, y: top + plotH - hgt, width: bw - 2, height: hgt, fill: PALETTE[si % PALETTE.length] },
        s('title', null, `${g.label} · ${series[si].name}: ${series[si].format(v)}`)));
    });
    if (groups.length <= 16 || gi % Math.ceil(groups.length / 16) === 0) {
      svg.appendChild(s('text', { x: left + gi * gw + gw / 2, y: height - bottom + 16, 'text-anchor': 'middle', class: 'chart-axis' }, shorten(g.label, 14)));
    }
  });
  legend(svg, series.map((sr) => sr.name), left, 14);
  return svg;
}

// line draws one or more series over the same labels:
// labels [string], series [{name, values:[number], format(v)}].
export function line({ title, labels, series, width = fitWidth(), height = 240 }) {
  const left = 64;
  const bottom = 40;
  const top = 26;
  const plotH = height - bottom - top;
  const plotW = width - left - 16;
  const all = series.flatMap((sr) => sr.values);
  const min = Math.min(0, ...all);
  const max = niceMax(Math.max(0, ...all));
  const span = max - min || 1;
  const x = (i) => left + (labels.length <= 1 ? plotW / 2 : (plotW * i) / (labels.length - 1));
  const y = (v) => top + plotH - ((v - min) / span) * plotH;
  const desc = labels.map((l, i) => `${l}: ${series.map((sr) => `${sr.name} ${sr.format(sr.values[i])}`).join(', ')}`).join('; ');
  const svg = frame(title, desc, width, height, 'chart-line');
  for (const v of [min, (min + max) / 2, max]) {
    svg.appendChild(s('line', { x1: left, x2: width - 16, y1: y(v), y2: y(v), class: 'chart-grid' }));
    svg.appendChild(s('text', { x: left - 6, y: y(v), 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'chart-axis' }, series[0].format(v)));
  }
  series.forEach((sr, si) => {
    const color = PALETTE[si % PALETTE.length];
    const pts = sr.values.map((v, i) => `${x(i)},${y(v)}`).join(' ');
    svg.appendChild(s('polyline', { points: pts, fill: 'none', stroke: color, 'stroke-width': 2.5 }));
    sr.values.forEach((v, i) => {
      svg.appendChild(s('circle', { cx: x(i), cy: y(v), r: 3.5, fill: color }, s('title', null, `${labels[i]} · ${sr.name}: ${sr.format(v)}`)));
    });
  });
  const every = Math.max(1, Math.ceil(labels.length / 12));
  labels.forEach((l, i) => {
    if (i % every === 0 || i === labels.length - 1) {
      const anchor = labels.length > 1 && i === 0 ? 'start' : labels.length > 1 && i === labels.length - 1 ? 'end' : 'middle';
      svg.appendChild(s('text', { x: x(i), y: height - bottom + 18, 'text-anchor': anchor, class: 'chart-axis' }, l));
    }
  });
  legend(svg, series.map((sr) => sr.name), left, 14);
  return svg;
}

function legend(svg, names, x0, y0) {
  if (names.length < 2) return;
  let x = x0;
  names.forEach((n, i) => {
    svg.appendChild(s('rect', { x, y: y0 - 9, width: 10, height: 10, fill: PALETTE[i % PALETTE.length] }));
    svg.appendChild(s('text', { x: x + 14, y: y0, class: 'chart-axis' }, n));
    x += 24 + n.length * 7;
  });
}

function shorten(t, n) {
  const str = String(t);
  return str.length > n ? `${str.slice(0, n - 1)}…` : str;
}
