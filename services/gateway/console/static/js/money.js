// money.js formats integer minor units. The API sends money as an integer
// count of the currency's minor unit plus an ISO code; the exponent comes from
// Intl (JPY 0, USD 2, BHD 3) and the decimal is built from integers, so no
// amount ever passes through floating point.

const exponents = new Map();
const formatters = new Map();

// exponent is the number of minor-unit digits of currency.
export function exponent(currency) {
  const code = String(currency || '').toUpperCase();
  if (exponents.has(code)) return exponents.get(code);
  let exp = 2;
  try {
    exp = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits;
  } catch {
    // An unknown code: show it with two decimals, like ISO's default.
  }
  exponents.set(code, exp);
  return exp;
}

function toBigInt(minor) {
  if (typeof minor === 'bigint') return minor;
  if (typeof minor === 'number') {
    if (!Number.isInteger(minor)) throw new TypeError(`money: ${minor} is not an integer number of minor units`);
    return BigInt(minor);
  }
  if (typeof minor === 'string' && /^-?\d+$/.test(minor)) return BigInt(minor);
  throw new TypeError(`money: ${minor} is not an amount`);
}

// toDecimal renders minor units as an exact decimal string: 12345 USD → "123.45".
export function toDecimal(minor, currency) {
  const exp = exponent(currency);
  let n = toBigInt(minor);
  const neg = n < 0n;
  if (neg) n = -n;
  const base = 10n ** BigInt(exp);
  const whole = (n / base).toString();
  const frac = exp > 0 ? '.' + (n % base).toString().padStart(exp, '0') : '';
  return (neg ? '-' : '') + whole + frac;
}

function formatter(currency, compact) {
  const key = `${currency}|${compact}`;
  let f = formatters.get(key);
  if (!f) {
    const exp = exponent(currency);
    const opts = { style: 'currency', currency };
    if (compact) Object.assign(opts, { notation: 'compact', maximumFractionDigits: 1 });
    else Object.assign(opts, { minimumFractionDigits: exp, maximumFractionDigits: exp });
    try {
      f = new Intl.NumberFormat(undefined, opts);
    } catch {
      f = { format: (d) => `${d} ${currency}` };
    }
    formatters.set(key, f);
  }
  return f;
}

// formatMoney renders minor units in the user's locale: (123456, "USD") → "$1,234.56".
// Intl formats the decimal string exactly (no float conversion).
export function formatMoney(minor, currency, { compact = false } = {}) {
  if (minor === null || minor === undefined || !currency) return '—';
  return formatter(String(currency).toUpperCase(), compact).format(toDecimal(minor, currency));
}

// parseMoney reads what a user typed ("12.5", "1,200") into minor units, or
// null when it is not an amount with at most the currency's decimals.
export function parseMoney(text, currency) {
  const exp = exponent(currency);
  const t = String(text).trim().replace(/[\s,_]/g, '');
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(t);
  if (!m) return null;
  const frac = m[3] || '';
  if (frac.length > exp) return null;
  const n = BigInt(m[2]) * 10n ** BigInt(exp) + BigInt(frac.padEnd(exp, '0') || '0');
  const v = m[1] ? -n : n;
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(v);
}
