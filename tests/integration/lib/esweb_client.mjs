// An es-web-notify stream subscriber that reads the `POST /` response the way the
// original XHR client (NoPollSubscriber.js) does: it accumulates the response text,
// splits it on '' (two apostrophes), reads <N>, and takes the next part as the JSON
// of the frame. ''0'' is a heartbeat.
//
// Unlike the original, it is strict, because the tests use it to prove the wire
// format: the part after <N> must be exactly N characters long (the JSON is pure
// ASCII with ' escaped, so it can never contain '' and N counts bytes and
// JavaScript string units alike), every byte of the body must be ASCII, every
// frame must parse as JSON, the first frame must be the @SERVER@ `connected`
// frame, and nothing may be left over when the response ends. A violation is
// recorded in `errors`, fails the waiting promises, and fails the test (htest).

import http from 'node:http';
import https from 'node:https';
import assert from 'node:assert/strict';
import { track, publishOk, uid, request } from './herald.mjs';

const SEP = "''";
let counter = 0;

function matcher(pred) {
  if (typeof pred === 'function') return pred;
  if (typeof pred === 'string') return (f) => f.e && f.e.type === pred;
  // Object form: {type, requested, emitted, id}.
  return (f) => (pred.type === undefined || (f.e && f.e.type === pred.type)) &&
    (pred.requested === undefined || (f.ep && f.ep.requested === pred.requested)) &&
    (pred.emitted === undefined || (f.ep && f.ep.emitted === pred.emitted)) &&
    (pred.id === undefined || f.id === pred.id);
}

function describe(pred) {
  if (typeof pred === 'function') return pred.toString().slice(0, 120);
  return JSON.stringify(pred);
}

export function summary(f) {
  return `${f.ep && f.ep.requested}|${f.ep && f.ep.emitted}|${f.e && f.e.type}`;
}

