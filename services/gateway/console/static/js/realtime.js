// realtime.js keeps one websocket to the gateway's hub. It authenticates with
// the session token, resubscribes after every reconnect with the last seq seen
// per stream (so the hub replays what was missed), and tells subscribers to
// refetch when the hub answers "reset".

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30000;
const CLOSE_UNAUTHORIZED = 4001;

// Realtime is the console's live connection.
export class Realtime {
  constructor(session) {
    this.session = session;
    this.ws = null;
    this.streams = new Map(); // name → {seq, handlers:Set}
    this.typeHandlers = new Map(); // event type → Set (presence, mention, ...)
    this.statusHandlers = new Set();
    this.status = 'offline';
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.viewing = '';
    session.onChange(() => this.restart());
  }

  // start opens the connection; it reconnects by itself until stop.
  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, 'bye');
    this.ws = null;
  }

  restart() {
    if (this.stopped) return;
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      old.close(1000, 'new token');
    }
    clearTimeout(this.timer);
    this.connect();
  }

  setStatus(st) {
    if (this.status === st) return;
    this.status = st;
    for (const fn of this.statusHandlers) fn(st);
  }

  // onStatus calls fn with 'connecting', 'live' or 'offline'.
  onStatus(fn) {
    this.statusHandlers.add(fn);
    fn(this.status);
    return () => this.statusHandlers.delete(fn);
  }

  connect() {
    if (this.stopped || !this.session.token) return;
    this.setStatus('connecting');
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      ws.send(JSON.stringify({ type: 'auth', token: this.session.token }));
      for (const [name, st] of this.streams) this.sendSubscribe(name, st);
      if (this.viewing) this.send({ type: 'view', conversation_id: this.viewing });
    });
    ws.addEventListener('message', (ev) => {
      if (this.ws !== ws) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.dispatch(msg);
    });
    ws.addEventListener('close', (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setStatus('offline');
      if (this.stopped) return;
      if (ev.code === CLOSE_UNAUTHORIZED) {
        this.session.reauth().then(() => this.connect());
        return;
      }
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    clearTimeout(this.timer);
    const base = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.attempt);
    this.attempt += 1;
    // Full jitter keeps a fleet of consoles from reconnecting in lockstep after a deploy.
    const delay = base / 2 + Math.random() * (base / 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(obj));
      return true;
    }
    return false;
  }

  sendSubscribe(name, st) {
    const msg = { type: 'subscribe', stream: name };
    if (st.seq !== null) msg.since = st.seq;
    this.send(msg);
  }

  dispatch(msg) {
    const st = msg.stream ? this.streams.get(msg.stream) : null;
    switch (msg.type) {
      case 'subscribed':
        this.attempt = 0;
        this.setStatus('live');
        if (st) {
          // A first subscribe learns the current seq; a resubscribe's replay follows.
          if (st.seq === null) st.seq = msg.seq;
          for (const fn of st.handlers) fn(msg);
        }
        return;
      case 'reset':
        if (st) {
          st.seq = msg.seq;
          for (const fn of st.handlers) fn(msg);
        }
        return;
      case 'pong':
      case 'unsubscribed':
        return;
      case 'error':
        if (st) for (const fn of st.handlers) fn(msg);
        return;
      default:
        break;
    }
    if (st && typeof msg.seq === 'number') {
      if (st.seq !== null && msg.seq <= st.seq) return; // a replayed duplicate
      st.seq = msg.seq;
    }
    if (st) for (const fn of st.handlers) fn(msg);
    const typed = this.typeHandlers.get(msg.type);
    if (typed) for (const fn of typed) fn(msg);
  }

  // subscribe delivers the stream's events (and subscribed/reset/error
  // frames) to fn until the returned function is called.
  subscribe(name, fn) {
    let st = this.streams.get(name);
    const fresh = !st;
    if (fresh) {
      st = { seq: null, handlers: new Set() };
      this.streams.set(name, st);
    }
    st.handlers.add(fn);
    if (fresh) this.sendSubscribe(name, st);
    return () => {
      st.handlers.delete(fn);
      if (st.handlers.size === 0 && name !== 'inbox') {
        this.streams.delete(name);
        this.send({ type: 'unsubscribe', stream: name });
      }
    };
  }

  // on delivers every event of a type (presence, mention, ...) to fn.
  on(type, fn) {
    let set = this.typeHandlers.get(type);
    if (!set) {
      set = new Set();
      this.typeHandlers.set(type, set);
    }
    set.add(fn);
    return () => set.delete(fn);
  }

  // view tells others this user looks at a conversation; '' leaves it.
  view(conversationId) {
    if (this.viewing && this.viewing !== conversationId) this.send({ type: 'leave', conversation_id: this.viewing });
    this.viewing = conversationId || '';
    if (this.viewing) this.send({ type: 'view', conversation_id: this.viewing });
  }

  typing(conversationId, typing) {
    this.send({ type: 'typing', conversation_id: conversationId, typing });
  }
}
