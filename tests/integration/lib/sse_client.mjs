// A Server-Sent Events client for the integration tests. It reads GET /sse
// (or any text/event-stream) over a raw http.request and parses the stream by
// the WHATWG rules (HTML, "Server-sent events", §9.2.6 "Interpreting an event
// stream"): lines end in CRLF, LF or CR; a leading BOM is dropped; a line
// starting with ':' is a comment; "field: value" with one optional space
// after the colon; a line without a colon is a field with an empty value;
// `data` lines are joined with LF; `id` (unless it holds NUL) sets the last
// event id, which sticks to later events; `retry` takes ASCII digits only; an
// empty line dispatches the event (nothing is dispatched when the data buffer
// is empty); unknown fields are ignored; an unfinished event at the end of the
// stream is dropped.
//
// Beyond the parser it checks herald's own contract and records violations in
// `errors` (which fails the test, see htest): the body is ASCII, every data
// payload is a JSON object, the first event is `connected`, application
// (unnamed) events carry an `id:` equal to their JSON `id`.

import http from 'node:http';
import https from 'node:https';
import { track } from './herald.mjs';

let counter = 0;

// Pure parser, exported for its own test. feed(text) → calls onEvent /
// onComment / onRetry as the text completes them; end() drops any unfinished event.
export function createSseParser({ onEvent, onComment = () => {}, onRetry = () => {} }) {
  let buf = '';
  let first = true;
  let data = [];
  let hasData = false;
  let type = '';
  let lastEventId = '';
  let pendingCR = false;

  const line = (l) => {
    if (l === '') {
      if (!hasData) { type = ''; return; }
      onEvent({ type: type || 'message', data: data.join('\n'), lastEventId });
      data = [];
      hasData = false;
      type = '';
      return;
    }
    if (l[0] === ':') { onComment(l.slice(1)); return; }
    const i = l.indexOf(':');
    let field = l;
    let value = '';
    if (i >= 0) {
      field = l.slice(0, i);
      value = l.slice(i + 1);
      if (value[0] === ' ') value = value.slice(1);
    }
    if (field === 'event') type = value;
    else if (field === 'data') { data.push(value); hasData = true; }
    else if (field === 'id') { if (!value.includes('\0')) lastEventId = value; }
    else if (field === 'retry') { if (/^[0-9]+$/.test(value)) onRetry(Number(value)); }
  };

  return {
    feed(text) {
      if (first && text.length) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      buf += text;
      let start = 0;
      for (let i = 0; i < buf.length; i++) {
        const c = buf[i];
        if (c === '\n' && pendingCR) { pendingCR = false; start = i + 1; continue; }
        pendingCR = false;
        if (c === '\r' || c === '\n') {
          line(buf.slice(start, i));
          if (c === '\r') pendingCR = true;
          start = i + 1;
        }
      }
      buf = buf.slice(start);
    },
    end() { buf = ''; data = []; hasData = false; type = ''; },
    get lastEventId() { return lastEventId; },
  };
}

function matcher(pred) {
  if (typeof pred === 'function') return pred;
  if (typeof pred === 'string') return (ev) => ev.json && ev.json.e && ev.json.e.type === pred;
  return (ev) => (pred.event === undefined || ev.type === pred.event) &&
    (pred.type === undefined || (ev.json && ev.json.e && ev.json.e.type === pred.type)) &&
    (pred.id === undefined || ev.id === pred.id);
}

