// One conversation: the DM thread or the post with its comment tree, the
// workflow controls (assignee, status, snooze, priority, labels), who else is
// here, and the reply box with canned responses and @mentions. Outbound
// messages show their delivery state as the websocket reports it.

import { h, replace, debounce, errorBox, announce, errorText, uid } from '../dom.js';
import { fullTime, isoTime, when, platformName, initials } from '../format.js';
import * as inboxapi from '../inboxapi.js';
import { toast } from '../notify.js';

const TYPING_REFRESH_MS = 3000;
const TYPING_IDLE_MS = 5000;

const deliveryText = {
  pending: 'Sending…', sent: 'Sent', delivered: 'Delivered', read: 'Read', failed: 'Failed',
};

function name(c) {
  return c.customer.name || (c.customer.handle ? `@${c.customer.handle}` : '') || c.customer.userId || 'Unknown customer';
}

// buildTree nests comments under their parents when the service sends a flat list.
function buildTree(msgs) {
  if (msgs.some((m) => m.replies)) return msgs;
  const byId = new Map(msgs.map((m) => [m.id, { ...m, replies: [] }]));
  const roots = [];
  for (const m of byId.values()) {
    const parent = m.parentId && byId.get(m.parentId);
    if (parent) parent.replies.push(m);
    else roots.push(m);
  }
  return roots;
}

function flatten(msgs) {
  const out = [];
  const walk = (list) => {
    for (const m of list) {
      out.push(m);
      if (m.replies) walk(m.replies);
    }
  };
  walk(msgs);
  return out;
}

function snoozePresets() {
  const now = new Date();
  const inHours = (n) => new Date(now.getTime() + n * 3600e3);
  const tomorrow = new Date(now);
  tomorrow.setDate(now.getDate() + 1);
  tomorrow.setHours(9, 0, 0, 0);
  const monday = new Date(now);
  monday.setDate(now.getDate() + ((8 - now.getDay()) % 7 || 7));
  monday.setHours(9, 0, 0, 0);
  return [['1 hour', inHours(1)], ['4 hours', inHours(4)], ['Tomorrow 9:00', tomorrow], ['Next Monday 9:00', monday]];
}

