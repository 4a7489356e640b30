// herald-client: one subscription to herald over whichever transport the
// network allows (EventSource, the es-web fetch stream, long polling), with
// resume from the last event id, de-duplication, keep-alive, token refresh and,
// in browsers, one connection shared by every tab of an origin.
//
// Everything runs on the caller's event loop; there is no global state but the
// per-origin memory of the transport that worked (localStorage, or a Map in
// Node).

const SERVER = '@SERVER@';
const PRESENCE = '@CONNECTION@/';
const CONTROL = ['connected', 'authorized', 'auth_expiring', 'joined_room', 'leaved_room',
  'available', 'disconnect', 'reset'];
// What a leading tab tells the others besides the events themselves.
const BROADCAST = ['state', 'open', 'disconnect', 'reset'];
const FATAL = [400, 401, 403, 404, 413];
const memory = new Map();
const hasWindow = typeof window !== 'undefined' && !!window.addEventListener;

function recall(key) {
  try { return localStorage.getItem(key); } catch { return memory.get(key); }
}
function remember(key, value) {
  try { localStorage.setItem(key, value); } catch { memory.set(key, value); }
}

// An HTTP error with the server's reason: herald's own endpoints answer a JSON
// {"error"} body, the es-web ones a text/plain body, and the status line
// carries the reason too; whichever is there wins in that order.
export class HeraldError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'HeraldError';
    this.status = status;
  }
}

async function httpError(res, what) {
  let text = '';
  try { text = await res.text(); } catch { /* body unreadable */ }
  let reason;
  try { reason = JSON.parse(text).error; } catch { /* not JSON */ }
  reason = reason || text.trim() || res.statusText || `HTTP ${res.status}`;
  return new HeraldError(`${what}: ${res.status} ${reason}`, res.status);
}

// "<epoch>-<seq>" → [epoch, seq]
function splitId(id) {
  const i = id.lastIndexOf('-');
  return [id.slice(0, i), Number(id.slice(i + 1))];
}

function jwtExp(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part)).exp * 1000 || 0;
  } catch { return 0; }
}

// Calls onJson for every frame of an es-web stream (''<N>''<json>); the JSON
// is pure ASCII, so N counts string units. Heartbeats (''0'') are skipped.
async function readFrames(body, onJson) {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let at = 0;
    for (;;) {
      const a = buf.indexOf("''", at);
      const b = a < 0 ? -1 : buf.indexOf("''", a + 2);
      if (b < 0) break;
      const n = Number(buf.slice(a + 2, b));
      if (buf.length < b + 2 + n) break;
      at = b + 2 + n;
      if (n) onJson(buf.slice(b + 2, at));
    }
    buf = buf.slice(at);
  }
}