// sseConnect(h, query, {headers, label, path, lastEventId}) — opens the stream.
// `query` is an object (arrays repeat the key) or a string. Returns the client:
//   events        every dispatched event {type, data, id, json} (connected included)
//   connected     promise of the `connected` detail
//   next(pred, ms) first not-yet-taken event (after connected) matching pred:
//                 a function, an e.type string, or {event, type, id}
//   messages()    the application events (type 'message') so far
//   comments, retry, status, headers, ended, close()
export function sseConnect(h, query = {}, opts = {}) {
  counter += 1;
  const s = {
    label: opts.label || `sse${counter}`,
    events: [],
    taken: [],
    comments: 0,
    retry: undefined,
    errors: [],
    status: undefined,
    headers: undefined,
    isEnded: false,
    bytes: 0,
  };
  track('subs', s);
  let waiters = [];
  let connResolve;
  let connReject;
  let connDone = false;
  s.connected = new Promise((res, rej) => { connResolve = res; connReject = rej; });
  s.connected.catch(() => {});
  let endResolve;
  s.ended = new Promise((res) => { endResolve = res; });
  let respResolve;
  s.response = new Promise((res) => { respResolve = res; });

  const fail = (msg) => {
    s.errors.push(msg);
    if (!connDone) { connDone = true; connReject(new Error(`${s.label}: ${msg}`)); }
  };

  const onEvent = (ev) => {
    let json;
    try { json = JSON.parse(ev.data); } catch { json = undefined; }
    const e = { type: ev.type, data: ev.data, id: ev.lastEventId, json };
    if (!json || typeof json !== 'object' || Array.isArray(json)) {
      if (!opts.lenient) fail(`data is not a JSON object: ${ev.data.slice(0, 200)}`);
    } else if (ev.type === 'message' && !opts.lenient && json.id !== ev.lastEventId) {
      fail(`application event id: ${JSON.stringify(ev.lastEventId)} but JSON id ${JSON.stringify(json.id)}`);
    }
    const idx = s.events.length;
    s.events.push(e);
    s.taken.push(false);
    if (idx === 0 && !opts.lenient) {
      if (e.type !== 'connected' || !json || !json.e || json.e.type !== 'connected') {
        fail(`first event is not connected: ${ev.type} ${ev.data.slice(0, 200)}`);
        return;
      }
      s.taken[0] = true;
      connDone = true;
      connResolve(json.e.detail);
      return;
    }
    for (const w of waiters) {
      if (w.match(e)) {
        s.taken[idx] = true;
        clearTimeout(w.timer);
        waiters = waiters.filter((x) => x !== w);
        w.resolve(e);
        return;
      }
    }
  };
  const parser = createSseParser({
    onEvent,
    onComment: () => { s.comments += 1; },
    onRetry: (ms) => { s.retry = ms; },
  });

  const finish = (why) => {
    if (s.isEnded) return;
    s.isEnded = true;
    parser.end();
    if (!connDone) {
      connDone = true;
      connReject(new Error(`${s.label}: stream ended before connected (status ${s.status}; ${why}; ${s.rawText || ''})`));
    }
    const ws = waiters;
    waiters = [];
    for (const w of ws) {
      clearTimeout(w.timer);
      w.reject(new Error(`${s.label}: stream ended (${why}) before an event matching ${w.desc}; got ${s.summary()}`));
    }
    endResolve(why);
  };

  let path = opts.path || '/sse';
  if (typeof query === 'string') {
    path += query ? `?${query}` : '';
  } else {
    const sp = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      for (const x of Array.isArray(v) ? v : [v]) sp.append(k, String(x));
    }
    const qs = sp.toString();
    if (qs) path += `?${qs}`;
  }
  const headers = { Accept: 'text/event-stream', ...(opts.headers || {}) };
  if (opts.lastEventId !== undefined) headers['Last-Event-ID'] = opts.lastEventId;
  // h.tls: node:https options ({ca, ...}); pubPort is then the TLS port.
  const req = (h.tls ? https : http).request({ ...(h.tls || {}), host: '127.0.0.1', port: h.pubPort, path, method: 'GET', agent: false, headers });
  s.req = req;
  const decoder = new TextDecoder('utf-8');
  req.on('response', (res) => {
    s.res = res;
    s.status = res.statusCode;
    s.statusMessage = res.statusMessage;
    s.headers = res.headers;
    respResolve({ status: res.statusCode, statusMessage: res.statusMessage, headers: res.headers });
    if (res.statusCode !== 200) {
      let t = '';
      res.on('data', (d) => { t += d; });
      res.on('end', () => { s.rawText = t; finish(`HTTP ${res.statusCode}`); });
      res.on('error', () => {});
      res.on('close', () => finish(`HTTP ${res.statusCode}`));
      return;
    }
    res.on('data', (chunk) => {
      s.bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] > 0x7f) { fail(`non-ASCII byte 0x${chunk[i].toString(16)} in the stream`); break; }
      }
      parser.feed(decoder.decode(chunk, { stream: true }));
    });
    res.on('end', () => finish('end'));
    res.on('error', () => {});
    res.on('close', () => finish('close'));
  });
  req.on('error', (e) => { respResolve({ error: e.message }); finish(e.message); });
  req.end();

  s.summary = () => s.events.map((e) => `${e.type}${e.id ? '#' + e.id : ''}`).join(', ').slice(-2000);
  s.next = (pred = () => true, timeoutMs = 5000) => {
    const match = matcher(pred);
    const desc = typeof pred === 'function' ? pred.toString().slice(0, 100) : JSON.stringify(pred);
    for (let i = 1; i < s.events.length; i++) {
      if (!s.taken[i] && match(s.events[i])) { s.taken[i] = true; return Promise.resolve(s.events[i]); }
    }
    if (s.isEnded) return Promise.reject(new Error(`${s.label}: stream ended; no event matching ${desc}; got ${s.summary()}`));
    return new Promise((resolve, reject) => {
      const w = { match, resolve, reject, desc };
      w.timer = setTimeout(() => {
        waiters = waiters.filter((x) => x !== w);
        reject(new Error(`${s.label}: no event matching ${desc} within ${timeoutMs} ms; got ${s.summary()}`));
      }, timeoutMs);
      waiters.push(w);
    });
  };
  s.messages = () => s.events.filter((e) => e.type === 'message');
  s.named = (name) => s.events.filter((e) => e.type === name);
  s.lastEventId = () => parser.lastEventId;
  s.close = () => { req.destroy(); if (s.res) s.res.destroy(); };
  return s;
}

// Opens a stream and waits for `connected`; s.detail is its detail.
export async function sseOpen(h, query, opts) {
  const s = sseConnect(h, query, opts);
  s.detail = await s.connected;
  return s;
}

// Waits until `s` has at least n application events (bounded by timeoutMs).
export async function waitMessages(s, n, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (s.messages().length < n) {
    if (s.isEnded) throw new Error(`${s.label}: ended with ${s.messages().length}/${n} messages; got ${s.summary()}`);
    if (Date.now() > deadline) throw new Error(`${s.label}: ${s.messages().length}/${n} messages after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return s.messages();
}
