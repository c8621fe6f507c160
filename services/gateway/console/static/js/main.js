// main.js starts the console: sign-in, the page frame (navigation,
// notifications, connection state) and the client-side router that mounts
// one view per URL.

import { Api } from './api.js';
import { h, replace, errorBox, announce } from './dom.js';
import * as keys from './keys.js';
import { Notifications, toast } from './notify.js';
import { Realtime } from './realtime.js';
import { Session } from './session.js';

const session = new Session();
const api = new Api(session);
const rt = new Realtime(session);
const app = document.getElementById('app');

// Routes map paths to view modules; manager-only views are hidden from agents.
const routes = [
  { re: /^\/(?:inbox\/?)?$/, view: 'inbox', params: () => ({ id: '' }) },
  { re: /^\/inbox\/([^/]+)\/?$/, view: 'inbox', params: (m) => ({ id: decodeURIComponent(m[1]) }) },
  { re: /^\/contacts\/([^/]+)\/?$/, view: 'contact', params: (m) => ({ id: decodeURIComponent(m[1]) }) },
  { re: /^\/customers\/?$/, view: 'customers', params: () => ({}) },
  { re: /^\/segments\/?$/, view: 'segments', params: () => ({}) },
  { re: /^\/reports\/?$/, view: 'reports', params: () => ({}), manager: true },
];

const nav = [
  { href: '/inbox', label: 'Inbox', view: 'inbox' },
  { href: '/customers', label: 'Customers', view: 'customers' },
  { href: '/segments', label: 'Segments', view: 'segments' },
  { href: '/reports', label: 'Reports', view: 'reports', manager: true },
];

let ctx = null;
let current = null; // {view, instance}
let main = null;

function isManager(role) {
  return role === 'admin' || role === 'manager';
}

// navigate changes the URL and mounts the matching view.
function navigate(path, { replace: rep = false, focus = true } = {}) {
  if (path === location.pathname + location.search) {
    route({ focus });
    return;
  }
  if (rep) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route({ focus });
}

async function route({ focus = true } = {}) {
  if (!ctx) return;
  const path = location.pathname;
  let match = null;
  let r = null;
  for (const cand of routes) {
    match = cand.re.exec(path);
    if (match) {
      r = cand;
      break;
    }
  }
  for (const a of document.querySelectorAll('.nav a')) {
    const on = r && a.dataset.view === r.view;
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!r || (r.manager && !ctx.isManager)) {
    unmount();
    replace(main, h('h1', { tabindex: '-1' }, 'Page not found'),
      h('p', null, r ? 'This page is for managers.' : 'There is nothing at this address.'),
      h('p', null, h('a', { href: '/inbox' }, 'Go to the inbox')));
    document.title = 'Not found · Community Inbox';
    return;
  }
  const params = r.params(match);
  if (current && current.view === r.view && current.instance.update) {
    current.instance.update(params, { focus });
    return;
  }
  unmount();
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  let mod;
  try {
    mod = await import(`./views/${r.view}.js`);
  } catch (err) {
    replace(main, errorBox(err, () => route()));
    return;
  }
  replace(main);
  current = { view: r.view, instance: mod.mount(main, params, ctx) };
  if (focus) {
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
  }
}

function unmount() {
  if (current && current.instance.destroy) current.instance.destroy();
  current = null;
}

