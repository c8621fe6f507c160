// The customer profile: identities and attributes for everyone; for managers
// the value breakdown (direct, referral per level, total) with its chart, the
// monthly trend, the referral tree with each referred customer's value, and
// the orders. Money is rendered from integer minor units only.

import { h, replace, errorBox } from '../dom.js';
import { day, fullTime, platformName, count } from '../format.js';
import { formatMoney } from '../money.js';
import { hbar, line } from '../charts.js';
import { getContact } from '../crmapi.js';

function section(title, ...body) {
  const id = `sec-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { class: 'panel', 'aria-labelledby': id }, h('h2', { id }, title), ...body);
}

function table(caption, head, rows, cls) {
  return h('div', { class: 'table-wrap' }, h('table', { class: ['table', cls] },
    caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
    h('thead', null, h('tr', null, head.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, rows)));
}

function valueSection(ct, weights) {
  const v = ct.value;
  const cur = v.currency;
  const levels = v.referral_by_level || [];
  const rows = [
    ['direct', 'Direct (own orders)', v.direct],
    ['referral', 'Referral (weighted)', v.referral],
    ['total', 'Total', v.total],
  ];
  const chart = hbar({
    title: `Value of ${ct.name || 'this customer'}`,
    items: [['Direct', v.direct], ['Referral', v.referral], ['Total', v.total]].map(([label, amt], i) => ({
      label, value: Number(amt), display: formatMoney(amt, cur), color: ['#0b57d0', '#0f6d31', '#1b1f24'][i],
    })),
  });
  return section('Value',
    h('dl', { class: 'value-grid' }, rows.map(([key, label, amt]) => h('div', { class: ['value-item', key === 'total' ? 'total' : ''], dataset: { value: key } },
      h('dt', null, label),
      h('dd', { dataset: { minor: amt, currency: cur } }, formatMoney(amt, cur))))),
    h('figure', { class: 'chart-figure' }, chart, h('figcaption', { class: 'muted' }, `Total = direct + referral, in ${cur}.`)),
    levels.length ? [
      h('h3', null, 'Spend of referred customers, by level'),
      h('p', { class: 'muted' }, 'Referral value is the sum of these, each weighted by its level.'),
      h('table', { class: 'table levels-table' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Level'), h('th', { scope: 'col', class: 'num' }, 'Spend'), h('th', { scope: 'col', class: 'num' }, 'Weight'))),
        h('tbody', null, levels.map((amt, i) => h('tr', { dataset: { level: i + 1 } },
          h('th', { scope: 'row' }, `Level ${i + 1}`),
          h('td', { class: 'num', dataset: { minor: amt, currency: cur } }, formatMoney(amt, cur)),
          h('td', { class: 'num' }, weights && weights[i] !== undefined ? weightText(weights[i]) : '—'))))),
    ] : null);
}

// weightText renders a level weight as the settings give it ("0.5" or "50%").
function weightText(w) {
  const str = String(w);
  if (str.endsWith('%')) return str;
  const m = /^(\d+)(?:\.(\d{1,4}))?$/.exec(str);
  if (!m) return str;
  const bp = Number(m[1]) * 10000 + Number((m[2] || '').padEnd(4, '0'));
  return `${bp / 100}%`;
}

function trendSection(ct) {
  const cur = ct.value.currency;
  const t = ct.trend;
  const fmt = (n) => formatMoney(Math.round(n), cur, { compact: true });
  return section('Monthly value',
    h('figure', { class: 'chart-figure' },
      line({
        title: 'Net order value per month and cumulative value',
        labels: t.map((p) => p.month),
        series: [
          { name: 'Net per month', values: t.map((p) => Number(p.net_minor)), format: fmt },
          { name: 'Cumulative', values: t.map((p) => Number(p.cumulative_minor)), format: fmt },
        ],
      })),
    h('details', null, h('summary', null, 'Show as a table'),
      table('Monthly value', ['Month', 'Orders', 'Refunds', 'Net', 'Cumulative'],
        t.map((p) => h('tr', null, h('th', { scope: 'row' }, p.month),
          [p.orders_minor, p.refunds_minor, p.net_minor, p.cumulative_minor].map((m) => h('td', { class: 'num' }, formatMoney(m, cur))))))));
}

function briefRow(b) {
  return h('tr', { dataset: { contactId: b.id } },
    h('th', { scope: 'row' }, h('a', { href: `/contacts/${encodeURIComponent(b.id)}` }, b.name || b.id)),
    h('td', null, h('span', { class: ['pill', 'tier', b.tier] }, b.tier || 'new')),
    b.value ? h('td', { class: 'num', dataset: { minor: b.value.total } }, formatMoney(b.value.total, b.value.currency)) : null);
}

function referralSection(ct) {
  const money = Boolean(ct.value);
  const counts = (ct.referrals && ct.referrals.referred_count) || [];
  const buyers = (ct.referrals && ct.referrals.referred_buyers) || [];
  return section('Referrals',
    h('p', null, 'Referred by: ', ct.referred_by
      ? [h('a', { href: `/contacts/${encodeURIComponent(ct.referred_by.id)}` }, ct.referred_by.name || ct.referred_by.id),
        ct.referred_by.value ? ` (${formatMoney(ct.referred_by.value.total, ct.referred_by.value.currency)})` : '']
      : h('span', { class: 'muted' }, 'nobody')),
    ct.referral_code ? h('p', null, 'Referral code: ', h('code', null, ct.referral_code)) : null,
    counts.length ? h('ul', { class: 'plain levels' }, counts.map((n, i) => h('li', null,
      `Level ${i + 1}: ${count(n)} referred`, buyers[i] !== undefined ? `, ${count(buyers[i])} bought` : ''))) : null,
    ct.referred && ct.referred.length
      ? table('Customers referred directly', ['Customer', 'Tier', ...(money ? ['Value'] : [])], ct.referred.map(briefRow), 'referred')
      : h('p', { class: 'muted' }, 'Has not referred anyone yet.'));
}

function ordersSection(ct) {
  const orders = ct.orders || [];
  return section('Orders',
    orders.length ? table('Orders', ['Order', 'Date', 'Amount', 'Refunded', `In ${ct.value.currency}`],
      orders.map((o) => h('tr', { dataset: { order: o.external_id } },
        h('th', { scope: 'row', class: 'mono' }, o.external_id),
        h('td', null, day(o.created_at)),
        h('td', { class: 'num' }, formatMoney(o.total_minor, o.currency)),
        h('td', { class: 'num' }, o.refunded_minor ? formatMoney(o.refunded_minor, o.currency) : '—'),
        h('td', { class: 'num' }, formatMoney(o.base_minor - (o.base_refunded_minor || 0), o.base_currency))))) :
      h('p', { class: 'muted' }, 'No orders.'));
}

function conversationsSection(ct) {
  const convs = ct.conversations || [];
  return section('Conversations',
    convs.length ? h('ul', { class: 'plain' }, convs.map((cv) => h('li', null,
      h('a', { href: `/inbox/${encodeURIComponent(cv.conversation_id)}` },
        `${platformName(cv.platform)} ${cv.kind === 'comment' ? 'comments' : 'conversation'}`),
      h('span', { class: 'muted' }, ` · ${count(cv.messages)} messages · last ${fullTime(cv.last_activity)}`)))) :
      h('p', { class: 'muted' }, 'No conversations.'));
}

function identitiesSection(ct) {
  const ids = ct.identities || [];
  return section('Identities',
    h('dl', { class: 'facts' },
      (ct.emails || []).length ? [h('dt', null, 'Email'), h('dd', null, ct.emails.join(', '))] : null,
      (ct.phones || []).length ? [h('dt', null, 'Phone'), h('dd', null, ct.phones.join(', '))] : null),
    ids.length ? table('Platform identities', ['Platform', 'Handle or name', 'Id', 'Last seen'], ids.map((i) => h('tr', null,
      h('th', { scope: 'row' }, platformName(i.platform)),
      h('td', null, i.handle ? `@${i.handle}` : i.name || '—'),
      h('td', { class: 'mono' }, i.user_id),
      h('td', null, day(i.last_seen))))) : h('p', { class: 'muted' }, 'No platform identities.'));
}

function attributesSection(ct) {
  const a = ct.attributes || {};
  const pairs = [
    ['Age', a.age], ['Country', a.country], ['City', a.city], ['Income band', a.income_band], ['Job title', a.job_title],
    ['Industry', a.industry], ['Interests', (a.interests || []).join(', ')],
    ...Object.entries(ct.custom || {}).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : v]),
  ].filter(([, v]) => v !== undefined && v !== null && v !== '');
  const inf = ct.influence || {};
  return section('Attributes',
    pairs.length ? h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', null, k), h('dd', null, String(v))])) : h('p', { class: 'muted' }, 'No attributes.'),
    h('h3', null, 'Influence'),
    h('dl', { class: 'facts' },
      h('dt', null, 'Comments'), h('dd', null, count(inf.comments)),
      h('dt', null, 'Mentions'), h('dd', null, count(inf.mentions)),
      h('dt', null, 'Shares'), h('dd', null, count(inf.shares)),
      h('dt', null, 'Score'), h('dd', null, count(inf.score))));
}

// mount renders the profile of params.id.
export function mount(root, params, ctx) {
  let destroyed = false;
  const unbind = [];

  async function load(id) {
    replace(root, h('p', { class: 'loading' }, 'Loading customer…'));
    let ct;
    try {
      ct = await getContact(ctx.api, id);
    } catch (err) {
      if (!destroyed) replace(root, h('h1', null, 'Customer'), errorBox(err, () => load(id)));
      return;
    }
    if (destroyed) return;
    let weights = null;
    if (ct.value) {
      try {
        const st = await ctx.api.get('/api/v1/crm/settings');
        weights = st && st.weights;
      } catch {
        // Weights are a detail; the values stand without them.
      }
    }
    if (destroyed) return;
    document.title = `${ct.name || 'Customer'} · Community Inbox`;
    const money = Boolean(ct.value);
    replace(root, h('div', { class: 'profile', dataset: { contactId: ct.id } },
      h('header', { class: 'profile-head' },
        h('p', null, h('a', { href: '/customers' }, '← Customers')),
        h('h1', { tabindex: '-1' }, ct.name || 'Unnamed customer', ' ', h('span', { class: ['pill', 'tier', ct.tier] }, ct.tier || 'new')),
        ct.resolved_from ? h('p', { class: 'notice' }, 'The profile you asked for was merged into this one.') : null,
        h('p', { class: 'muted' }, `Customer since ${day(ct.created_at)} · ${count(ct.order_count)} orders`)),
      h('div', { class: 'profile-grid' },
        money ? valueSection(ct, weights) : null,
        money && ct.trend && ct.trend.length ? trendSection(ct) : null,
        referralSection(ct),
        money ? ordersSection(ct) : null,
        identitiesSection(ct),
        conversationsSection(ct),
        attributesSection(ct))));
    root.querySelector('h1').focus({ preventScroll: true });
  }

  // Managers see value changes as they happen.
  if (ctx.isManager) {
    unbind.push(ctx.rt.subscribe('crm', (ev) => {
      const d = ev.data || {};
      if ((ev.type === 'contact.value_changed' || ev.type === 'contact.tier_changed') && (d.contact_id === params.id || d.id === params.id)) load(params.id);
    }));
  }
  load(params.id);

  return {
    update(p) {
      params = p;
      load(p.id);
    },
    destroy() {
      destroyed = true;
      for (const u of unbind) u();
    },
  };
}
