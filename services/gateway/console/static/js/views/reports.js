// Reports: first response and resolution times (median, p90) and response
// rate per agent, channel or day, as charts and the table they are drawn from.

import { h, replace, errorBox } from '../dom.js';
import { duration, percent, count } from '../format.js';
import { groupedBars, hbar, line } from '../charts.js';
import * as inboxapi from '../inboxapi.js';

function isoDay(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

// mount renders the reports page.
export function mount(root, params, ctx) {
  const { api } = ctx;
  let groupBy = 'agent';
  let channels = [];
  let seq = 0;
  document.title = 'Reports · Community Inbox';
  const today = new Date();
  const start = new Date(today);
  start.setDate(today.getDate() - 13);
  const from = h('input', { type: 'date', id: 'report-from', value: isoDay(start), max: isoDay(today) });
  const to = h('input', { type: 'date', id: 'report-to', value: isoDay(today), max: isoDay(today) });
  const tabs = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Group by' },
    [['agent', 'By agent'], ['channel', 'By channel'], ['day', 'By day']].map(([v, t]) => h('button', {
      type: 'button', class: 'seg', dataset: { groupBy: v }, 'aria-pressed': String(v === groupBy),
      onClick: () => {
        groupBy = v;
        for (const b of tabs.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.groupBy === v));
        load();
      },
    }, t)));
  const out = h('div', { class: 'report', 'aria-live': 'polite', 'aria-busy': 'false' });
  replace(root, h('div', { class: 'page' },
    h('h1', null, 'Response times'),
    h('form', { class: 'report-controls', onSubmit: (ev) => { ev.preventDefault(); load(); } },
      h('div', { class: 'field inline' }, h('label', { for: 'report-from' }, 'From'), from),
      h('div', { class: 'field inline' }, h('label', { for: 'report-to' }, 'To'), to),
      h('button', { type: 'submit', class: 'btn' }, 'Update'),
      tabs),
    out));

  function keyLabel(k) {
    if (groupBy === 'agent') return k ? ctx.userName(k) : 'Unanswered';
    if (groupBy === 'channel') {
      const c = channels.find((x) => x.id === k);
      return c ? c.name : k || 'Unknown channel';
    }
    return k;
  }

  async function load() {
    const my = ++seq;
    out.setAttribute('aria-busy', 'true');
    // "to" is inclusive for people; the API takes an exclusive end.
    const end = new Date(`${to.value}T00:00:00`);
    end.setDate(end.getDate() + 1);
    let rows;
    try {
      rows = await inboxapi.responseReport(api, new Date(`${from.value}T00:00:00`).toISOString(), end.toISOString(), groupBy);
    } catch (err) {
      if (my === seq) replace(out, errorBox(err, load));
      return;
    } finally {
      out.setAttribute('aria-busy', 'false');
    }
    if (my !== seq) return;
    if (rows === null) {
      replace(out, h('p', { class: 'notice' }, 'Reports are not available on this server yet.'));
      return;
    }
    if (!rows.length) {
      replace(out, h('p', { class: 'muted' }, 'No conversations in this period.'));
      return;
    }
    if (groupBy === 'day') rows.sort((a, b) => String(a.key).localeCompare(String(b.key)));
    const labels = rows.map((r) => keyLabel(r.key));
    const series = (a, b) => [{ name: 'Median', format: duration }, { name: '90th percentile', format: duration }].map((s, i) => ({ ...s, pick: i ? b : a }));
    const chart = (title, a, b) => {
      if (rows.every((r) => r[a] === null || r[a] === undefined)) {
        return h('p', { class: 'muted' }, a.startsWith('resolution') ? 'No conversation was resolved in this period.' : 'No conversation was answered in this period.');
      }
      if (groupBy === 'day') {
        return line({ title, labels, series: series(a, b).map((s) => ({ name: s.name, format: s.format, values: rows.map((r) => r[s.pick] ?? 0) })) });
      }
      return groupedBars({ title, series: series(a, b), groups: rows.map((r, i) => ({ label: labels[i], values: [r[a], r[b]] })) });
    };
    const rated = rows.filter((r) => typeof r.responseRate === 'number');
    replace(out,
      h('div', { class: 'two-col' },
        h('figure', { class: 'panel chart-figure' }, h('figcaption', null, h('h2', null, 'First response time')), chart('First response time, median and 90th percentile', 'firstMedian', 'firstP90')),
        h('figure', { class: 'panel chart-figure' }, h('figcaption', null, h('h2', null, 'Resolution time')), chart('Resolution time, median and 90th percentile', 'resolutionMedian', 'resolutionP90'))),
      rated.length ? h('figure', { class: 'panel chart-figure' }, h('figcaption', null, h('h2', null, 'Response rate')),
        hbar({ title: 'Share of conversations answered within target', items: rated.map((r) => ({ label: keyLabel(r.key), value: r.responseRate, display: percent(r.responseRate) })) })) : null,
      h('section', { class: 'panel' }, h('h2', null, 'Numbers'),
        h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'report-table' },
          h('thead', null, h('tr', null, [groupBy === 'agent' ? 'Agent' : groupBy === 'channel' ? 'Channel' : 'Day', 'Conversations',
            'First response (median)', 'First response (p90)', 'Resolution (median)', 'Resolution (p90)', 'Response rate'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', null, rows.map((r, i) => h('tr', { dataset: { key: r.key } },
            h('th', { scope: 'row' }, labels[i]),
            h('td', { class: 'num' }, count(r.count)),
            h('td', { class: 'num' }, duration(r.firstMedian)),
            h('td', { class: 'num' }, duration(r.firstP90)),
            h('td', { class: 'num' }, duration(r.resolutionMedian)),
            h('td', { class: 'num' }, duration(r.resolutionP90)),
            h('td', { class: 'num' }, percent(r.responseRate)))))))));
  }

  inboxapi.channels(api).then((c) => { channels = c; }).catch(() => {}).finally(load);
  return { destroy() { seq += 1; } };
}
