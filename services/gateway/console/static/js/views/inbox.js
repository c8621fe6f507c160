// The shared inbox: the conversation list with its filters on the left, the
// open conversation in the middle and the customer card on the right. The
// list follows the websocket: new conversations appear, order and badges
// change without a reload.

import { h, replace, debounce, errorBox, errorText, announce, visuallyHidden } from '../dom.js';
import { ago, duration, initials, platformName, waitingSeconds, fullTime, isoTime } from '../format.js';
import * as inboxapi from '../inboxapi.js';
import * as keys from '../keys.js';
import { mountConversation } from './conversation.js';
import { mountCard } from './card.js';

const LIVE_TYPES = new Set(['message.created', 'message.updated', 'conversation.updated', 'conversation.assigned', 'reset']);
const FILTERS = ['assignee', 'status', 'channel', 'kind', 'label', 'priority', 'q', 'sort'];
const DEFAULTS = { assignee: 'all', status: 'open', channel: '', kind: '', label: '', priority: '', q: '', sort: '' };

function filtersFromURL() {
  const q = new URLSearchParams(location.search);
  const f = { ...DEFAULTS };
  for (const k of FILTERS) if (q.has(k)) f[k] = q.get(k);
  return f;
}

function queryString(f) {
  const q = new URLSearchParams();
  for (const k of FILTERS) if (f[k] !== DEFAULTS[k]) q.set(k, f[k]);
  const s = q.toString();
  return s ? `?${s}` : '';
}

function displayName(c) {
  return c.customer.name || (c.customer.handle ? `@${c.customer.handle}` : '') || c.customer.userId || 'Unknown customer';
}

function waitingBadge(c, now) {
  const secs = waitingSeconds(c.waitingSince, now);
  if (secs === null || c.status === 'resolved') return null;
  const level = secs >= 4 * 3600 ? 'bad' : secs >= 3600 ? 'warn' : 'ok';
  return h('span', { class: ['badge', 'waiting', level], title: `Waiting since ${fullTime(c.waitingSince)}` }, `Waiting ${duration(secs)}`);
}

