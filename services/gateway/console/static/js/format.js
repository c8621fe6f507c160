// format.js renders times, durations and names for people.

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

function toDate(t) {
  if (!t) return null;
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) || d.getUTCFullYear() <= 1 ? null : d;
}

// ago renders a past time relative to now: "5 min. ago".
export function ago(t, now = Date.now()) {
  const d = toDate(t);
  if (!d) return '';
  const sec = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(sec);
  if (abs < 45) return 'just now';
  if (abs < 3600) return rtf.format(Math.round(sec / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(sec / 3600), 'hour');
  if (abs < 30 * 86400) return rtf.format(Math.round(sec / 86400), 'day');
  return dateOnly.format(d);
}

// when renders an absolute time: today's as a time, others as date and time.
export function when(t) {
  const d = toDate(t);
  if (!d) return '';
  const today = new Date();
  return d.toDateString() === today.toDateString() ? timeOnly.format(d) : dateTime.format(d);
}

// fullTime is the precise time for tooltips and <time> elements.
export function fullTime(t) {
  const d = toDate(t);
  return d ? dateTime.format(d) : '';
}

// isoTime is the machine-readable form for <time datetime>.
export function isoTime(t) {
  const d = toDate(t);
  return d ? d.toISOString() : '';
}

// day renders a date.
export function day(t) {
  const d = toDate(t);
  return d ? dateOnly.format(d) : '';
}

// duration renders seconds compactly: 75 → "1m 15s", 7260 → "2h 01m".
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
  let s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  const d = Math.floor(s / 86400);
  s %= 86400;
  return `${d}d ${Math.floor(s / 3600)}h`;
}

// waitingSeconds is how long someone has waited since t.
export function waitingSeconds(t, now = Date.now()) {
  const d = toDate(t);
  return d ? Math.max(0, (now - d.getTime()) / 1000) : null;
}

// initials of a name for avatars.
export function initials(name) {
  const parts = String(name || '').split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  if (!parts.length) return '?';
  return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}

// percent renders a 0..1 ratio.
export function percent(r) {
  if (r === null || r === undefined || Number.isNaN(r)) return '—';
  return new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 }).format(r);
}

// count renders an integer with grouping.
export function count(n) {
  return new Intl.NumberFormat().format(n || 0);
}

const platformNames = {
  facebook: 'Facebook', instagram: 'Instagram', whatsapp: 'WhatsApp', x: 'X', youtube: 'YouTube',
  telegram: 'Telegram', api: 'API', custom: 'Custom',
};

// platformName is the display name of a platform id.
export function platformName(p) {
  return platformNames[p] || (p ? p[0].toUpperCase() + p.slice(1) : 'Unknown');
}