// subscribe(h, {clid, ep, bind_key}, {headers, body, label, path})
//   body: a raw request body (string) used instead of the JSON of the first argument.
// Over HTTPS when h.tls is set: {ca, ...} options for node:https (pubPort is then the TLS port).
export function subscribe(h, sub = {}, opts = {}) {
  counter += 1;
  const s = {
    label: opts.label || `sub${counter}`,
    frames: [],
    consumed: [],
    heartbeats: 0,
    errors: [],
    status: undefined,
    headers: undefined,
    statusMessage: undefined,
    bytes: 0,
    localPort: undefined,
    isEnded: false,
  };
  track('subs', s);

  let buf = '';
  const decoder = new TextDecoder('utf-8');
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
    const ws = waiters;
    waiters = [];
    for (const w of ws) { clearTimeout(w.timer); w.reject(new Error(`${s.label}: ${msg}`)); }
  };

  const deliver = (f) => {
    const idx = s.frames.length;
    s.frames.push(f);
    s.consumed.push(false);
    if (idx === 0) {
      const ok = f.ep && f.ep.requested === '@SERVER@' && f.ep.emitted === '@SERVER@' &&
        f.e && f.e.type === 'connected' && f.e.detail && typeof f.e.detail === 'object';
      if (!ok) { fail(`first frame is not @SERVER@ connected: ${f.raw}`); return; }
      s.consumed[0] = true;
      connDone = true;
      connResolve(f.e.detail);
      return;
    }
    for (const w of waiters) {
      if (w.match(f)) {
        s.consumed[idx] = true;
        clearTimeout(w.timer);
        waiters = waiters.filter((x) => x !== w);
        w.resolve(f);
        return;
      }
    }
  };

  const parse = () => {
    for (let guard = 0; guard < 1000000; guard++) {
      if (buf.length === 0) return;
      if (!buf.startsWith(SEP)) {
        if (buf === "'") return; // half a separator, wait for more
        fail(`expected '' at frame start, got ${JSON.stringify(buf.slice(0, 60))}`);
        buf = '';
        return;
      }
      const j = buf.indexOf(SEP, 2);
      if (j < 0) {
        if (!/^\d*'?$/.test(buf.slice(2))) { fail(`bad length field ${JSON.stringify(buf.slice(0, 60))}`); buf = ''; }
        return;
      }
      const nstr = buf.slice(2, j);
      if (!/^\d+$/.test(nstr)) { fail(`bad length field ${JSON.stringify(nstr.slice(0, 60))}`); buf = ''; return; }
      const n = Number(nstr);
      const start = j + 2;
      if (n === 0) {
        s.heartbeats += 1;
        buf = buf.slice(start);
        continue;
      }
      if (buf.length < start + n) {
        // Not all here yet; but if a separator already shows up inside the
        // announced length, the length is wrong (the original client would cut
        // the JSON at the wrong place).
        const k = buf.indexOf(SEP, start);
        if (k >= 0) {
          fail(`length mismatch: header says ${n}, part is ${k - start} chars: ${JSON.stringify(buf.slice(start, Math.min(k, start + 200)))}`);
          buf = '';
        }
        return;
      }
      const part = buf.slice(start, start + n);
      const k = buf.indexOf(SEP, start);
      if (k >= 0 && k !== start + n) {
        fail(`length mismatch: header says ${n}, part is ${k - start} chars: ${JSON.stringify(buf.slice(start, Math.min(k, start + 200)))}`);
        buf = '';
        return;
      }
      if (k < 0 && buf.length > start + n + 1) {
        fail(`length mismatch: ${n} chars followed by ${JSON.stringify(buf.slice(start + n, start + n + 40))}`);
        buf = '';
        return;
      }
      if (k < 0 && buf.length === start + n + 1 && buf[start + n] !== "'") {
        fail(`length mismatch: ${n} chars followed by ${JSON.stringify(buf.slice(start + n))}`);
        buf = '';
        return;
      }
      let f;
      try {
        f = JSON.parse(part);
      } catch (e) {
        fail(`frame JSON does not parse (${e.message}): ${JSON.stringify(part.slice(0, 200))}`);
        buf = '';
        return;
      }
      if (!f || typeof f !== 'object' || Array.isArray(f)) {
        fail(`frame is not a JSON object: ${part.slice(0, 200)}`);
      } else {
        Object.defineProperty(f, 'raw', { value: part, enumerable: false });
        deliver(f);
      }
      buf = buf.slice(start + n);
    }
  };

  const finish = (complete, why) => {
    if (s.isEnded) return;
    s.isEnded = true;
    s.complete = complete;
    if (complete && buf.length) fail(`response ended with an incomplete frame: ${JSON.stringify(buf.slice(0, 100))}`);
    if (!connDone) {
      connDone = true;
      connReject(new Error(`${s.label}: stream ended before the connected frame (status ${s.status} ${s.statusMessage}; ${why || ''}; body ${JSON.stringify(s.rawText ? s.rawText.slice(0, 200) : '')})`));
    }
    const ws = waiters;
    waiters = [];
    for (const w of ws) {
      clearTimeout(w.timer);
      w.reject(new Error(`${s.label}: stream ended (complete=${complete}) before a frame matching ${w.desc}; frames: ${s.frames.map(summary).join(', ')}`));
    }
    endResolve({ complete, why });
  };

  const bodyText = opts.body !== undefined ? opts.body : JSON.stringify(sub);
  const req = (h.tls ? https : http).request({
    ...(h.tls || {}),
    host: '127.0.0.1',
    port: h.pubPort,
    path: opts.path || '/',
    method: 'POST',
    agent: false,
    headers: {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(bodyText),
      ...(opts.headers || {}),
    },
  });
  s.req = req;
  req.on('socket', (sock) => {
    sock.on('connect', () => { s.localPort = sock.localPort; });
  });
  req.on('response', (res) => {
    s.res = res;
    s.status = res.statusCode;
    s.statusMessage = res.statusMessage;
    s.headers = res.headers;
    respResolve({ status: res.statusCode, statusMessage: res.statusMessage, headers: res.headers });
    if (res.statusCode !== 200) {
      let t = '';
      res.on('data', (d) => { t += d; });
      res.on('end', () => { s.rawText = t; finish(true, `HTTP ${res.statusCode}`); });
      res.on('error', () => {});
      res.on('close', () => finish(false, `HTTP ${res.statusCode}`));
      return;
    }
    res.on('data', (chunk) => {
      s.bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] > 0x7f) {
          fail(`non-ASCII byte 0x${chunk[i].toString(16)} in the stream near ${JSON.stringify(chunk.subarray(Math.max(0, i - 30), i + 10).toString('latin1'))}`);
          break;
        }
      }
      buf += decoder.decode(chunk, { stream: true });
      parse();
    });
    res.on('end', () => finish(true, 'end'));
    res.on('error', () => {});
    res.on('close', () => finish(res.complete, 'close'));
  });
  req.on('error', (e) => {
    respResolve({ error: e.message });
    finish(false, e.message);
  });
  req.end(bodyText);

  // next(pred, timeoutMs) → the first not-yet-taken frame (after `connected`)
  // matching pred (function, e.type string, or {type, requested, emitted, id}).
  s.next = (pred = () => true, timeoutMs = 5000) => {
    const match = matcher(pred);
    for (let i = 0; i < s.frames.length; i++) {
      if (!s.consumed[i] && match(s.frames[i])) {
        s.consumed[i] = true;
        return Promise.resolve(s.frames[i]);
      }
    }
    if (s.errors.length) return Promise.reject(new Error(`${s.label}: ${s.errors[0]}`));
    if (s.isEnded) {
      return Promise.reject(new Error(`${s.label}: stream already ended; no frame matching ${describe(pred)}; frames: ${s.frames.map(summary).join(', ')}`));
    }
    return new Promise((resolve, reject) => {
      const w = { match, resolve, reject, desc: describe(pred) };
      w.timer = setTimeout(() => {
        waiters = waiters.filter((x) => x !== w);
        reject(new Error(`${s.label}: no frame matching ${w.desc} within ${timeoutMs} ms; frames so far: ${s.frames.map(summary).join(', ')}`));
      }, timeoutMs);
      waiters.push(w);
    });
  };

  // Frames received so far (excluding `connected`) matching pred, taken or not.
  s.all = (pred = () => true) => s.frames.slice(1).filter(matcher(pred));

  s.close = () => {
    req.destroy();
    if (s.res) s.res.destroy();
  };
  return s;
}

