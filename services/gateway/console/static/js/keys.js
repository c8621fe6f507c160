// keys.js holds the keyboard shortcuts. Views bind theirs while mounted;
// shortcuts never fire while the user types in a field, and "?" lists what is
// bound right now.

import { h } from './dom.js';

const bindings = new Map(); // key → [{description, fn}], the latest binding wins

function typing(target) {
  if (!target || !(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const t = (target.getAttribute('type') || 'text').toLowerCase();
    return !['button', 'submit', 'checkbox', 'radio', 'reset'].includes(t);
  }
  return false;
}

// bind registers key (as KeyboardEvent.key) until the returned function is called.
export function bind(key, description, fn) {
  const entry = { description, fn };
  if (!bindings.has(key)) bindings.set(key, []);
  bindings.get(key).push(entry);
  return () => {
    const list = bindings.get(key);
    if (!list) return;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) bindings.delete(key);
  };
}

// install starts listening; call once.
export function install() {
  document.addEventListener('keydown', (ev) => {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    if (typing(ev.target)) return;
    // An open dialog owns the keyboard, Escape included (it closes the dialog).
    if (document.querySelector('dialog[open]')) return;
    const list = bindings.get(ev.key);
    if (!list || list.length === 0) return;
    ev.preventDefault();
    list[list.length - 1].fn(ev);
  });

  bind('?', 'Show keyboard shortcuts', showHelp);
}

const labels = { '/': '/', '?': '?', Escape: 'Esc' };

// showHelp opens the list of current shortcuts.
export function showHelp() {
  const existing = document.getElementById('shortcuts-dialog');
  if (existing) existing.remove();
  const rows = [...bindings.entries()]
    .map(([key, list]) => [key, list[list.length - 1].description])
    .sort((a, b) => a[0].localeCompare(b[0]));
  const dialog = h('dialog', { id: 'shortcuts-dialog', class: 'dialog', 'aria-labelledby': 'shortcuts-title' },
    h('h2', { id: 'shortcuts-title' }, 'Keyboard shortcuts'),
    h('table', { class: 'table shortcuts' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Action'))),
      h('tbody', null, rows.map(([k, d]) => h('tr', null, h('td', null, h('kbd', null, labels[k] || k)), h('td', null, d))))),
    h('p', { class: 'muted' }, 'In the reply box, Ctrl+Enter sends. Shortcuts are off while you type in a field.'),
    h('form', { method: 'dialog', class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, 'Close')));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.appendChild(dialog);
  dialog.showModal();
}
