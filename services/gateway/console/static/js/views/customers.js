// Customers: search, the top customers (by total value for managers, by
// influence for agents) and the top referrers.

import { h, replace, errorBox, debounce } from '../dom.js';
import { count } from '../format.js';
import { formatMoney } from '../money.js';
import { listContacts, topReferrers } from '../crmapi.js';

function row(ct, money) {
  const v = ct.value;
  return h('tr', { dataset: { contactId: ct.id } },
    h('th', { scope: 'row' }, h('a', { href: `/contacts/${encodeURIComponent(ct.id)}` }, ct.name || (ct.emails || [])[0] || ct.id)),
    h('td', null, h('span', { class: ['pill', 'tier', ct.tier] }, ct.tier || 'new')),
    h('td', { class: 'num' }, count(ct.order_count)),
    money ? [
      h('td', { class: 'num', dataset: { minor: v ? v.direct : '' } }, v ? formatMoney(v.direct, v.currency) : '—'),
      h('td', { class: 'num', dataset: { minor: v ? v.referral : '' } }, v ? formatMoney(v.referral, v.currency) : '—'),
      h('td', { class: 'num', dataset: { minor: v ? v.total : '' } }, v ? formatMoney(v.total, v.currency) : '—'),
    ] : null,
    h('td', { class: 'num' }, count(ct.influence && ct.influence.score)));
}

function head(money) {
  return h('thead', null, h('tr', null,
    ['Customer', 'Tier', 'Orders', ...(money ? ['Direct', 'Referral', 'Total'] : []), 'Influence'].map((t) => h('th', { scope: 'col' }, t))));
}

// mount renders the customers page.
export function mount(root, params, ctx) {
  const money = ctx.isManager;
  let cursor = '';
  let q = '';
  let seq = 0;
  document.title = 'Customers · Community Inbox';

  const search = h('input', { type: 'search', id: 'customer-search', placeholder: 'Name, email, phone or handle' });
  const topBody = h('tbody');
  const more = h('button', { type: 'button', class: 'btn', hidden: true, onClick: () => load(true) }, 'Load more');
  const refBody = h('tbody');
  const topTitle = h('h2', { id: 'top-title' }, money ? 'Top customers by value' : 'Most influential customers');

  replace(root, h('div', { class: 'page' },
    h('h1', null, 'Customers'),
    h('form', { role: 'search', class: 'search', onSubmit: (ev) => { ev.preventDefault(); q = search.value.trim(); load(false); } },
      h('label', { for: 'customer-search' }, 'Search customers'), search,
      h('button', { type: 'submit', class: 'btn' }, 'Search')),
    h('div', { class: 'stack' },
      h('section', { class: 'panel', 'aria-labelledby': 'top-title' }, topTitle,
        h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'top-customers' }, head(money), topBody)), more),
      h('section', { class: 'panel', 'aria-labelledby': 'ref-title' }, h('h2', { id: 'ref-title' }, 'Top referrers'),
        h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'top-referrers' }, head(money), refBody))))));
  search.addEventListener('input', debounce(() => {
    if (search.value.trim() !== q) {
      q = search.value.trim();
      load(false);
    }
  }, 400));

  async function load(append) {
    const my = ++seq;
    try {
      const sort = q ? '' : money ? '-total' : '-influence';
      topTitle.textContent = q ? `Customers matching “${q}”` : money ? 'Top customers by value' : 'Most influential customers';
      const page = await listContacts(ctx.api, { q, sort, limit: 25, cursor: append ? cursor : '' });
      if (my !== seq) return;
      cursor = page.next;
      const rows = page.items.map((ct) => row(ct, money));
      if (append) topBody.append(...rows);
      else replace(topBody, rows.length ? rows : h('tr', null, h('td', { colspan: money ? 7 : 4 }, 'No customers.')));
      more.hidden = !cursor;
    } catch (err) {
      if (my === seq) replace(topBody, h('tr', null, h('td', { colspan: money ? 7 : 4 }, errorBox(err, () => load(false)))));
    }
  }

  topReferrers(ctx.api, 20).then((list) => {
    replace(refBody, list.length ? list.map((ct) => row(ct, money)) : h('tr', null, h('td', { colspan: money ? 7 : 4 }, 'Nobody has referred a customer yet.')));
  }).catch((err) => replace(refBody, h('tr', null, h('td', { colspan: money ? 7 : 4 }, errorBox(err)))));

  load(false);
  return { destroy() { seq += 1; } };
}
