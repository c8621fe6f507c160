// inboxapi.js is the console's view of the inbox service's HTTP API. Every
// path and field name of that service is read here and nowhere else, so the
// views work with one normalized shape.

import { items, nextCursor } from './api.js';

const C = '/api/v1/conversations';

// listConversations fetches one page of the inbox with the filters
// {assignee, status, channel, kind, label, priority, q, sort}.
export async function listConversations(api, f, cursor, limit = 30) {
  const q = {
    status: f.status === 'all' ? '' : f.status,
    assignee: f.assignee === 'all' ? '' : f.assignee,
    channel_id: f.channel,
    kind: f.kind,
    label: f.label,
    priority: f.priority,
    q: f.q,
    sort: f.sort,
    limit,
    cursor,
  };
  const body = await api.get(C, q);
  return {
    items: items(body, 'conversations').map(conversation),
    next: nextCursor(body),
    total: body && typeof body.total === 'number' ? body.total : null,
    counts: (body && body.counts) || null,
  };
}

export async function getConversation(api, id) {
  return conversation(await api.get(`${C}/${encodeURIComponent(id)}`));
}

export async function listMessages(api, id) {
  const body = await api.get(`${C}/${encodeURIComponent(id)}/messages`, { limit: 200 });
  return items(body, 'messages').map(message);
}

// sendMessage posts a reply (mode "reply"), a private reply to a comment
// ("dm") or an internal note ("note"); replyTo is the message answered.
export async function sendMessage(api, id, { text, mode, replyTo }) {
  const body = { text };
  if (mode === 'note') body.private = true;
  if (mode === 'dm') body.private_reply = true;
  if (replyTo) body.reply_to = replyTo;
  const res = await api.post(`${C}/${encodeURIComponent(id)}/messages`, body);
  return message(res && res.message ? res.message : res);
}

export async function assign(api, id, assigneeId) {
  return conversation(await api.post(`${C}/${encodeURIComponent(id)}/assign`, { assignee_id: assigneeId || '' }));
}

// setStatus changes the status; until is an ISO time for snoozed.
export async function setStatus(api, id, status, until) {
  const body = { status };
  if (until) body.snoozed_until = until;
  return conversation(await api.post(`${C}/${encodeURIComponent(id)}/status`, body));
}

export async function setLabels(api, id, labels) {
  return conversation(await api.put(`${C}/${encodeURIComponent(id)}/labels`, { labels }));
}

export async function setPriority(api, id, priority) {
  return conversation(await api.patch(`${C}/${encodeURIComponent(id)}`, { priority }));
}

// bulk applies one action to several conversations: {assignee_id} | {status}
// | {add_label}. Without a bulk endpoint it applies them one by one.
export async function bulk(api, ids, action) {
  try {
    return await api.post(`${C}/bulk`, { ids, ...action });
  } catch (err) {
    if (err.status !== 404 && err.status !== 405) throw err;
  }
  for (const id of ids) {
    if ('assignee_id' in action) await assign(api, id, action.assignee_id);
    else if (action.status) await setStatus(api, id, action.status);
    else if (action.add_label) {
      const c = await getConversation(api, id);
      if (!c.labels.includes(action.add_label)) await setLabels(api, id, [...c.labels, action.add_label]);
    }
  }
  return null;
}

export async function cannedResponses(api) {
  return items(await api.optional('/api/v1/canned-responses'), 'canned_responses').map((c) => ({
    id: c.id, name: c.name || c.shortcut || c.title || 'Untitled', shortcut: c.shortcut || '', text: c.text || c.body || c.content || '',
  }));
}

// renderCanned fills a canned response's placeholders for a conversation,
// falling back to the raw text when the service has no render endpoint.
export async function renderCanned(api, canned, conversationId) {
  try {
    const res = await api.post(`/api/v1/canned-responses/${encodeURIComponent(canned.id)}/render`, { conversation_id: conversationId });
    if (res && typeof res.text === 'string') return res.text;
  } catch (err) {
    if (err.status !== 404 && err.status !== 405) throw err;
  }
  return canned.text;
}

