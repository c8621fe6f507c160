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
    channel: f.channel,
    kind: f.kind,
    label: f.label,
    priority: f.priority,
    q: f.q,
    sort: f.sort || 'recent',
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

// listMessages returns the thread: {post, messages} (comments nested in replies).
export async function listMessages(api, id) {
  const body = await api.get(`${C}/${encodeURIComponent(id)}/messages`);
  return { post: (body && body.post) || null, messages: items(body, 'messages').map(message) };
}

// sendMessage posts a reply (mode "reply"), a private reply to a comment
// ("dm") or an internal note ("note"); replyTo is the message answered.
export async function sendMessage(api, id, { text, mode, replyTo }) {
  const body = { text };
  if (mode === 'note') body.private = true;
  if (mode === 'dm') body.mode = 'private_reply';
  if (replyTo && mode !== 'note') body.reply_to = replyTo;
  const res = await api.post(`${C}/${encodeURIComponent(id)}/messages`, body);
  return message(res && res.message ? res.message : res);
}

export async function assign(api, id, assigneeId) {
  return conversation(await api.put(`${C}/${encodeURIComponent(id)}/assignee`, { user_id: assigneeId || null }));
}

// markRead marks the conversation read for the whole team.
export async function markRead(api, id) {
  return conversation(await api.post(`${C}/${encodeURIComponent(id)}/read`, {}));
}

// setStatus changes the status; until is an ISO time for snoozed.
export async function setStatus(api, id, status, until) {
  const body = { status };
  if (until) body.snoozed_until = until;
  return conversation(await api.put(`${C}/${encodeURIComponent(id)}/status`, body));
}

// changeLabels adds and removes labels; added labels must exist in the workspace.
export async function changeLabels(api, id, add, remove) {
  return conversation(await api.put(`${C}/${encodeURIComponent(id)}/labels`, { add: add || [], remove: remove || [] }));
}

// createLabel adds a workspace label (managers).
export async function createLabel(api, name) {
  return api.post('/api/v1/labels', { name });
}

// bulk applies one action to several conversations: {action: "assign",
// user_id} | {action: "resolve"} | {action: "label", labels}. It answers the
// ids that failed.
export async function bulk(api, ids, action) {
  const res = await api.post(`${C}/bulk`, { ids, ...action });
  return items(res, 'results').filter((r) => r.result !== 'ok');
}

export async function cannedResponses(api) {
  return items(await api.optional('/api/v1/canned-responses'), 'canned_responses').map((c) => ({
    id: c.id, name: c.title || c.name || c.shortcut || 'Untitled', shortcut: c.shortcut || '', text: c.text || '',
  }));
}

// renderCanned fills a canned response's placeholders for a conversation.
export async function renderCanned(api, canned, conversationId) {
  const res = await api.post(`/api/v1/canned-responses/${encodeURIComponent(canned.id)}/render`, { conversation_id: conversationId });
  return res && typeof res.text === 'string' ? res.text : canned.text;
}

export async function labels(api) {
  return items(await api.optional('/api/v1/labels'), 'labels').map((l) => (typeof l === 'string' ? { name: l } : { name: l.name || l.id, color: l.color }));
}

export async function channels(api) {
  return items(await api.optional('/api/v1/channels'), 'channels').map((c) => ({ id: c.id, name: c.name || c.id, platform: c.type || c.platform }));
}

// responseReport reads GET /reports/responses for [from, to) grouped by
// agent, channel or day, joining the first response and resolution rows of
// each group. Durations are seconds; a rate is null without a target.
export async function responseReport(api, from, to, groupBy) {
  const body = await api.optional('/api/v1/reports/responses', { from, to, group_by: groupBy });
  if (!body) return null;
  const kinds = body.kinds || {};
  const rows = new Map();
  const row = (key) => {
    if (!rows.has(key)) {
      rows.set(key, { key, count: 0, firstMedian: null, firstP90: null, resolutionMedian: null, resolutionP90: null, responseRate: null });
    }
    return rows.get(key);
  };
  for (const r of kinds.first_response || []) {
    Object.assign(row(r.group), { count: r.count, firstMedian: r.median_seconds, firstP90: r.p90_seconds, responseRate: r.response_rate ?? null });
  }
  for (const r of kinds.resolution || []) {
    Object.assign(row(r.group), { resolutionMedian: r.median_seconds, resolutionP90: r.p90_seconds });
  }
  return [...rows.values()];
}

// conversation normalizes an AgentConversation of the inbox API. The preview
// is the newest message's (last_message_text), "You: …" when the team wrote
// it; unread counts the customer's messages since the team last read it.
export function conversation(c) {
  if (!c) return null;
  const cust = c.customer || {};
  return {
    id: c.id,
    channelId: c.channel_id || '',
    platform: c.platform || '',
    kind: c.kind || 'dm',
    post: c.post || null,
    customer: { name: cust.name || '', handle: cust.handle || '', userId: cust.user_id || '', platform: cust.platform || c.platform || '' },
    contactId: c.contact_id || '',
    status: c.status || 'open',
    snoozedUntil: c.snoozed_until || '',
    assigneeId: c.assignee_id || (c.assignee && c.assignee.user_id) || '',
    labels: c.labels || [],
    priority: c.priority || '',
    unread: c.unread_count || 0,
    waitingSince: c.waiting_since || '',
    lastMessageAt: c.last_message_at || c.updated_at || '',
    preview: c.last_message_text ? `${c.last_message_direction === 'out' ? 'You: ' : ''}${c.last_message_text}` : '',
  };
}

// message normalizes an AgentMessage; replies (comment trees) are normalized too.
// Notes carry no direction: they are the team's, shown on its side.
export function message(m) {
  if (!m) return null;
  const author = m.author || {};
  const delivery = m.delivery || null;
  return {
    id: m.id,
    direction: m.direction || (m.private ? 'out' : 'in'),
    private: Boolean(m.private),
    authorName: author.name || author.handle || '',
    agentId: m.agent_id || '',
    text: m.text || '',
    at: m.platform_time || m.created_at || '',
    parentId: m.parent_id || '',
    delivery: delivery ? { state: delivery.state, error: delivery.error_message || delivery.error_code || '' } : null,
    tombstone: m.tombstone ? m.tombstone.state : '',
    edited: Array.isArray(m.edits) && m.edits.length > 0,
    attachments: m.attachments || [],
    replies: Array.isArray(m.replies) ? m.replies.map(message) : null,
  };
}
