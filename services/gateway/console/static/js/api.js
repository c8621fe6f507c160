// api.js is the console's only way to the server: JSON over fetch on the same
// origin with the session's bearer token. A 401 asks the user to sign in
// again and retries once, so an expired token never loses their work.

// ApiError is a failed call: status 0 when the server was not reached.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function query(params) {
  if (!params) return '';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function toError(res) {
  let code = 'error';
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // Not JSON: keep the status text.
  }
  return new ApiError(res.status, code, message);
}

// Api calls the HTTP API with session's token.
export class Api {
  constructor(session) {
    this.session = session;
  }

  // request performs one call; opts: body (JSON), query, raw (return the Response).
  async request(method, path, opts = {}) {
    const url = path + query(opts.query);
    for (let attempt = 0; ; attempt++) {
      const headers = { Accept: opts.raw ? '*/*' : 'application/json' };
      if (this.session.token) headers.Authorization = `Bearer ${this.session.token}`;
      let body;
      if (opts.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(opts.body);
      }
      let res;
      try {
        res = await fetch(url, { method, headers, body, credentials: 'same-origin', signal: opts.signal });
      } catch (err) {
        if (err.name === 'AbortError') throw err;
        throw new ApiError(0, 'network', 'The server cannot be reached.');
      }
      if (res.status === 401 && attempt === 0 && !opts.noReauth) {
        await this.session.reauth();
        continue;
      }
      if (!res.ok) throw await toError(res);
      if (opts.raw) return res;
      if (res.status === 204) return null;
      const text = await res.text();
      return text ? JSON.parse(text) : null;
    }
  }

  get(path, q, opts) { return this.request('GET', path, { ...opts, query: q }); }
  post(path, body, opts) { return this.request('POST', path, { ...opts, body }); }
  patch(path, body, opts) { return this.request('PATCH', path, { ...opts, body }); }
  put(path, body, opts) { return this.request('PUT', path, { ...opts, body }); }
  del(path, opts) { return this.request('DELETE', path, opts); }

  // optional is get that answers null when the endpoint does not exist (yet),
  // so a panel whose service is missing hides instead of failing the page.
  async optional(path, q, opts) {
    try {
      return await this.get(path, q, opts);
    } catch (err) {
      if (err.status === 404 || err.status === 501 || err.status === 502 || err.status === 503) return null;
      throw err;
    }
  }

  // download fetches a file with the token and hands it to the browser.
  async download(path, filename) {
    const res = await this.request('GET', path, { raw: true });
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
}

// items reads the list out of a list response, whatever the service named it.
export function items(body, ...names) {
  if (!body) return [];
  if (Array.isArray(body)) return body;
  for (const n of [...names, 'items', 'data', 'results']) {
    if (Array.isArray(body[n])) return body[n];
  }
  return [];
}

// nextCursor reads the pagination cursor of a list response.
export function nextCursor(body) {
  if (!body || Array.isArray(body)) return '';
  return body.next_cursor || body.cursor || (body.page && body.page.next_cursor) || '';
}
