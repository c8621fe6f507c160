// notify.js shows short confirmations (toasts) and keeps the list of
// notifications addressed to the user: mentions and assignments.

import { h, s, replace } from './dom.js';
import { ago } from './format.js';

// toast shows a message for a few seconds; kind is info, success or error.
export function toast(text, kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const el = h('div', { class: ['toast', kind] }, text);
  box.appendChild(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

function bellIcon() {
  return s('svg', { viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false' },
    s('path', { d: 'M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z' }));
}

// Notifications is the bell in the header and the list behind it.
export class Notifications {
  constructor(navigate) {
    this.navigate = navigate;
    this.items = [];
    this.unread = 0;
    this.badge = h('span', { class: 'badge count', hidden: true });
    this.button = h('button', {
      type: 'button', class: 'btn icon bell', 'aria-expanded': 'false', 'aria-controls': 'notifications-panel',
      onClick: () => this.toggle(),
    }, bellIcon(), h('span', { class: 'visually-hidden' }, 'Notifications'), this.badge);
    this.list = h('ul', { class: 'notification-list' });
    const canAsk = 'Notification' in window && Notification.permission === 'default';
    const ask = canAsk ? h('button', {
      type: 'button', class: 'btn small',
      onClick: async () => {
        await Notification.requestPermission();
        ask.remove();
      },
    }, 'Also notify me when this tab is in the background') : null;
    this.panel = h('div', { id: 'notifications-panel', class: 'popover', hidden: true, role: 'region', 'aria-label': 'Notifications' },
      h('h2', { class: 'popover-title' }, 'Notifications'), this.list, ask);
    this.panel.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') {
        this.toggle(false);
        this.button.focus();
      }
    });
    this.render();
  }

  // add records one notification: {text, href, at}.
  add(n) {
    this.items.unshift({ ...n, at: n.at || new Date().toISOString() });
    this.items = this.items.slice(0, 50);
    this.unread += 1;
    toast(n.text);
    this.render();
    // A desktop notification only when the user cannot see the toast.
    if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
      const dn = new Notification('Community Inbox', { body: n.text, tag: n.href });
      dn.onclick = () => {
        window.focus();
        this.navigate(n.href);
        dn.close();
      };
    }
  }

  toggle(open) {
    const show = open === undefined ? this.panel.hidden : open;
    this.panel.hidden = !show;
    this.button.setAttribute('aria-expanded', String(show));
    if (show) {
      this.unread = 0;
      this.render();
      const first = this.panel.querySelector('a');
      if (first) first.focus();
    }
  }

  render() {
    this.badge.hidden = this.unread === 0;
    this.badge.textContent = String(this.unread);
    this.button.setAttribute('aria-label', this.unread ? `Notifications, ${this.unread} new` : 'Notifications');
    if (this.items.length === 0) {
      replace(this.list, h('li', { class: 'muted' }, 'Nothing yet. Mentions and assignments show up here.'));
      return;
    }
    replace(this.list, this.items.map((n) => h('li', null,
      h('a', {
        href: n.href,
        onClick: (ev) => {
          ev.preventDefault();
          this.toggle(false);
          this.navigate(n.href);
        },
      }, n.text),
      h('small', { class: 'muted' }, ` · ${ago(n.at)}`))));
  }
}