// Opens a subscriber and waits for its connected frame. Returns the subscriber
// with `detail` set to the connected detail.
export async function connect(h, sub = {}, opts = {}) {
  const s = subscribe(h, sub, opts);
  s.detail = await s.connected;
  return s;
}

// Publishes a marker event to `topic` and waits until every subscriber in `subs`
// has it. Events reach one connection in publish order, so anything published
// before the marker that a subscriber was going to get has arrived by then: this
// is how tests assert that something was NOT delivered, without sleeping.
export async function barrier(h, subs, topic, timeoutMs = 5000) {
  const type = uid('marker');
  await publishOk(h, topic, type);
  for (const s of subs) await s.next(type, timeoutMs);
  return type;
}

// A subscriber that exists only to prove a failure elsewhere did no collateral
// damage: check() publishes to its topic and waits for the event.
export async function bystander(h) {
  const topic = `bystander/${uid('t')}`;
  const s = await connect(h, { clid: 'bystander', ep: [topic] }, { label: 'bystander' });
  s.topic = topic;
  s.check = async (what = '') => {
    const type = uid('still');
    await publishOk(h, topic, type, { what });
    const f = await s.next(type, 5000);
    assert.equal(f.ep.emitted, topic, `bystander after ${what}`);
    assert.equal(s.isEnded, false, `bystander stream still open after ${what}`);
  };
  return s;
}

// Calls POST /alive for `s` every intervalMs (rotating the secret each time) until
// stop() is called; bounded by maxCalls. Returns {stop, calls, errors}.
export function keepAlive(h, s, { intervalMs = 200, maxCalls = 50 } = {}) {
  const state = { calls: 0, errors: [], stopped: false, secret: s.detail.secret };
  let timer;
  const tick = async () => {
    if (state.stopped || state.calls >= maxCalls) return;
    state.calls += 1;
    try {
      const r = await request(h.pub + '/alive', { method: 'POST', body: { connid: s.detail.connid, secret: state.secret } });
      if (r.status === 200 && r.json) state.secret = r.json.secret;
      else state.errors.push(`${r.status} ${r.text}`);
    } catch (e) {
      state.errors.push(e.message);
    }
    if (!state.stopped) timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, 0);
  state.stop = () => { state.stopped = true; clearTimeout(timer); };
  return state;
}
