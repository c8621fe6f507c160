// Segments: saved customer filters with their counts, their members and a
// CSV export; managers create and delete them.

import { h, replace, errorBox, errorText, field } from '../dom.js';
import { count, platformName } from '../format.js';
import { formatMoney, parseMoney } from '../money.js';
import { toast } from '../notify.js';
import * as crm from '../crmapi.js';

function describe(f, currency) {
  const parts = [];
  if (f.q) parts.push(`text “${f.q}”`);
  if (f.platform) parts.push(platformName(f.platform));
  if (f.tier) parts.push(`tier ${f.tier}`);
  if (f.country) parts.push(`country ${f.country}`);
  if (f.label) parts.push(`label ${f.label}`);
  if (f.total_min !== undefined && f.total_min !== null) parts.push(`total ≥ ${currency ? formatMoney(f.total_min, currency) : f.total_min}`);
  if (f.age_min !== undefined) parts.push(`age ≥ ${f.age_min}`);
  if (f.age_max !== undefined) parts.push(`age ≤ ${f.age_max}`);
  return parts.length ? parts.join(', ') : 'everyone';
}

// mount renders the segments page.
export function mount(root, params, ctx) {
  const { api } = ctx;
  let currency = '';
  let destroyed = false;
  document.title = 'Segments · Community Inbox';
  const listEl = h('div', { class: 'segment-list', 'aria-live': 'polite' });
  const createBox = h('div');
  replace(root, h('div', { class: 'page' }, h('h1', null, 'Segments'), createBox, listEl));

  async function load() {
    replace(listEl, h('p', { class: 'loading' }, 'Loading segments…'));
    let segs;
    try {
      segs = await crm.segments(api);
    } catch (err) {
      if (!destroyed) replace(listEl, errorBox(err, load));
      return;
    }
    if (destroyed) return;
    if (!segs.length) {
      replace(listEl, h('p', { class: 'muted' }, ctx.isManager ? 'No segments yet. Create one above.' : 'No segments yet.'));
      return;
    }
    replace(listEl, h('ul', { class: 'cards' }, segs.map((seg) => segmentCard(seg))));
  }

  function segmentCard(seg) {
    const countEl = h('span', { class: 'seg-count', dataset: { segmentId: seg.id } }, '…');
    const members = h('div', { class: 'segment-members', hidden: true });
    const showBtn = h('button', { type: 'button', class: 'btn', 'aria-expanded': 'false', onClick: () => toggleMembers() }, 'Show customers');
    crm.segmentCount(api, seg.id).then((n) => { countEl.textContent = `${count(n)} customers`; countEl.dataset.count = n; })
      .catch(() => { countEl.textContent = 'count unavailable'; });

    async function toggleMembers() {
      const open = members.hidden;
      members.hidden = !open;
      showBtn.setAttribute('aria-expanded', String(open));
      showBtn.textContent = open ? 'Hide customers' : 'Show customers';
      if (!open) return;
      replace(members, h('p', { class: 'loading' }, 'Loading…'));
      try {
        const page = await crm.segmentContacts(api, seg.id, { limit: 50, sort: ctx.isManager ? '-total' : '' });
        replace(members, page.items.length ? h('ul', { class: 'plain' }, page.items.map((ct) => h('li', null,
          h('a', { href: `/contacts/${encodeURIComponent(ct.id)}` }, ct.name || ct.id),
          ct.value ? h('span', { class: 'muted' }, ` · ${formatMoney(ct.value.total, ct.value.currency)}`) : null))) : h('p', { class: 'muted' }, 'Nobody matches right now.'),
        page.next ? h('p', { class: 'muted' }, 'First 50 shown. Export for the full list.') : null);
      } catch (err) {
        replace(members, errorBox(err));
      }
    }

    return h('li', { class: 'panel segment', dataset: { segmentId: seg.id } },
      h('h2', null, seg.name),
      h('p', null, countEl, h('span', { class: 'muted' }, ` · ${describe(seg.filter || {}, currency)}`)),
      h('div', { class: 'actions' },
        showBtn,
        h('button', {
          type: 'button', class: 'btn',
          onClick: async () => {
            try {
              await crm.exportSegment(api, seg);
            } catch (err) {
              toast(`Export failed: ${errorText(err)}`, 'error');
            }
          },
        }, 'Export CSV'),
        ctx.isManager ? h('button', {
          type: 'button', class: 'btn danger',
          onClick: async () => {
            if (!window.confirm(`Delete the segment “${seg.name}”? Customers are not affected.`)) return;
            try {
              await crm.deleteSegment(api, seg.id);
              toast('Segment deleted', 'success');
              load();
            } catch (err) {
              toast(`Could not delete: ${errorText(err)}`, 'error');
            }
          },
        }, 'Delete') : null),
      members);
  }

  function createForm() {
    const name = h('input', { type: 'text', required: true, maxlength: 100 });
    const q = h('input', { type: 'text' });
    const platform = h('select', null, ['', 'facebook', 'instagram', 'whatsapp', 'x', 'youtube', 'telegram'].map((p) => h('option', { value: p }, p ? platformName(p) : 'Any')));
    const tier = h('select', null, [['', 'Any'], ['new', 'New'], ['regular', 'Regular'], ['vip', 'VIP']].map(([v, t]) => h('option', { value: v }, t)));
    const country = h('input', { type: 'text', maxlength: 2, size: 3, placeholder: 'US' });
    const totalMin = h('input', { type: 'text', inputmode: 'decimal', placeholder: '0.00' });
    const error = h('p', { class: 'form-error', role: 'alert' });
    const form = h('form', {
      class: 'panel create-segment',
      onSubmit: async (ev) => {
        ev.preventDefault();
        error.textContent = '';
        const filter = {};
        if (q.value.trim()) filter.q = q.value.trim();
        if (platform.value) filter.platform = platform.value;
        if (tier.value) filter.tier = tier.value;
        if (country.value.trim()) filter.country = country.value.trim().toUpperCase();
        if (totalMin.value.trim()) {
          const minor = parseMoney(totalMin.value, currency || 'USD');
          if (minor === null) {
            error.textContent = `Minimum total is not an amount in ${currency}.`;
            totalMin.focus();
            return;
          }
          filter.total_min = minor;
        }
        try {
          await crm.createSegment(api, name.value.trim(), filter);
          toast('Segment created', 'success');
          form.reset();
          load();
        } catch (err) {
          error.textContent = errorText(err);
        }
      },
    },
    h('h2', null, 'New segment'),
    h('div', { class: 'filter-grid' },
      field('Name', name), field('Text', q), field('Platform', platform), field('Tier', tier), field('Country', country)),
    field('Minimum total value', totalMin, 'In the workspace currency.'),
    error,
    h('button', { type: 'submit', class: 'btn primary' }, 'Create segment'));
    api.get('/api/v1/crm/settings').then((st) => {
      currency = (st && st.base_currency) || '';
      const hint = form.querySelector('.hint');
      if (hint && currency) hint.textContent = `In ${currency}.`;
    }).catch(() => {});
    return form;
  }

  if (ctx.isManager) {
    replace(createBox, h('details', { class: 'create' }, h('summary', null, 'Create a segment'), createForm()));
  }
  load();
  return { destroy() { destroyed = true; } };
}
