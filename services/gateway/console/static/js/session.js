// session.js keeps the signed-in user's token for this tab and asks for the
// password again when it expires, without leaving the current screen.

import { h } from './dom.js';

const KEY = 'ci.session';

// Session is the token, its expiry and the user it belongs to.
export class Session {
  constructor() {
    this.data = null;
    this.pending = null;
    this.listeners = new Set();
    try {
      const raw = sessionStorage.getItem(KEY);
      if (raw) this.data = JSON.parse(raw);
    } catch {
      this.data = null;
    }
  }

  get token() { return this.data ? this.data.token : ''; }
  get user() { return this.data ? this.data.user : null; }
  get signedIn() { return Boolean(this.data && this.data.token); }

  // login exchanges a password for a token.
  async login(email, password) {
    let res;
    try {
      res = await fetch('/api/v1/auth/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ email, password }),
      });
    } catch {
      throw new Error('The server cannot be reached.');
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      if (res.status === 401) throw new Error('Wrong email or password.');
      throw new Error((body.error && body.error.message) || `Sign-in failed (${res.status}).`);
    }
    this.set(body);
    return body;
  }

  set(body) {
    this.data = { token: body.token, expires_at: body.expires_at, user: body.user };
    sessionStorage.setItem(KEY, JSON.stringify(this.data));
    for (const fn of this.listeners) fn(this.data);
  }

  // onChange calls fn after every sign-in (the realtime client reconnects with the new token).
  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  clear() {
    this.data = null;
    sessionStorage.removeItem(KEY);
  }

  // reauth shows the sign-in dialog once, however many calls failed at the
  // same time, and resolves when the user has signed in again. Signing in as
  // someone else reloads the page: nothing of the first user's screen stays.
  reauth() {
    if (this.pending) return this.pending;
    const previous = this.user;
    this.pending = new Promise((resolve) => {
      const email = h('input', { type: 'email', id: 'reauth-email', autocomplete: 'username', required: true, value: previous ? previous.email : '' });
      const password = h('input', { type: 'password', id: 'reauth-password', autocomplete: 'current-password', required: true });
      const error = h('p', { class: 'form-error', role: 'alert' });
      const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Sign in');
      const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'reauth-title' },
        h('form', {
          method: 'dialog',
          onSubmit: async (ev) => {
            ev.preventDefault();
            submit.disabled = true;
            error.textContent = '';
            try {
              const body = await this.login(email.value, password.value);
              dialog.close();
              dialog.remove();
              this.pending = null;
              if (previous && body.user && body.user.id !== previous.id) {
                location.reload();
                return;
              }
              resolve();
            } catch (err) {
              error.textContent = err.message;
              submit.disabled = false;
              password.select();
            }
          },
        },
        h('h2', { id: 'reauth-title' }, 'Your session has expired'),
        h('p', null, 'Sign in again to continue where you left off.'),
        h('div', { class: 'field' }, h('label', { for: 'reauth-email' }, 'Email'), email),
        h('div', { class: 'field' }, h('label', { for: 'reauth-password' }, 'Password'), password),
        error,
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'btn', onClick: () => { this.clear(); location.assign('/login'); } }, 'Sign out'),
          submit)));
      // Escape would leave the app without a token: keep the dialog open.
      dialog.addEventListener('cancel', (ev) => ev.preventDefault());
      document.body.appendChild(dialog);
      dialog.showModal();
      (previous ? password : email).focus();
    });
    return this.pending;
  }
}
