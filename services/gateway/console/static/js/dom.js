// dom.js builds elements from data. Text always goes in as text nodes, never
// as HTML, so nothing a customer writes can become markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    // The CSP forbids inline styles: use classes.
    if (k === 'style') throw new Error('dom: style attributes are blocked by the CSP; use a class');
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'dataset') {
      for (const [dk, dv] of Object.entries(v)) if (dv !== undefined && dv !== null) el.dataset[dk] = String(dv);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'value' && 'value' in el && !(el instanceof SVGElement)) {
      el.value = v;
    } else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') {
      el[k] = Boolean(v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// h creates an HTML element: h('button', {type: 'button', onClick}, 'Send').
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// s creates an SVG element.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// replace empties el and appends children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// announce reads text to screen-reader users through the page's live region.
export function announce(text) {
  const live = document.getElementById('live');
  if (!live) return;
  const p = h('p', null, text);
  live.appendChild(p);
  while (live.childNodes.length > 5) live.firstChild.remove();
}

// visuallyHidden wraps text that only assistive technology should read.
export function visuallyHidden(text) {
  return h('span', { class: 'visually-hidden' }, text);
}

// field is a labelled form control.
export function field(label, control, hint) {
  const id = control.id || (control.id = uid('f'));
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('small', { class: 'hint' }, hint) : null);
}

let counter = 0;
// uid returns a page-unique id with prefix p.
export function uid(p) {
  counter += 1;
  return `${p}-${counter}`;
}

// debounce delays fn until calls stop for ms.
export function debounce(fn, ms) {
  let t;
  const wrapped = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(t);
  return wrapped;
}

// errorText is what a user reads for a failed call.
export function errorText(err) {
  if (!err) return 'Something went wrong.';
  if (err.status === 403) return 'You do not have access to this.';
  if (err.status === 404) return 'Not found.';
  if (err.status === 0) return 'The server cannot be reached. Check your connection.';
  const m = err.message || 'Something went wrong.';
  return m[0].toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? '' : '.');
}

// errorBox renders a failed load.
export function errorBox(err, retry) {
  return h('div', { class: 'error', role: 'alert' },
    h('p', null, errorText(err)),
    retry ? h('button', { type: 'button', class: 'btn', onClick: retry }, 'Try again') : null);
}