// Transports: each runs one connection until it ends. It resolves when the
// server ends it, rejects on an HTTP or network error, and reports frames and
// "the response has started" to the client.
const transports = {
  async stream(c, link, headers) {
    const body = { ep: c._space ? [] : c._filters(), clid: c.opts.clid };
    if (c._space) Object.assign(body, { space: c._space, channels: c._filters() });
    if (c.lastEventId) body.last_event_id = c.lastEventId;
    if (c.opts.bindKey) body.bind_key = c.opts.bindKey;
    const res = await c._fetch('/', body, headers, link.ac.signal);
    await readFrames(res.body, (json) => c._frame(link, JSON.parse(json)));
  },

  async poll(c, link, headers) {
    let since = c.lastEventId;
    for (;;) {
      const body = link.connid == null
        ? { ...c._query(), since }
        : { connid: link.connid, secret: link.secret, since, timeout: c.opts.pollTimeout };
      let res;
      try {
        res = await c._fetch('/poll', body, headers, link.ac.signal);
      } catch (e) {
        // The session expired while we were away: start a new one from the cursor.
        if (e.status !== 410 || link.connid == null) throw e;
        link.connid = null;
        continue;
      }
      const j = await res.json();
      if (link.connid == null) {
        c._frame(link, { ep: { emitted: SERVER }, e: { type: 'connected', detail: { connid: j.connid, secret: j.secret, timeout: 0, cursor: j.cursor } } });
      }
      link.secret = j.secret || link.secret;
      for (const m of j.events) c._frame(link, m);
      if (j.cursor) since = j.cursor;
      if (link.reason) return;
    }
  },

  async sse(c, link, headers) {
    const q = c._query();
    if (c.lastEventId) q.lastEventId = c.lastEventId;
    if (headers.Authorization) q.ticket = (await (await c._fetch('/ticket', {}, headers, link.ac.signal)).json()).ticket;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) for (const x of [].concat(v)) if (x != null) params.append(k, x);
    return new Promise((resolve, reject) => {
      if (link.ac.signal.aborted) return resolve();
      const es = new EventSource(`${c.url}/sse?${params}`);
      const onFrame = (m) => c._frame(link, JSON.parse(m.data));
      es.onmessage = onFrame;
      for (const n of CONTROL) es.addEventListener(n, onFrame);
      // We reconnect ourselves (fresh ticket, backoff, transport fallback), so
      // the browser's own retry is cut short.
      es.onerror = () => {
        es.close();
        if (link.opened) resolve(); else reject(new Error('EventSource failed'));
      };
      link.ac.signal.addEventListener('abort', () => { es.close(); resolve(); });
    });
  },
};

export class HeraldClient {
  // url: herald's public base URL. See index.d.ts for the options.
  constructor(url, opts = {}) {
    this.url = String(url).replace(/\/+$/, '');
    this.opts = {
      transports: ['sse', 'stream', 'poll'],
      selftest: hasWindow,
      keepAlive: true,
      shareTabs: true,
      remember: true,
      backoff: { min: 500, max: 30000 },
      openTimeout: 5000,
      pollTimeout: 25000,
      ...opts,
    };
    const fetchFn = this.opts.fetch || globalThis.fetch;
    this._fetchFn = (...a) => fetchFn(...a);
    this._space = this.opts.space;
    this._rooms = new Set([].concat(this._space ? this.opts.channels || [] : this.opts.topics || []));
    if (!this._rooms.size && !this._space) throw new TypeError('HeraldClient: give topics, or space + channels');
    this._transports = this.opts.transports.filter((t) => t !== 'sse' || typeof EventSource === 'function');
    if (!this._transports.length) throw new TypeError('HeraldClient: no usable transport');
    this._l = {};
    this._ti = 0;
    this._fails = 0;
    this._attempt = 0;
    this._waits = new Map();
    this.lastEventId = null;
    this._adopt(this.opts.lastEventId);
    this.state = 'connecting';
    this.transport = null;
    this.error = null;
    this._key = `herald:${this.url}|${JSON.stringify([this._space, [...this._rooms].sort(), this.opts.clid])}`;
    this._memoKey = `herald-transport:${this.url}`;
    if (hasWindow) {
      this._win = {
        online: () => this._online(),
        offline: () => this._offline(),
        visibilitychange: () => { if (!document.hidden && this._timer) this._connectSoon(0); },
      };
      for (const [k, f] of Object.entries(this._win)) (k === 'visibilitychange' ? document : window).addEventListener(k, f);
    }
    queueMicrotask(() => {
      this._emit('state', this.state);
      if (!this._tabs()) this._start();
    });
  }

  on(type, fn) { (this._l[type] ||= new Set()).add(fn); return this; }
  off(type, fn) { this._l[type]?.delete(fn); return this; }

  _emit(type, v) {
    if (this._lead && BROADCAST.includes(type)) this._bc.postMessage({ e: type, v });
    for (const fn of this._l[type] || []) {
      try { fn(v); } catch (e) { queueMicrotask(() => { throw e; }); }
    }
  }