// loginScreen is the full-page sign-in form.
function loginScreen() {
  document.title = 'Sign in · Community Inbox';
  const email = h('input', { type: 'email', id: 'login-email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', id: 'login-password', name: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Sign in');
  const form = h('form', {
    class: 'login-form',
    onSubmit: async (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      error.textContent = '';
      try {
        await session.login(email.value, password.value);
        const back = location.pathname === '/login' ? '/inbox' : location.pathname + location.search;
        history.replaceState(null, '', back);
        await start();
      } catch (err) {
        error.textContent = err.message;
        submit.disabled = false;
        password.select();
      }
    },
  },
  h('h1', null, 'Sign in to Community Inbox'),
  h('div', { class: 'field' }, h('label', { for: 'login-email' }, 'Email'), email),
  h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Password'), password),
  error,
  submit);
  replace(app, h('main', { id: 'main', class: 'login' }, form));
  email.focus();
}

function shell(me, workspace) {
  const notifications = new Notifications((href) => navigate(href));
  const conn = h('span', { class: 'conn', role: 'status' });
  rt.onStatus((st) => {
    conn.dataset.state = st;
    conn.textContent = st === 'live' ? 'Live' : st === 'connecting' ? 'Connecting…' : 'Offline, retrying';
  });
  const signOut = () => {
    rt.stop();
    session.clear();
    location.assign('/login');
  };
  const header = h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '/inbox' }, 'Community Inbox'),
    h('span', { class: 'workspace' }, workspace ? workspace.name : ''),
    h('nav', { class: 'nav', 'aria-label': 'Main' },
      h('ul', null, nav.filter((n) => !n.manager || isManager(me.role))
        .map((n) => h('li', null, h('a', { href: n.href, dataset: { view: n.view } }, n.label))))),
    h('div', { class: 'topbar-tools' },
      conn,
      h('div', { class: 'bell-wrap' }, notifications.button, notifications.panel),
      h('button', { type: 'button', class: 'btn icon', 'aria-label': 'Keyboard shortcuts', title: 'Keyboard shortcuts (?)', onClick: keys.showHelp }, '?'),
      h('span', { class: 'me' }, h('span', { class: 'me-name' }, me.name || me.email), h('span', { class: 'role' }, me.role)),
      h('button', { type: 'button', class: 'btn', onClick: signOut }, 'Sign out')));
  main = h('main', { id: 'main', tabindex: '-1' });
  replace(app, header, main);
  return notifications;
}

// watchForMe turns events addressed to the user into notifications.
function watchForMe(notifications, me, users) {
  const name = (id) => {
    const u = users.find((x) => x.id === id);
    return u ? u.name || u.email : 'Someone';
  };
  rt.subscribe('inbox', (ev) => {
    const d = ev.data || {};
    const convId = ev.conversation_id || d.conversation_id || (d.conversation && d.conversation.id) || '';
    const href = convId ? `/inbox/${encodeURIComponent(convId)}` : '/inbox';
    if (ev.type === 'mention' && (ev.user_id === me.id || d.user_id === me.id || d.mentioned_user_id === me.id)) {
      const by = d.by_name || (d.by ? name(d.by) : 'Someone');
      notifications.add({ text: `${by} mentioned you in a note`, href, at: ev.time });
    }
    if (ev.type === 'conversation.assigned') {
      const to = ev.user_id || d.assignee_id || (d.conversation && d.conversation.assignee_id);
      const by = d.by;
      if (to === me.id && by !== me.id) {
        notifications.add({ text: `${by ? name(by) : 'Auto-assignment'} assigned you a conversation`, href, at: ev.time });
      }
    }
  });
}

async function start() {
  replace(app, h('p', { class: 'boot' }, 'Loading…'));
  let meBody;
  let users = [];
  try {
    meBody = await api.get('/api/v1/me');
    const ub = await api.get('/api/v1/users');
    users = (ub && ub.users) || [];
  } catch (err) {
    replace(app, h('main', { id: 'main' }, errorBox(err, start)));
    return;
  }
  const me = meBody.user;
  ctx = {
    api, rt, session, me, users, navigate, toast, announce,
    workspace: meBody.workspace,
    isManager: isManager(me.role),
    userName(id) {
      if (!id) return 'Unassigned';
      const u = this.users.find((x) => x.id === id);
      return u ? u.name || u.email : 'Unknown user';
    },
  };
  const notifications = shell(me, meBody.workspace);
  ctx.notifications = notifications;
  rt.start();
  watchForMe(notifications, me, users);
  await route();
}

function interceptLinks() {
  document.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = ev.target instanceof Element ? ev.target.closest('a[href]') : null;
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || /^\/(api|ws|webhooks)(\/|$)/.test(url.pathname)) return;
    if (!ctx) return;
    ev.preventDefault();
    navigate(url.pathname + url.search);
  });
  window.addEventListener('popstate', () => route());
}

keys.install();
interceptLinks();
if (session.signedIn) start();
else loginScreen();
