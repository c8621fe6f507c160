// crmapi.js is the console's view of the CRM service's HTTP API: contacts,
// top referrers and segments.

import { items, nextCursor } from './api.js';

const enc = encodeURIComponent;

export async function getContact(api, id) {
  return api.get(`/api/v1/contacts/${enc(id)}`);
}

// listContacts fetches a page of contacts: q, sort ("-total"), tier, ...
export async function listContacts(api, query) {
  const body = await api.get('/api/v1/contacts', query);
  return { items: items(body, 'contacts'), next: nextCursor(body) };
}

export async function topReferrers(api, limit = 20) {
  return items(await api.get('/api/v1/referrers/top', { limit }), 'contacts');
}

export async function segments(api) {
  return items(await api.get('/api/v1/segments'), 'segments');
}

export async function segmentCount(api, id) {
  const body = await api.get(`/api/v1/segments/${enc(id)}/count`);
  return body ? body.count : null;
}

export async function segmentContacts(api, id, query) {
  const body = await api.get(`/api/v1/segments/${enc(id)}/contacts`, query);
  return { items: items(body, 'contacts'), next: nextCursor(body) };
}

export async function createSegment(api, name, filter) {
  return api.post('/api/v1/segments', { name, filter });
}

export async function deleteSegment(api, id) {
  return api.del(`/api/v1/segments/${enc(id)}`);
}

export function exportSegment(api, seg) {
  return api.download(`/api/v1/segments/${enc(seg.id)}/export.csv`, `segment-${seg.name || seg.id}.csv`);
}

function hasIdentity(contact, platform, userId) {
  return (contact.identities || []).some((i) => i.platform === platform && i.user_id === userId);
}

// findContact finds the CRM contact of a conversation's customer: by the
// contact id when the inbox gives one, else by searching the customer's
// handle or name and keeping only a contact that holds the exact platform
// identity (a name alone never links two people).
export async function findContact(api, conv) {
  if (conv.contactId) return getContact(api, conv.contactId);
  const cust = conv.customer;
  const platform = cust.platform || conv.platform;
  if (!cust.userId) return null;
  // By handle or name first; then the latest people seen on the channel,
  // since a DM sender often has neither (Messenger gives only an id).
  const queries = [cust.handle, cust.name].filter(Boolean).map((q) => ({ q, platform }));
  if (conv.channelId) queries.push({ channel: conv.channelId, platform, sort: '-last_activity' });
  const tried = new Set();
  for (const q of queries) {
    const { items: found } = await listContacts(api, { ...q, limit: 5 });
    for (const cand of found) {
      if (tried.has(cand.id)) continue;
      tried.add(cand.id);
      const full = await getContact(api, cand.id);
      if (hasIdentity(full, platform, cust.userId)) return full;
    }
  }
  return null;
}