  _setState(s) {
    if (this.state === s) return;
    this.state = s;
    this._emit('state', s);
  }

  // Subscribe parameters of /sse and /poll.
  _query() {
    return this._space
      ? { space: this._space, channel: this._filters(), clid: this.opts.clid }
      : { topic: this._filters(), clid: this.opts.clid };
  }
  _filters() { return [...this._rooms]; }

  // POST a JSON body; resolves with the response when it is 2xx, rejects with
  // a HeraldError carrying the server's reason otherwise.
  async _fetch(path, body, headers, signal) {
    const res = await this._fetchFn(this.url + path, {
      method: 'POST', signal, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers },
    });
    if (!res.ok) throw await httpError(res, `${path}`);
    return res;
  }

  async _token() {
    const t = this.opts.token;
    let v;
    try { v = typeof t === 'function' ? await t() : t; } catch (e) {
      throw new HeraldError(`token function failed: ${e && e.message}`, 0);
    }
    if (typeof v !== 'string' || !v) throw new HeraldError('token function returned no token', 0);
    this._exp = jwtExp(v);
    return v;
  }

  async _start() {
    // A remembered choice is trusted for a day, then probed again.
    const [chosen, at] = String(this.opts.remember && recall(this._memoKey)).split(' ');
    if (this._transports.includes(chosen) && Date.now() - at < 864e5) this._ti = this._transports.indexOf(chosen);
    else if (this.opts.selftest && this._transports[0] !== 'poll' && this._transports.includes('poll') &&
             await this._buffered()) {
      this._ti = this._transports.indexOf('poll');
    }
    this._connect();
  }

  // GET /selftest and watch when its 5 timed events arrive: a buffering proxy
  // delivers them late and in one lump (or holds even the headers back). A
  // server without /selftest, or one that cannot be reached, says nothing
  // about buffering: the transports' own failures decide then.
  async _buffered() {
    const ac = new AbortController();
    const arrivals = [];
    let late = false;
    let res;
    const timer = setTimeout(() => { late = true; ac.abort(); }, 3000);
    try {
      res = await this._fetchFn(`${this.url}/selftest`, { signal: ac.signal });
      if (!res.ok) return false;
      await readFrames(res.body, () => arrivals.push(Date.now()));
    } catch {
      if (!res && !late) return false;
    } finally {
      clearTimeout(timer);
    }
    return arrivals.length < 2 || arrivals[arrivals.length - 1] - arrivals[0] < 200 * (arrivals.length - 1);
  }

  async _connect(next) {
    if (this.state === 'closed') return;
    clearTimeout(this._timer);
    this._timer = null;
    const link = { name: this._transports[this._ti], ac: new AbortController(), connid: null, timers: [] };
    if (next) this._next = link; else this._link = link;
    if (!next) this._setState(this._everOpen ? 'reconnecting' : 'connecting');
    let headers = {};
    try {
      if (this.opts.token) headers = { Authorization: `Bearer ${await this._token()}` };
      this._watch(link);
      await transports[link.name](this, link, headers);
      this._ended(link);
    } catch (e) {
      this._ended(link, e);
    }
  }

  // The first frame must come soon after the request: when it does not (not
  // even the headers, which a compressing or buffering proxy holds back with
  // the body), the stream is being buffered.
  _watch(link) {
    link.timers.push(setTimeout(() => {
      if (link.opened || link.dead) return;
      link.buffered = true;
      link.ac.abort();
    }, this.opts.openTimeout));
  }

  _opened(link, detail) {
    link.opened = true;
    link.connid = detail.connid;
    link.secret = detail.secret;
    link.cursor = detail.cursor;
    this._adopt(detail.cursor);
    if (this._next === link) {
      const old = this._link;
      this._link = link;
      this._next = null;
      this._drop(old);
    }
    this._fails = 0;
    this._everOpen = true;
    link.timers.push(setTimeout(() => { this._attempt = 0; }, 5000));
    this.transport = link.name;
    if (this.opts.remember) remember(this._memoKey, `${link.name} ${Date.now()}`);
    this._setState('open');
    this._emit('open', { transport: link.name, connid: link.connid });
    if (this.opts.keepAlive && detail.timeout > 0) this._alive(link, detail.timeout);
    if (this._exp) this._refreshLater(link);
    for (const w of this._waits.values()) if (!w.sent) w.send();
  }

  _drop(link) {
    if (!link || link.dead) return;
    link.dead = true;
    link.ac.abort();
    for (const t of link.timers) clearTimeout(t);
  }

  _ended(link, err) {
    if (link.dead && !link.buffered) return;
    this._drop(link);
    if (link === this._next) { this._next = null; return; }
    if (link !== this._link || this.state === 'closed' || this.state === 'offline') return;
    // A successor is already on its way (Max alive reached): it takes over.
    if (this._next) { this._link = this._next; this._next = null; return; }
    const reason = link.reason || (link.buffered ? 'buffered' : err ? err.message : 'closed');
    if (err && (FATAL.includes(err.status) || err.status === 0)) return this._fail(err);
    if (link.reason === 'unauthorized') return this._fail(new HeraldError('unauthorized', 401));
    let moved = false;
    if ((link.buffered || (!link.opened && ++this._fails >= 2)) && this._ti < this._transports.length - 1) {
      // This transport does not work here: move on to the next one at once.
      this._ti++;
      this._fails = 0;
      moved = true;
    }
    const cap = Math.min(this.opts.backoff.max, this.opts.backoff.min * 2 ** this._attempt++);
    const delay = moved ? 0 : Math.random() * cap; // full jitter
    this._emit('disconnect', { reason, retryIn: Math.round(delay) });
    this._setState('reconnecting');
    this._connectSoon(delay);
  }

  _connectSoon(delay) {
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this._connect(), delay);
  }

  _fail(err) {
    this.error = err;
    this._emit('error', err);
    this.close();
  }

  // One frame from any transport, in the es-web shape {id?, iat, ep, e}.
  _frame(link, m) {
    if (link.dead) return;
    const topic = m.ep && m.ep.emitted;
    const type = m.e && m.e.type;
    const d = m.e && m.e.detail;
    if (m.id == null || topic === SERVER) {
      this._emit('frame', m);
      if (type === 'connected') this._opened(link, d);
      else if (type === 'disconnect') link.reason = d && d.reason;
      else if (type === 'auth_expiring') this._refresh(link);
      else if (type === 'reset') {
        // The old cursor is void: this connection carries on from where it subscribed.
        this._adopt(link.cursor, true);
        this._emit('reset', { reason: d && d.reason, oldest: d && d.oldest });
      } else if (type === 'joined_room' || type === 'leaved_room') {
        const w = this._waits.get(`${type === 'joined_room' ? 'join' : 'leave'} ${d.channel ?? d.topic}`);
        if (w) w.done();
      } else if (topic && topic.startsWith(PRESENCE)) this._presence(topic, type, d);
      return;
    }
    this._accept(m);
  }

  // A stored event: delivered once, whatever the transport or tab it came
  // through. Ids grow with publish order within an epoch, so one cursor suffices.
  _accept(m) {
    const [epoch, seq] = splitId(m.id);
    if (epoch === this._epoch && seq <= this._seq) return;
    this._move(m.id);
    this._emit('frame', m);
    if (this._lead) this._bc.postMessage({ m });
    const topic = m.ep.emitted;
    if (topic.startsWith(PRESENCE)) return this._presence(topic, m.e.type, m.e.detail);
    this._emit('message', { id: m.id, topic, filter: m.ep.requested, type: m.e.type, detail: m.e.detail, iat: m.iat });
  }

  // The resume point when no event has arrived yet: where the server says the
  // connection subscribed (`cursor` of `connected`, or of the first poll
  // answer), so what is published before the first reconnect is replayed, not
  // lost. A cursor of our own is never replaced: a resume's replay comes after
  // `connected` and carries ids below its cursor. Only a reset (force) voids
  // it. Followers take the leader's start point the same way.
  _adopt(id, force) {
    if (!id || (this.lastEventId && !force)) return;
    this._move(id);
    if (this._lead) this._bc.postMessage({ cursor: id, force });
  }

  _move(id) {
    this.lastEventId = id;
    [this._epoch, this._seq] = splitId(id);
  }

  _presence(topic, type, d) {
    this._emit('presence', { clid: topic.slice(PRESENCE.length), type, count: Number(d && d.clid_instances) });
  }

  _post(link, path, extra) {
    return this._fetch(path, { connid: link.connid, secret: link.secret, ...extra }, {});
  }

  // POST /alive before the connection's timeout; a new secret each time. On
  // "Max alive reached" a new connection is opened from the last id before
  // the old one ends (duplicates are dropped); other errors are retried a few
  // times at a slower pace, never in a loop.
  _alive(link, timeout, tries = 0) {
    const wait = tries ? timeout / 4 : Math.max(timeout / 2, timeout - 10000);
    link.timers.push(setTimeout(async () => {
      if (link.dead) return;
      try {
        const j = await (await this._post(link, '/alive')).json();
        link.secret = j.secret;
        this._alive(link, j.timeout || timeout);
      } catch (e) {
        if (link.dead) return;
        if (/Max alive reached/.test(e.message)) this._connect(true);
        else if (tries < 3 && !/Invalid data/.test(e.message)) this._alive(link, timeout, tries + 1);
      }
    }, wait));
  }

  async _refresh(link) {
    if (link.refreshing || link.dead || !this.opts.token) return;
    link.refreshing = true;
    try {
      const token = await this._token();
      await this._post(link, '/authenticate', { token });
      this._refreshLater(link);
    } catch (e) {
      // A refused token or a failing token function is final; a network
      // error is retried a little later (the token is still valid until exp).
      if (link.dead) return;
      if (e.status === 0 || e.status === 401 || e.status === 403) this._fail(e);
      else link.timers.push(setTimeout(() => this._refresh(link), 5000));
    } finally {
      link.refreshing = false;
    }
  }

  // A minute before exp (half-way for short tokens); capped to what
  // setTimeout can hold, since a longer delay would fire at once.
  _refreshLater(link) {
    const left = this._exp - Date.now();
    link.timers.push(setTimeout(() => this._refresh(link), Math.min(2 ** 31 - 1, Math.max(1000, left - 60000, left / 2))));
  }

  join(name) { return this._room('join', name); }
  leave(name) { return this._room('leave', name); }

  // Resolved by the joined_room / leaved_room event, rejected with the server's
  // reason. The set survives reconnects: a new connection subscribes to it.
  _room(op, name) {
    if (this._follower) return this._ask(op, name);
    const key = `${op} ${name}`;
    return new Promise((resolve, reject) => {
      const w = {
        done: () => { this._waits.delete(key); resolve(); },
        send: async () => {
          w.sent = true;
          try {
            await this._post(this._link, `/${op}`, { [this._space ? 'channel' : 'topic']: name });
            if (op === 'join') this._rooms.add(name); else this._rooms.delete(name);
            if (this._lead) this._bc.postMessage({ rooms: this._filters() });
          } catch (e) {
            this._waits.delete(key);
            reject(e);
          }
        },
      };
      this._waits.set(key, w);
      if (this.state === 'open') w.send();
    });
  }

  _offline() {
    if (this.state === 'closed') return;
    this._drop(this._link);
    clearTimeout(this._timer);
    this._setState('offline');
  }

  _online() {
    if (this.state !== 'offline') return;
    this._attempt = 0;
    this._setState('reconnecting');
    this._connect();
  }

  // Tabs: the tab holding the Web Lock runs the connection and rebroadcasts
  // every frame; the others listen. When the leader goes, the next tab in the
  // lock's queue resumes from the last id it saw, and de-duplication hides the
  // overlap. Returns false where there are no tabs (Node, or shareTabs off).
  _tabs() {
    if (!this.opts.shareTabs || !hasWindow || !navigator.locks || typeof BroadcastChannel !== 'function') return false;
    this._bc = new BroadcastChannel(this._key);
    this._follower = true;
    this._asks = new Map();
    this._bc.onmessage = ({ data }) => this._fromTab(data);
    this._lockAc = new AbortController();
    navigator.locks.request(this._key, { signal: this._lockAc.signal }, () => {
      if (this.state === 'closed') return;
      this._follower = false;
      this._lead = true;
      for (const [rid, a] of this._asks) { this._asks.delete(rid); this._room(a.op, a.name).then(a.resolve, a.reject); }
      this._start();
      return new Promise((r) => { this._unlock = r; });
    }).catch(() => { /* aborted by close() */ });
    this._bc.postMessage({ hello: 1 });
    return true;
  }

  _fromTab(d) {
    if (this._lead) {
      if (d.hello) {
        this._bc.postMessage({ e: 'state', v: this.state, t: this.transport });
        if (this.lastEventId) this._bc.postMessage({ cursor: this.lastEventId });
      }
      if (d.op) {
        this._room(d.op, d.name).then(() => this._bc.postMessage({ rid: d.rid }),
          (e) => this._bc.postMessage({ rid: d.rid, err: e.message }));
      }
      return;
    }
    if (d.m) this._accept(d.m);
    else if (d.cursor) this._adopt(d.cursor, d.force);
    else if (d.rooms) this._rooms = new Set(d.rooms);
    else if (d.rid && this._asks.has(d.rid)) {
      const a = this._asks.get(d.rid);
      this._asks.delete(d.rid);
      if (d.err) a.reject(new HeraldError(d.err, 400)); else a.resolve();
    } else if (d.e) {
      if (d.e === 'open') this.transport = d.v.transport;
      if (d.t) this.transport = d.t;
      if (d.e === 'state') this._setState(d.v); else this._emit(d.e, d.v);
    }
  }

  _ask(op, name) {
    return new Promise((resolve, reject) => {
      const rid = Math.random().toString(36).slice(2);
      this._asks.set(rid, { op, name, resolve, reject });
      this._bc.postMessage({ op, name, rid });
    });
  }

  close() {
    if (this.state === 'closed') return;
    this._drop(this._link);
    this._drop(this._next);
    clearTimeout(this._timer);
    if (this._win) for (const [k, f] of Object.entries(this._win)) (k === 'visibilitychange' ? document : window).removeEventListener(k, f);
    if (this._bc) {
      this._lead = false;
      this._bc.close();
      this._lockAc.abort();
      if (this._unlock) this._unlock();
    }
    for (const [, w] of this._waits) w.done();
    this._setState('closed');
  }

  // for await (const ev of client): every message until close(); throws the
  // error that closed the client, if any.
  [Symbol.asyncIterator]() {
    const queue = [];
    let wake = null;
    const kick = () => { if (wake) { wake(); wake = null; } };
    const onMessage = (ev) => { queue.push(ev); kick(); };
    const onState = (s) => { if (s === 'closed') kick(); };
    this.on('message', onMessage).on('state', onState);
    const stop = () => { this.off('message', onMessage).off('state', onState); };
    return {
      next: async () => {
        for (;;) {
          if (queue.length) return { value: queue.shift(), done: false };
          if (this.state === 'closed') {
            stop();
            if (this.error) throw this.error;
            return { value: undefined, done: true };
          }
          await new Promise((r) => { wake = r; });
        }
      },
      return: async () => { stop(); this.close(); return { value: undefined, done: true }; },
      [Symbol.asyncIterator]() { return this; },
    };
  }
}

export default HeraldClient;