// mount renders the inbox into root.
export function mount(root, params, ctx) {
  const { api, rt } = ctx;
  let filters = filtersFromURL();
  let list = [];
  let cursor = '';
  let selected = params.id || '';
  let conv = null; // the mounted conversation view
  let card = null;
  let loadSeq = 0;
  const seen = new Set();
  const unbind = [];

  // Filters.
  const search = h('input', { type: 'search', id: 'inbox-search', placeholder: 'Search conversations', value: filters.q, 'aria-keyshortcuts': '/' });
  const assigneeGroup = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Assignee' },
    [['me', 'Mine'], ['unassigned', 'Unassigned'], ['all', 'All']].map(([v, label]) => h('button', {
      type: 'button', class: 'seg', dataset: { assignee: v }, 'aria-pressed': String(filters.assignee === v),
      onClick: () => setFilter('assignee', v),
    }, label, h('span', { class: 'seg-count', dataset: { countFor: v } }))));
  const sel = (name, label, options) => {
    const el = h('select', { id: `filter-${name}`, onChange: () => setFilter(name, el.value) },
      options.map(([v, t]) => h('option', { value: v, selected: filters[name] === v }, t)));
    return h('div', { class: 'field inline' }, h('label', { for: el.id }, label), el);
  };
  const statusSel = sel('status', 'Status', [['open', 'Open'], ['pending', 'Pending'], ['snoozed', 'Snoozed'], ['resolved', 'Resolved'], ['all', 'Any status']]);
  const kindSel = sel('kind', 'Type', [['', 'DMs and comments'], ['dm', 'DMs'], ['comment', 'Comments']]);
  const prioSel = sel('priority', 'Priority', [['', 'Any priority'], ['urgent', 'Urgent'], ['high', 'High'], ['normal', 'Normal']]);
  const sortSel = sel('sort', 'Order', [['', 'Latest activity'], ['waiting', 'Longest waiting first']]);
  const channelSel = sel('channel', 'Channel', [['', 'All channels']]);
  const labelSel = sel('label', 'Label', [['', 'Any label']]);

  const picked = new Set();
  const bulkCount = h('span', { class: 'bulk-count' });
  const bulkAssign = h('select', { id: 'bulk-assign', 'aria-label': 'Assign the selected conversations' });
  const bulkLabel = h('input', { type: 'text', id: 'bulk-label', size: 8, placeholder: 'Label', 'aria-label': 'Label to add to the selected conversations' });
  const bulkBar = h('div', { class: 'bulk', role: 'region', 'aria-label': 'Bulk actions', hidden: true },
    bulkCount,
    bulkAssign,
    h('button', { type: 'button', class: 'btn small', onClick: () => bulkApply({ action: 'resolve' }, 'Resolved') }, 'Resolve'),
    h('form', {
      class: 'bulk-label',
      onSubmit: (ev) => {
        ev.preventDefault();
        const l = bulkLabel.value.trim();
        if (l) bulkApply({ action: 'label', labels: [l] }, `Label ${l} added`);
        bulkLabel.value = '';
      },
    }, bulkLabel, h('button', { type: 'submit', class: 'btn small' }, 'Add label')),
    h('button', { type: 'button', class: 'btn small link', onClick: () => { picked.clear(); renderList(); } }, 'Clear selection'));
  bulkAssign.addEventListener('change', () => {
    if (bulkAssign.value === '-') return;
    const to = bulkAssign.value;
    bulkApply({ action: 'assign', user_id: to }, to ? `Assigned to ${ctx.userName(to)}` : 'Unassigned');
    bulkAssign.value = '-';
  });

  function renderBulk() {
    bulkBar.hidden = picked.size === 0;
    bulkCount.textContent = `${picked.size} selected`;
    if (bulkAssign.options.length === 0) {
      replace(bulkAssign, h('option', { value: '-' }, 'Assign to…'), h('option', { value: '' }, 'Unassigned'),
        ctx.users.filter((u) => !u.disabled).map((u) => h('option', { value: u.id }, u.name || u.email)));
    }
  }

  async function bulkApply(action, okText) {
    const ids = [...picked];
    try {
      const failed = await inboxapi.bulk(api, ids, action);
      const done = ids.length - failed.length;
      ctx.toast(`${okText}: ${done} conversation${done === 1 ? '' : 's'}`, 'success');
      if (failed.length) ctx.toast(`${failed.length} could not be changed: ${failed[0].error || failed[0].result}`, 'error');
      picked.clear();
      refresh();
    } catch (err) {
      ctx.toast(`Could not apply to all: ${errorText(err)}`, 'error');
      refresh();
    }
  }

  const summary = h('p', { class: 'list-summary', 'aria-live': 'polite' });
  const filterSummary = h('summary');
  function renderFilterSummary() {
    const active = ['status', 'channel', 'kind', 'label', 'priority', 'sort'].filter((k) => filters[k] !== DEFAULTS[k]).length;
    filterSummary.textContent = active ? `Filters (${active} changed)` : 'Filters';
  }
  renderFilterSummary();
  const listEl = h('ul', { class: 'conv-list', 'aria-label': 'Conversations' });
  const more = h('button', { type: 'button', class: 'btn wide', hidden: true, onClick: () => load(true) }, 'Load more');
  const listPane = h('section', { class: 'pane list-pane', 'aria-labelledby': 'inbox-title' },
    h('div', { class: 'list-head' },
      h('h1', { id: 'inbox-title' }, 'Inbox'),
      h('form', {
        role: 'search', class: 'search',
        onSubmit: (ev) => { ev.preventDefault(); setFilter('q', search.value.trim()); },
      }, h('label', { for: 'inbox-search', class: 'visually-hidden' }, 'Search conversations'), search)),
    assigneeGroup,
    h('details', { class: 'filters' },
      filterSummary,
      h('div', { class: 'filter-grid' }, statusSel, channelSel, kindSel, labelSel, prioSel, sortSel)),
    summary, bulkBar, listEl, more);
  search.addEventListener('input', debounce(() => {
    if (search.value.trim() !== filters.q) setFilter('q', search.value.trim());
  }, 400));

  const threadPane = h('section', { class: 'pane thread-pane', 'aria-label': 'Conversation' });
  const cardPane = h('aside', { class: 'pane card-pane', id: 'customer-card', 'aria-label': 'Customer' });
  const layout = h('div', { class: 'inbox' }, listPane, threadPane, cardPane);
  root.appendChild(layout);

  // Options that come from the service.
  inboxapi.channels(api).then((chs) => {
    const el = channelSel.querySelector('select');
    for (const c of chs) el.appendChild(h('option', { value: c.id, selected: filters.channel === c.id }, `${c.name} (${platformName(c.platform)})`));
  }).catch(() => {});
  inboxapi.labels(api).then((ls) => {
    const el = labelSel.querySelector('select');
    for (const l of ls) el.appendChild(h('option', { value: l.name, selected: filters.label === l.name }, l.name));
  }).catch(() => {});

  function setFilter(name, value) {
    filters = { ...filters, [name]: value };
    for (const b of assigneeGroup.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.assignee === filters.assignee));
    history.replaceState(null, '', location.pathname + queryString(filters));
    renderFilterSummary();
    load(false);
  }

  function hrefFor(id) {
    return `/inbox/${encodeURIComponent(id)}${queryString(filters)}`;
  }

  function renderItem(c, now) {
    const name = displayName(c);
    const isSel = c.id === selected;
    const assignee = c.assigneeId ? ctx.userName(c.assigneeId) : '';
    const link = h('a', {
      href: hrefFor(c.id), class: 'conv-link', 'aria-current': isSel ? 'true' : null,
      onClick: (ev) => {
        if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
        ev.preventDefault();
        open(c.id, true);
      },
    },
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(name)),
    h('span', { class: 'conv-main' },
      h('span', { class: 'conv-top' },
        h('strong', { class: 'conv-name' }, name),
        h('time', { datetime: isoTime(c.lastMessageAt), title: fullTime(c.lastMessageAt) }, ago(c.lastMessageAt, now))),
      c.kind === 'comment' && c.post && c.post.text ? h('span', { class: 'conv-post' }, `On: ${c.post.text}`) : null,
      c.preview ? h('span', { class: 'conv-preview' }, c.preview) : null,
      h('span', { class: 'conv-meta' },
        h('span', { class: ['pill', 'platform', c.platform] }, `${platformName(c.platform)} · ${c.kind === 'comment' ? 'Comments' : 'DM'}`),
        c.unread > 0 ? h('span', { class: 'badge unread' }, `${c.unread} unread`) : null,
        waitingBadge(c, now),
        c.status !== 'open' ? h('span', { class: ['pill', 'status', c.status] }, c.status) : null,
        c.priority && c.priority !== 'normal' ? h('span', { class: ['pill', 'priority', c.priority] }, c.priority) : null,
        c.labels.map((l) => h('span', { class: 'pill label' }, l)),
        assignee ? h('span', { class: 'assignee', title: `Assigned to ${assignee}` }, h('span', { 'aria-hidden': 'true' }, initials(assignee)), visuallyHidden(`Assigned to ${assignee}`)) : null)));
    const pick = h('input', {
      type: 'checkbox', class: 'pick', checked: picked.has(c.id), 'aria-label': `Select the conversation with ${name}`,
      onChange: () => {
        if (pick.checked) picked.add(c.id);
        else picked.delete(c.id);
        renderBulk();
      },
    });
    return h('li', { class: ['conv', c.unread > 0 ? 'is-unread' : '', picked.has(c.id) ? 'is-picked' : ''], dataset: { conversationId: c.id, status: c.status } }, pick, link);
  }

  function renderList() {
    const now = Date.now();
    // Keep keyboard focus on the same row (link or checkbox) across re-renders.
    const active = document.activeElement;
    const row = active && listEl.contains(active) ? active.closest('.conv') : null;
    const focusedId = row ? row.dataset.conversationId : '';
    const onPick = Boolean(active && active.classList && active.classList.contains('pick'));
    for (const id of [...picked]) if (!list.some((c) => c.id === id)) picked.delete(id);
    replace(listEl, list.length ? list.map((c) => renderItem(c, now)) : h('li', { class: 'empty' }, 'No conversations match these filters.'));
    if (focusedId) {
      const el = listEl.querySelector(`[data-conversation-id="${CSS.escape(focusedId)}"] ${onPick ? '.pick' : 'a'}`);
      if (el) el.focus({ preventScroll: true });
    }
    renderBulk();
    more.hidden = !cursor;
  }

  function renderSummary(total, counts) {
    const n = total ?? list.length;
    summary.textContent = `${n}${cursor && total === null ? '+' : ''} conversation${n === 1 ? '' : 's'}`;
    for (const span of assigneeGroup.querySelectorAll('.seg-count')) {
      const v = counts ? counts[span.dataset.countFor === 'me' ? 'mine' : span.dataset.countFor] : undefined;
      span.textContent = typeof v === 'number' ? ` ${v}` : '';
    }
  }

  // load fetches the first page (or the next one with append) for the filters.
  async function load(append) {
    const my = ++loadSeq;
    if (!append) listEl.setAttribute('aria-busy', 'true');
    try {
      const page = await inboxapi.listConversations(api, filters, append ? cursor : '');
      if (my !== loadSeq) return;
      list = append ? [...list, ...page.items.filter((c) => !list.some((x) => x.id === c.id))] : page.items;
      cursor = page.next;
      for (const c of list) seen.add(c.id);
      renderList();
      renderSummary(page.total, page.counts);
    } catch (err) {
      if (my !== loadSeq) return;
      replace(listEl, h('li', null, err.status === 404
        ? h('p', { class: 'notice' }, 'This server does not offer the conversation list yet.')
        : errorBox(err, () => load(false))));
    } finally {
      listEl.removeAttribute('aria-busy');
    }
  }

  // refresh refetches the first page after a live event and merges it with
  // what is loaded below it, so a long scrolled list is not cut back.
  const refresh = debounce(async () => {
    const my = ++loadSeq;
    try {
      const page = await inboxapi.listConversations(api, filters, '');
      if (my !== loadSeq) return;
      const firstIds = new Set(page.items.map((c) => c.id));
      const fresh = page.items.filter((c) => !seen.has(c.id));
      const tail = list.slice(page.items.length).filter((c) => !firstIds.has(c.id));
      list = [...page.items, ...tail];
      if (!cursor || list.length <= page.items.length) cursor = page.next;
      for (const c of fresh) {
        seen.add(c.id);
        announce(`New conversation from ${displayName(c)}`);
      }
      renderList();
      renderSummary(page.total, page.counts);
    } catch {
      // The next event or the user will try again; the list stays as it is.
    }
  }, 250);

  unbind.push(rt.subscribe('inbox', (ev) => {
    if (LIVE_TYPES.has(ev.type)) refresh();
  }));
  // Waiting badges grow by themselves.
  const ticker = setInterval(() => { if (list.length) renderList(); }, 30000);

  // Conversation and card.
  function showConversation(id, focus) {
    if (conv) conv.destroy();
    if (card) card.destroy();
    conv = null;
    card = null;
    layout.classList.toggle('has-conversation', Boolean(id));
    if (!id) {
      replace(threadPane, h('div', { class: 'empty-thread' },
        h('h2', null, 'No conversation open'),
        h('p', null, 'Pick one from the list, or press ', h('kbd', null, 'j'), ' to open the next.')));
      replace(cardPane);
      document.title = 'Inbox · Community Inbox';
      return;
    }
    conv = mountConversation(threadPane, id, ctx, {
      backHref: `/inbox${queryString(filters)}`,
      onLoaded: (c) => {
        document.title = `${displayName(c)} · Inbox · Community Inbox`;
        if (card) card.destroy();
        card = mountCard(cardPane, c, ctx);
        const i = list.findIndex((x) => x.id === c.id);
        if (i >= 0) {
          list[i] = { ...list[i], ...c, unread: 0 };
          renderList();
        }
      },
      onChanged: (c) => {
        const i = list.findIndex((x) => x.id === c.id);
        if (i >= 0) {
          list[i] = { ...list[i], ...c };
          renderList();
        }
        refresh();
      },
      toggleCard: () => layout.classList.toggle('show-card'),
      focus,
    });
  }

  function open(id, focus) {
    ctx.navigate(hrefFor(id), { focus });
  }

  function step(delta) {
    if (!list.length) return;
    let i = list.findIndex((c) => c.id === selected);
    i = i < 0 ? (delta > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, i + delta));
    const id = list[i].id;
    open(id, false);
    const link = listEl.querySelector(`[data-conversation-id="${CSS.escape(id)}"] a`);
    if (link) {
      link.focus({ preventScroll: true });
      link.scrollIntoView({ block: 'nearest' });
    }
  }

  unbind.push(keys.bind('j', 'Next conversation', () => step(1)));
  unbind.push(keys.bind('k', 'Previous conversation', () => step(-1)));
  unbind.push(keys.bind('/', 'Search conversations', () => { search.focus(); search.select(); }));
  unbind.push(keys.bind('r', 'Reply', () => conv && conv.focusReply('reply')));
  unbind.push(keys.bind('n', 'Write a private note', () => conv && conv.focusReply('note')));
  unbind.push(keys.bind('e', 'Resolve conversation', () => conv && conv.resolve()));
  unbind.push(keys.bind('a', 'Assign conversation', () => conv && conv.focusAssign()));
  unbind.push(keys.bind('Escape', 'Back to the list', () => {
    if (selected) {
      const link = listEl.querySelector(`[data-conversation-id="${CSS.escape(selected)}"] a`);
      if (link) link.focus();
      else search.focus();
    }
  }));

  load(false);
  showConversation(selected, false);

  return {
    update(p, { focus } = {}) {
      const f = filtersFromURL();
      if (queryString(f) !== queryString(filters)) {
        filters = f;
        load(false);
      }
      if (p.id !== selected) {
        selected = p.id;
        showConversation(selected, focus);
        renderList();
      }
    },
    destroy() {
      clearInterval(ticker);
      refresh.cancel();
      for (const u of unbind) u();
      if (conv) conv.destroy();
      if (card) card.destroy();
    },
  };
}
