// The customer card beside a conversation: who this is on the platform and,
// from the CRM, their other identities, tier and (for managers) value and
// recent orders. Without the CRM the card shows the platform identity only.

import { h, replace } from '../dom.js';
import { day, platformName } from '../format.js';
import { formatMoney } from '../money.js';
import { findContact } from '../crmapi.js';

// mountCard renders the card of conversation c into el.
export function mountCard(el, c, ctx) {
  let destroyed = false;
  const cust = c.customer;
  const crm = h('div', { class: 'card-crm' }, h('p', { class: 'loading' }, 'Looking up the customer…'));
  replace(el,
    h('h2', { class: 'card-title' }, 'Customer'),
    h('p', { class: 'card-name' }, cust.name || cust.handle || cust.userId || 'Unknown'),
    h('dl', { class: 'facts' },
      h('dt', null, 'Platform'), h('dd', null, platformName(cust.platform || c.platform)),
      cust.handle ? [h('dt', null, 'Handle'), h('dd', null, `@${cust.handle}`)] : null,
      h('dt', null, 'Platform id'), h('dd', { class: 'mono' }, cust.userId || '—')),
    crm);

  findContact(ctx.api, c).then((contact) => {
    if (destroyed) return;
    if (!contact) {
      replace(crm, h('p', { class: 'muted' }, 'No customer profile is linked to this conversation yet.'));
      return;
    }
    const v = contact.value;
    replace(crm,
      h('dl', { class: 'facts' },
        h('dt', null, 'Tier'), h('dd', null, h('span', { class: ['pill', 'tier', contact.tier] }, contact.tier || 'new')),
        h('dt', null, 'Orders'), h('dd', null, String(contact.order_count ?? 0)),
        v ? [h('dt', null, 'Total value'), h('dd', { dataset: { minor: v.total } }, formatMoney(v.total, v.currency))] : null,
        contact.attributes && contact.attributes.country ? [h('dt', null, 'Country'), h('dd', null, contact.attributes.country)] : null),
      contact.identities && contact.identities.length ? h('section', null,
        h('h3', null, 'Identities'),
        h('ul', { class: 'plain' }, contact.identities.map((i) => h('li', null,
          h('span', { class: ['pill', 'platform', i.platform] }, platformName(i.platform)), ' ',
          i.handle ? `@${i.handle}` : i.name || i.user_id)))) : null,
      contact.orders && contact.orders.length ? h('section', null,
        h('h3', null, 'Recent orders'),
        h('ul', { class: 'plain' }, contact.orders.slice(0, 5).map((o) => h('li', null,
          formatMoney(o.total_minor, o.currency), h('span', { class: 'muted' }, ` · ${day(o.created_at)}`),
          o.refunded_minor ? h('span', { class: 'muted' }, ` · refunded ${formatMoney(o.refunded_minor, o.currency)}`) : null)))) : null,
      h('p', null, h('a', { href: `/contacts/${encodeURIComponent(contact.id)}`, class: 'btn' }, 'Open profile')));
  }).catch(() => {
    if (!destroyed) replace(crm, h('p', { class: 'muted' }, 'Customer details are unavailable right now.'));
  });

  return {
    destroy() {
      destroyed = true;
    },
  };
}