// mountConversation renders conversation id into el; hooks: onLoaded(c),
// onChanged(c), toggleCard(), backHref, focus.
export function mountConversation(el, id, ctx, hooks) {
  const { api, rt, me } = ctx;
  let c = null;
  let messages = [];
  let known = new Set();
  let destroyed = false;
  let mode = 'reply';
  let replyTo = null; // a message being answered in a comment thread
  let typingSentAt = 0;
  let typingIdle = null;
  let localSeq = 0;
  const unbind = [];
  let canned = [];

  replace(el, h('p', { class: 'loading' }, 'Loading conversation…'));

  // Header and controls.
  const title = h('h2', { class: 'thread-title', tabindex: '-1' });
  const subtitle = h('p', { class: 'thread-sub' });
  const presence = h('p', { class: 'presence', 'aria-live': 'polite' });
  const assignSel = h('select', { id: uid('assign'), 'aria-keyshortcuts': 'a' });
  const statusSel = h('select', { id: uid('status') },
    [['open', 'Open'], ['pending', 'Pending'], ['snoozed', 'Snoozed'], ['resolved', 'Resolved']].map(([v, t]) => h('option', { value: v }, t)));
  const resolveBtn = h('button', { type: 'button', class: 'btn', 'aria-keyshortcuts': 'e', onClick: () => resolve() }, 'Resolve');
  const snoozeBtn = h('button', { type: 'button', class: 'btn', 'aria-expanded': 'false', 'aria-controls': '', onClick: () => toggleSnooze() }, 'Snooze…');
  const snoozeBox = h('div', { class: 'popover snooze', hidden: true, role: 'group', 'aria-label': 'Snooze until' });
  snoozeBtn.setAttribute('aria-controls', snoozeBox.id = uid('snooze'));
  const labelList = h('ul', { class: 'label-list', 'aria-label': 'Labels' });
  const labelInput = h('input', { type: 'text', id: uid('label'), list: uid('labels-dl'), size: 10, placeholder: 'Add label' });
  const labelOptions = h('datalist', { id: labelInput.getAttribute('list') });
  const control = (label, ctl) => h('div', { class: 'field inline' }, h('label', { for: ctl.id }, label), ctl);

  const header = h('header', { class: 'thread-head' },
    h('div', { class: 'thread-id' },
      h('a', { class: 'back-link', href: hooks.backHref }, '← Conversations'),
      title, subtitle, presence),
    h('div', { class: 'thread-actions' },
      control('Assignee', assignSel),
      control('Status', statusSel),
      resolveBtn,
      h('div', { class: 'snooze-wrap' }, snoozeBtn, snoozeBox),
      h('button', { type: 'button', class: 'btn card-toggle', 'aria-controls': 'customer-card', onClick: () => hooks.toggleCard() }, 'Customer')),
    h('div', { class: 'labels-row' },
      labelList,
      h('form', {
        class: 'label-add',
        onSubmit: (ev) => {
          ev.preventDefault();
          const v = labelInput.value.trim();
          if (v && !c.labels.includes(v)) addLabel(v);
          labelInput.value = '';
        },
      }, h('label', { for: labelInput.id, class: 'visually-hidden' }, 'Add a label'), labelInput, labelOptions,
      h('button', { type: 'submit', class: 'btn small' }, 'Add'))));

  const postBox = h('div', { class: 'post', hidden: true });
  const thread = h('ol', { class: 'messages', 'aria-label': 'Messages' });
  const threadWrap = h('div', { class: 'thread-scroll', tabindex: '0', 'aria-label': 'Message history' }, postBox, thread);

  // Composer.
  const modeName = uid('mode');
  const modeBox = h('fieldset', { class: 'modes' }, h('legend', { class: 'visually-hidden' }, 'Reply as'));
  const replyingTo = h('div', { class: 'replying-to', hidden: true });
  const textId = uid('reply');
  const hint = h('small', { id: uid('hint'), class: 'hint' }, 'Ctrl+Enter sends. In a note, type @ to mention a teammate.');
  const mentionList = h('ul', { class: 'mention-list', role: 'listbox', id: uid('mentions'), hidden: true, 'aria-label': 'Teammates' });
  const text = h('textarea', {
    id: textId, rows: 3, 'aria-describedby': hint.id, 'aria-keyshortcuts': 'r n',
    role: 'combobox', 'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': mentionList.id,
  });
  const textLabel = h('label', { for: textId }, 'Reply');
  const cannedSel = h('select', { id: uid('canned'), hidden: true }, h('option', { value: '' }, 'Insert canned response…'));
  const sendBtn = h('button', { type: 'submit', class: 'btn primary' }, 'Send');
  const composer = h('form', { class: 'composer', dataset: { mode }, onSubmit: (ev) => { ev.preventDefault(); send(); } },
    modeBox, replyingTo, textLabel,
    h('div', { class: 'mention-wrap' }, text, mentionList),
    hint,
    h('div', { class: 'composer-actions' },
      h('label', { for: cannedSel.id, class: 'visually-hidden' }, 'Canned responses'), cannedSel,
      sendBtn));

  const view = h('div', { class: 'thread', dataset: { conversationId: id } }, header, threadWrap, composer);

  // --- rendering -------------------------------------------------------
  function renderHeader() {
    title.textContent = name(c);
    replace(subtitle,
      h('span', { class: ['pill', 'platform', c.platform] }, platformName(c.platform)), ' ',
      c.kind === 'comment' ? 'Public comments' : 'Direct messages',
      c.priority && c.priority !== 'normal' ? [' ', h('span', { class: ['pill', 'priority', c.priority] }, `${c.priority} priority`)] : '',
      c.customer.handle ? ` · @${c.customer.handle}` : '',
      c.snoozedUntil && c.status === 'snoozed' ? ` · snoozed until ${fullTime(c.snoozedUntil)}` : '');
    replace(assignSel, h('option', { value: '' }, 'Unassigned'),
      ctx.users.filter((u) => !u.disabled && u.role !== 'integration').map((u) => h('option', { value: u.id }, u.id === me.id ? `${u.name || u.email} (me)` : u.name || u.email)));
    assignSel.value = c.assigneeId;
    statusSel.value = c.status;
    resolveBtn.textContent = c.status === 'resolved' ? 'Reopen' : 'Resolve';
    replace(labelList, c.labels.map((l) => h('li', { class: 'pill label' }, l,
      h('button', { type: 'button', class: 'chip-x', 'aria-label': `Remove label ${l}`, onClick: () => change(() => inboxapi.changeLabels(api, id, [], [l])) }, '×'))));
    if (c.post && (c.post.text || c.post.permalink)) {
      postBox.hidden = false;
      replace(postBox, h('p', { class: 'post-label' }, 'Post'),
        c.post.text ? h('p', { class: 'post-text' }, c.post.text) : null,
        c.post.permalink && /^https:\/\//.test(c.post.permalink) ? h('a', { href: c.post.permalink, target: '_blank', rel: 'noopener noreferrer' }, `Open on ${platformName(c.platform)}`) : null);
    } else {
      postBox.hidden = true;
    }
    renderModes();
  }

  function renderModes() {
    const opts = c.kind === 'comment'
      ? [['reply', 'Public reply'], ...(['facebook', 'instagram'].includes(c.platform) ? [['dm', 'Private reply (DM)']] : []), ['note', 'Private note']]
      : [['reply', 'Reply'], ['note', 'Private note']];
    if (!opts.some(([v]) => v === mode)) mode = 'reply';
    replace(modeBox, h('legend', { class: 'visually-hidden' }, 'Reply as'),
      opts.map(([v, t]) => {
        const rid = uid('m');
        return h('span', { class: 'mode' },
          h('input', { type: 'radio', name: modeName, id: rid, value: v, checked: v === mode, onChange: () => setMode(v) }),
          h('label', { for: rid }, t));
      }));
    composer.dataset.mode = mode;
    textLabel.textContent = mode === 'note' ? 'Private note (only your team sees it)' : mode === 'dm' ? 'Private reply' : c.kind === 'comment' ? 'Public reply' : 'Reply';
  }

  function setMode(m) {
    mode = m;
    renderModes();
  }

  function deliveryEl(m) {
    if (m.private || m.direction !== 'out' || !m.delivery) return null;
    const st = m.delivery.state || 'pending';
    return h('span', { class: ['delivery', st], dataset: { state: st }, role: st === 'failed' ? 'alert' : null },
      deliveryText[st] || st, st === 'failed' && m.delivery.error ? `: ${m.delivery.error}` : '');
  }

  function messageEl(m, depth) {
    const agent = m.agentId ? ctx.userName(m.agentId) : '';
    const who = m.private ? `${agent || 'Teammate'} · note` : m.direction === 'out' ? agent || 'Page' : m.authorName || name(c);
    const body = m.tombstone === 'deleted'
      ? h('p', { class: 'msg-text removed' }, 'Deleted by its author')
      : h('p', { class: 'msg-text' }, m.text || (m.attachments.length ? '' : '(no text)'));
    const atts = m.attachments.filter((a) => a.url && /^https:\/\//.test(a.url)).map((a) => (a.type === 'image'
      ? h('a', { href: a.url, target: '_blank', rel: 'noopener noreferrer', class: 'attachment' }, h('img', { src: a.url, alt: a.name || 'Image attachment', loading: 'lazy' }))
      : h('a', { href: a.url, target: '_blank', rel: 'noopener noreferrer', class: 'attachment' }, a.name || `${a.type} attachment`)));
    const canAnswer = c.kind === 'comment' && m.direction === 'in' && !m.private && !m.tombstone;
    const li = h('li', {
      class: ['msg', m.direction === 'out' ? 'out' : 'in', m.private ? 'note' : '', m.tombstone ? `is-${m.tombstone}` : ''],
      dataset: { messageId: m.id, direction: m.direction, delivery: m.delivery ? m.delivery.state : null },
    },
    h('article', { class: 'bubble', 'aria-label': `${who}, ${fullTime(m.at)}` },
      h('header', { class: 'msg-head' },
        h('span', { class: 'avatar small', 'aria-hidden': 'true' }, initials(who)),
        h('strong', null, who), ' ',
        h('time', { datetime: isoTime(m.at), title: fullTime(m.at) }, when(m.at)),
        m.edited ? h('span', { class: 'muted' }, ' · edited') : null,
        m.tombstone === 'hidden' ? h('span', { class: 'muted' }, ' · hidden on the platform') : null),
      body, atts,
      h('footer', { class: 'msg-foot' },
        deliveryEl(m),
        canAnswer ? h('button', { type: 'button', class: 'btn link', onClick: () => answer(m) }, 'Reply to this') : null)));
    if (m.replies && m.replies.length && depth < 6) {
      li.appendChild(h('ol', { class: 'replies', 'aria-label': `Replies to ${who}` }, m.replies.map((r) => messageEl(r, depth + 1))));
    }
    return li;
  }

  function renderMessages() {
    const nearBottom = threadWrap.scrollHeight - threadWrap.scrollTop - threadWrap.clientHeight < 80;
    const tree = c.kind === 'comment' ? buildTree(messages) : messages;
    replace(thread, tree.length ? tree.map((m) => messageEl(m, 0)) : h('li', { class: 'empty' }, 'No messages yet.'));
    if (nearBottom || !renderMessages.done) threadWrap.scrollTop = threadWrap.scrollHeight;
    renderMessages.done = true;
  }

  function renderPresence(data) {
    const others = (list) => (list || []).filter((u) => u.user_id !== me.id).map((u) => u.name || ctx.userName(u.user_id));
    const typing = others(data.typing);
    const viewing = others(data.viewers).filter((n) => !typing.includes(n));
    const parts = [];
    if (typing.length) parts.push(`${typing.join(', ')} ${typing.length === 1 ? 'is' : 'are'} typing…`);
    if (viewing.length) parts.push(`${viewing.join(', ')} ${viewing.length === 1 ? 'is' : 'are'} viewing`);
    presence.textContent = parts.join(' · ');
    presence.dataset.typing = typing.join(',');
    presence.dataset.viewers = viewing.join(',');
  }

  // --- data ------------------------------------------------------------
  async function loadAll() {
    try {
      const [conv, th] = await Promise.all([inboxapi.getConversation(api, id), inboxapi.listMessages(api, id)]);
      if (destroyed) return;
      c = conv;
      if (!c.post && th.post) c.post = th.post;
      setMessages(th.messages, false);
      replace(el, view);
      renderHeader();
      renderMessages();
      if (lastPresence) renderPresence(lastPresence);
      hooks.onLoaded(c);
      if (hooks.focus) title.focus();
      markRead();
    } catch (err) {
      if (destroyed) return;
      replace(el, h('a', { class: 'back-link', href: hooks.backHref }, '← Conversations'), errorBox(err, loadAll));
    }
  }

  // markRead tells the team this conversation is read: it is on screen.
  // A failure only leaves the badge for the next look.
  function markRead() {
    if (c && c.unread > 0) inboxapi.markRead(api, id).catch(() => {});
  }

  // setMessages replaces the thread with the server's, keeping replies that
  // are still on their way (pending) or that the server refused (failed).
  function setMessages(msgs, announceNew) {
    const all = flatten(msgs);
    if (announceNew) {
      for (const m of all) {
        if (!known.has(m.id) && m.direction === 'in') announce(`New message from ${m.authorName || name(c)}: ${m.text.slice(0, 140)}`);
      }
    }
    known = new Set(all.map((m) => m.id));
    messages = [...msgs, ...messages.filter((m) => m.local)];
  }

  const reloadMessages = debounce(async () => {
    try {
      const th = await inboxapi.listMessages(api, id);
      if (destroyed) return;
      setMessages(th.messages, true);
      renderMessages();
      // Whatever arrived is on screen now.
      inboxapi.markRead(api, id).catch(() => {});
    } catch {
      // Keep what is shown; the next event retries.
    }
  }, 150);

  const reloadConversation = debounce(async () => {
    try {
      const conv = await inboxapi.getConversation(api, id);
      if (destroyed) return;
      if (!conv.post && c && c.post) conv.post = c.post;
      c = conv;
      renderHeader();
      hooks.onChanged(c);
    } catch {
      // Keep what is shown.
    }
  }, 150);

  async function change(fn, okText) {
    try {
      const updated = (await fn()) || (await inboxapi.getConversation(api, id));
      if (!updated.post && c && c.post) updated.post = c.post;
      c = updated;
      if (destroyed) return;
      renderHeader();
      hooks.onChanged(c);
      if (okText) toast(okText, 'success');
    } catch (err) {
      toast(`Could not update: ${errorText(err)}`, 'error');
      if (c) renderHeader();
    }
  }

  // addLabel adds a label; a manager's new label is created first (agents
  // pick from the workspace's labels).
  function addLabel(name) {
    change(async () => {
      try {
        return await inboxapi.changeLabels(api, id, [name], []);
      } catch (err) {
        if (err.status !== 400 || !ctx.isManager) throw err;
        await inboxapi.createLabel(api, name);
        labelOptions.appendChild(h('option', { value: name }));
        return inboxapi.changeLabels(api, id, [name], []);
      }
    });
  }

  function resolve() {
    if (!c) return;
    const next = c.status === 'resolved' ? 'open' : 'resolved';
    change(() => inboxapi.setStatus(api, id, next), next === 'resolved' ? 'Conversation resolved' : 'Conversation reopened');
  }

  function toggleSnooze(open) {
    const show = open === undefined ? snoozeBox.hidden : open;
    snoozeBox.hidden = !show;
    snoozeBtn.setAttribute('aria-expanded', String(show));
    if (!show) return;
    const custom = h('input', { type: 'datetime-local', id: uid('snooze-at') });
    replace(snoozeBox,
      h('ul', { class: 'menu' }, snoozePresets().map(([label, at]) => h('li', null,
        h('button', { type: 'button', class: 'btn link', onClick: () => snooze(at) }, label)))),
      h('form', {
        class: 'snooze-custom',
        onSubmit: (ev) => {
          ev.preventDefault();
          if (custom.value) snooze(new Date(custom.value));
        },
      }, h('label', { for: custom.id }, 'Until'), custom, h('button', { type: 'submit', class: 'btn small' }, 'Snooze')));
    snoozeBox.querySelector('button').focus();
  }
  snoozeBox.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.stopPropagation();
      toggleSnooze(false);
      snoozeBtn.focus();
    }
  });

  function snooze(at) {
    toggleSnooze(false);
    snoozeBtn.focus();
    change(() => inboxapi.setStatus(api, id, 'snoozed', at.toISOString()), `Snoozed until ${fullTime(at)}`);
  }

  assignSel.addEventListener('change', () => change(() => inboxapi.assign(api, id, assignSel.value),
    assignSel.value ? `Assigned to ${ctx.userName(assignSel.value)}` : 'Unassigned'));
  statusSel.addEventListener('change', () => {
    if (statusSel.value === 'snoozed') {
      statusSel.value = c.status;
      toggleSnooze(true);
      return;
    }
    change(() => inboxapi.setStatus(api, id, statusSel.value), `Status: ${statusSel.value}`);
  });

  // --- composer --------------------------------------------------------
  function answer(m) {
    replyTo = m;
    if (mode === 'note') setMode('reply');
    replyingTo.hidden = false;
    replace(replyingTo, h('span', null, `Replying to ${m.authorName || 'comment'}: “${m.text.slice(0, 80)}”`),
      h('button', { type: 'button', class: 'btn link', onClick: () => { replyTo = null; replyingTo.hidden = true; text.focus(); } }, 'Cancel'));
    text.focus();
  }

  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSentAt) {
      rt.typing(id, false);
      typingSentAt = 0;
    }
  }

  text.addEventListener('input', () => {
    const now = Date.now();
    if (text.value && now - typingSentAt > TYPING_REFRESH_MS) {
      rt.typing(id, true);
      typingSentAt = now;
    }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
    if (!text.value) stopTyping();
    updateMentions();
  });
  text.addEventListener('blur', () => setTimeout(() => { hideMentions(); }, 150));
  text.addEventListener('keydown', (ev) => {
    if (!mentionList.hidden && handleMentionKey(ev)) return;
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      send();
    }
    if (ev.key === 'Escape') {
      ev.preventDefault();
      text.blur();
      thread.closest('.thread').querySelector('.thread-title').focus();
    }
  });

  async function send() {
    const body = text.value.trim();
    if (!body || !c) return;
    const local = {
      id: `local-${++localSeq}`, local: true, direction: 'out', private: mode === 'note', authorName: '', agentId: me.id, text: body,
      at: new Date().toISOString(), parentId: replyTo ? replyTo.id : '', delivery: { state: 'pending', error: '' }, tombstone: '', edited: false, attachments: [], replies: null,
    };
    messages = [...messages, local];
    text.value = '';
    stopTyping();
    const sentMode = mode;
    const target = replyTo;
    replyTo = null;
    replyingTo.hidden = true;
    renderMessages();
    threadWrap.scrollTop = threadWrap.scrollHeight;
    try {
      const m = await inboxapi.sendMessage(api, id, { text: body, mode: sentMode, replyTo: target ? target.id : '' });
      if (destroyed) return;
      messages = messages.filter((x) => x !== local);
      if (m && m.id && !known.has(m.id)) {
        known.add(m.id);
        if (c.kind === 'comment' && target && !m.parentId) m.parentId = target.id;
        messages = [...messages, m];
      }
      renderMessages();
      announce(sentMode === 'note' ? 'Note saved' : 'Reply sent to the platform queue');
      reloadMessages();
    } catch (err) {
      if (destroyed) return;
      local.delivery = { state: 'failed', error: errorText(err) };
      renderMessages();
      text.value = text.value || body;
    }
  }

  // @mentions: in notes, "@" + letters offers teammates.
  let mentionMatches = [];
  let mentionActive = 0;
  let mentionStart = -1;

  function handle(u) {
    return u.email ? u.email.split('@')[0] : (u.name || '').split(/\s+/)[0];
  }

  function updateMentions() {
    if (mode !== 'note') return hideMentions();
    const upto = text.value.slice(0, text.selectionStart);
    const m = /(^|\s)@([\p{L}\p{N}._-]*)$/u.exec(upto);
    if (!m) return hideMentions();
    mentionStart = upto.length - m[2].length - 1;
    const q = m[2].toLowerCase();
    mentionMatches = ctx.users.filter((u) => !u.disabled && u.id !== me.id && u.role !== 'integration' &&
      ((u.name || '').toLowerCase().includes(q) || handle(u).toLowerCase().startsWith(q))).slice(0, 6);
    if (!mentionMatches.length) return hideMentions();
    mentionActive = 0;
    renderMentions();
  }

  function renderMentions() {
    replace(mentionList, mentionMatches.map((u, i) => h('li', {
      role: 'option', id: `${mentionList.id}-${i}`, 'aria-selected': String(i === mentionActive),
      onMousedown: (ev) => { ev.preventDefault(); pickMention(u); },
    }, `${u.name || u.email} `, h('span', { class: 'muted' }, `@${handle(u)}`))));
    mentionList.hidden = false;
    text.setAttribute('aria-expanded', 'true');
    text.setAttribute('aria-activedescendant', `${mentionList.id}-${mentionActive}`);
  }

  function hideMentions() {
    mentionList.hidden = true;
    text.setAttribute('aria-expanded', 'false');
    text.removeAttribute('aria-activedescendant');
  }

  function handleMentionKey(ev) {
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      mentionActive = (mentionActive + (ev.key === 'ArrowDown' ? 1 : -1) + mentionMatches.length) % mentionMatches.length;
      renderMentions();
      return true;
    }
    if (ev.key === 'Enter' || ev.key === 'Tab') {
      ev.preventDefault();
      pickMention(mentionMatches[mentionActive]);
      return true;
    }
    if (ev.key === 'Escape') {
      ev.preventDefault();
      hideMentions();
      return true;
    }
    return false;
  }

  function pickMention(u) {
    const before = text.value.slice(0, mentionStart);
    const after = text.value.slice(text.selectionStart);
    const ins = `@${handle(u)} `;
    text.value = before + ins + after;
    const pos = before.length + ins.length;
    text.setSelectionRange(pos, pos);
    hideMentions();
    text.focus();
  }

  // Canned responses.
  inboxapi.cannedResponses(api).then((list) => {
    canned = list;
    if (!canned.length || destroyed) return;
    for (const cr of canned) cannedSel.appendChild(h('option', { value: cr.id }, cr.shortcut ? `${cr.name} (/${cr.shortcut})` : cr.name));
    cannedSel.hidden = false;
  }).catch(() => {});
  cannedSel.addEventListener('change', async () => {
    const cr = canned.find((x) => x.id === cannedSel.value);
    cannedSel.value = '';
    if (!cr) return;
    try {
      const filled = await inboxapi.renderCanned(api, cr, id);
      const at = text.selectionStart ?? text.value.length;
      text.value = text.value.slice(0, at) + filled + text.value.slice(at);
      text.focus();
      text.setSelectionRange(at + filled.length, at + filled.length);
    } catch (err) {
      toast(`Could not insert: ${errorText(err)}`, 'error');
    }
  });

  inboxapi.labels(api).then((ls) => {
    for (const l of ls) labelOptions.appendChild(h('option', { value: l.name }));
  }).catch(() => {});

  // --- live ------------------------------------------------------------
  unbind.push(rt.subscribe(`conversation:${id}`, (ev) => {
    switch (ev.type) {
      case 'message.created':
      case 'message.updated':
        reloadMessages();
        if (ev.type === 'message.created') reloadConversation();
        break;
      case 'conversation.updated':
      case 'conversation.assigned':
        reloadConversation();
        break;
      case 'reset':
        reloadMessages();
        reloadConversation();
        break;
      default:
        break;
    }
  }));
  // Presence may arrive before the conversation has loaded: keep the latest.
  let lastPresence = null;
  unbind.push(rt.on('presence', (ev) => {
    const d = ev.data || {};
    if (d.conversation_id !== id) return;
    lastPresence = d;
    if (c) renderPresence(d);
  }));
  rt.view(id);

  loadAll();

  return {
    focusReply(m) {
      if (!c) return;
      setMode(m === 'note' ? 'note' : mode === 'note' ? 'reply' : mode);
      text.focus();
    },
    resolve,
    focusAssign() {
      if (c) assignSel.focus();
    },
    destroy() {
      destroyed = true;
      stopTyping();
      reloadMessages.cancel();
      reloadConversation.cancel();
      for (const u of unbind) u();
      rt.view('');
    },
  };
}