export async function labels(api) {
  return items(await api.optional('/api/v1/labels'), 'labels').map((l) => (typeof l === 'string' ? { name: l } : { name: l.name || l.id, color: l.color }));
}

export async function channels(api) {
  return items(await api.optional('/api/v1/channels'), 'channels').map((c) => ({ id: c.id, name: c.name || c.id, platform: c.platform }));
}

// responseReport reads GET /reports/responses for [from, to) grouped by agent, channel or day.
export async function responseReport(api, from, to, groupBy) {
  const body = await api.optional('/api/v1/reports/responses', { from, to, group_by: groupBy });
  if (!body) return null;
  return items(body, 'groups', 'rows').map(reportRow);
}

function secondsOf(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'object') {
    if (typeof v.seconds === 'number') return v.seconds;
    if (typeof v.ms === 'number') return v.ms / 1000;
  }
  return null;
}

function reportRow(r) {
  const pick = (...names) => {
    for (const n of names) {
      const v = n.split('.').reduce((o, k) => (o == null ? undefined : o[k]), r);
      if (v !== undefined && v !== null) return v;
    }
    return null;
  };
  return {
    key: pick('key', 'group', 'agent_id', 'channel_id', 'day') || '',
    count: pick('count', 'first_response.count') || 0,
    firstMedian: secondsOf(pick('first_response_median_seconds', 'first_response.median_seconds', 'first_response.median')),
    firstP90: secondsOf(pick('first_response_p90_seconds', 'first_response.p90_seconds', 'first_response.p90')),
    resolutionMedian: secondsOf(pick('resolution_median_seconds', 'resolution.median_seconds', 'resolution.median')),
    resolutionP90: secondsOf(pick('resolution_p90_seconds', 'resolution.p90_seconds', 'resolution.p90')),
    responseRate: pick('response_rate', 'first_response.rate', 'rate'),
  };
}

// conversation normalizes a conversation.
export function conversation(c) {
  if (!c) return null;
  const cust = c.customer || c.contact || {};
  return {
    raw: c,
    id: c.id,
    channelId: c.channel_id || '',
    platform: c.platform || '',
    kind: c.kind || 'dm',
    post: c.post || null,
    customer: {
      name: cust.name || '', handle: cust.handle || '', userId: cust.user_id || cust.id || '', platform: cust.platform || c.platform || '',
    },
    contactId: c.contact_id || '',
    status: c.status || 'open',
    snoozedUntil: c.snoozed_until || '',
    assigneeId: c.assignee_id || '',
    labels: c.labels || [],
    priority: c.priority || '',
    unread: c.unread_count ?? c.unread ?? 0,
    waitingSince: c.waiting_since || '',
    lastMessageAt: c.last_message_at || c.last_activity_at || c.updated_at || '',
    preview: c.last_message_text || c.preview || (c.last_message && c.last_message.text) || '',
    messageCount: c.message_count || 0,
  };
}

// message normalizes a message; replies (comment trees) are normalized too.
export function message(m) {
  if (!m) return null;
  const author = m.author || {};
  const delivery = m.delivery || null;
  return {
    raw: m,
    id: m.id,
    direction: m.direction || (m.private ? 'out' : 'in'),
    private: Boolean(m.private || m.kind === 'note' || m.visibility === 'private'),
    authorName: author.name || author.handle || m.author_name || '',
    authorHandle: author.handle || '',
    agentId: m.sent_by || m.agent_id || m.user_id || '',
    text: m.text || '',
    at: m.platform_time || m.created_at || m.received_at || '',
    parentId: m.parent_id || '',
    delivery: delivery ? { state: delivery.state, error: delivery.error_message || delivery.error_code || '' } : null,
    tombstone: m.tombstone ? m.tombstone.state : '',
    edited: Array.isArray(m.edits) && m.edits.length > 0,
    attachments: m.attachments || [],
    replies: Array.isArray(m.replies) ? m.replies.map(message) : null,
  };
}
