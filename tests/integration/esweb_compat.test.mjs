// Issue 10: es-web-notify compatibility, as the original clients see it. Each
// test speaks the original's protocol the way its clients do: the XHR-style
// '' framing parser (lib/esweb_client.mjs), `response.json()` on errors
// (fetch), Node's keep-alive http.Agent.
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { htest, startHerald, request, publishOk, uid, tmpFile } from './lib/herald.mjs';
import { subscribe, connect, barrier } from './lib/esweb_client.mjs';
import { sseOpen } from './lib/sse_client.mjs';
import { poll, pollStart } from './lib/poll_client.mjs';

const seqOf = (id) => Number(String(id).split('-')[1]);

// ---------------------------------------------------------------------------
// 10.1 A new subscriber gets only what is published after it subscribed.

// Opens a subscriber of `transport` on `filter`; returns {start, events()} where
// start is the seq it starts after (connected's cursor, the first poll's cursor)
// and events() resolves to the application events so far, {id, type, detail}.
async function openSubscriber(h, transport, filter) {
  if (transport === 'stream') {
    const s = await connect(h, { ep: [filter] });
    return {
      start: seqOf(s.detail.cursor),
      next: async (type) => { await s.next(type); },
      events: async () => s.all((f) => f.id !== undefined).map((f) => ({ id: f.id, type: f.e.type, detail: f.e.detail })),
    };
  }
  if (transport === 'sse') {
    const s = await sseOpen(h, { topic: filter });
    return {
      start: seqOf(s.detail.cursor),
      next: async (type) => { await s.next((e) => e.type === 'message' && e.json.e.type === type, 10000); },
      events: async () => s.messages().map((e) => ({ id: e.json.id, type: e.json.e.type, detail: e.json.e.detail })),
    };
  }
  const first = await pollStart(h, { topic: filter });
  const got = [...first.events];
  let cursor = first.cursor;
  return {
    start: seqOf(first.cursor),
    first,
    next: async (type) => {
      for (let i = 0; i < 100 && !got.some((e) => e.e && e.e.type === type); i++) {
        const r = await poll(h, { connid: first.connid, secret: first.secret, since: cursor, timeout: 5000 });
        assert.equal(r.status, 200, r.text);
        got.push(...r.json.events);
        cursor = r.json.cursor;
      }
    },
    events: async () => got.filter((e) => e.id !== undefined).map((e) => ({ id: e.id, type: e.e.type, detail: e.e.detail })),
  };
}

for (const workers of [1, 2]) {
  for (const transport of ['stream', 'sse', 'poll']) {
    htest(`issue 10.1: ${transport}, --workers ${workers}: events published before the subscription never reach it`, async () => {
      const h = await startHerald({ workers });
      const topic = uid('z');
      // Nobody listens: these wait in the workers' queues of events that woke nobody.
      for (let i = 0; i < 50; i++) await publishOk(h, `${topic}/x`, 'old', { i });
      // A bystander that got an event live, so "already received once" is covered too.
      const early = await connect(h, { ep: [`${topic}/#`] });
      await publishOk(h, `${topic}/x`, 'seen-live');
      await early.next('seen-live');
      assert.deepEqual(early.all((f) => f.id !== undefined).map((f) => f.e.type), ['seen-live'], 'the first subscriber too');
      // Several subscribers, so with two workers some land on each.
      const subs = [];
      for (let k = 0; k < 4; k++) subs.push(await openSubscriber(h, transport, `${topic}/#`));
      const mark = uid('mark');
      await publishOk(h, `${topic}/x`, mark);
      for (const s of subs) {
        await s.next(mark);
        const evs = await s.events();
        assert.deepEqual(evs.map((e) => e.type), [mark], `only the marker: ${JSON.stringify(evs).slice(0, 300)}`);
        assert.ok(seqOf(evs[0].id) > s.start, 'after the announced start');
      }
    });
  }
}

for (const workers of [1, 2]) {
  for (const transport of ['stream', 'sse', 'poll']) {
    htest(`issue 10.1: ${transport}, --workers ${workers}, concurrent publisher: no gap, no duplicate, nothing older`, async () => {
      const h = await startHerald({ workers });
      const topic = uid('c');
      let stop = false;
      let n = 0;
      const publisher = (async () => {
        while (!stop && n < 5000) {
          await publishOk(h, `${topic}/x`, 'tick', { n });
          n += 1;
        }
      })();
      const subs = [];
      for (let k = 0; k < 4; k++) {
        while (n < 20 * (k + 1)) await new Promise((r) => setImmediate(r));
        subs.push(await openSubscriber(h, transport, `${topic}/#`));
      }
      const target = n + 30;
      while (n < target) await new Promise((r) => setImmediate(r));
      stop = true;
      await publisher;
      const mark = uid('end');
      const { id: endId } = await publishOk(h, `${topic}/x`, mark);
      for (const s of subs) {
        await s.next(mark);
        const seqs = (await s.events()).map((e) => seqOf(e.id));
        // Nothing but this topic is published meanwhile, so the seqs it gets
        // are exactly every one after its start, up to the marker.
        const expected = [];
        for (let q = s.start + 1; q <= seqOf(endId); q++) expected.push(q);
        assert.deepEqual(seqs, expected, `start ${s.start}: every event after it, once, in order`);
      }
    }, { timeout: 120000 });
  }
}

// ---------------------------------------------------------------------------
// 10.2 Errors on the es-web endpoints don't look like success.

// What the original's example client does with an /alive answer.
async function originalAliveStep(url, state) {
  try {
    const data = await fetch(url, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ connid: state.connId, secret: state.connSecret }),
    }).then((response) => response.json());
    state.connId = data.connid;
    state.connSecret = data.secret;
    state.connTimeout = data.timeout;
    return 'parsed';
  } catch {
    return 'kept';
  }
}

htest('issue 10.2: es-web errors are the reason as text/plain; response.json() fails, the client keeps its state', async () => {
  const h = await startHerald({ config: { stream: { max_alive_count: 1 } } });
  const s = await connect(h, { clid: 'alive-client', ep: ['a'] });
  const state = { connId: s.detail.connid, connSecret: s.detail.secret, connTimeout: s.detail.timeout };
  assert.equal(await originalAliveStep(h.pub + '/alive', state), 'parsed');
  assert.equal(state.connId, s.detail.connid);
  const kept = { ...state };
  // The second /alive is over max_alive_count: the client must keep what it had.
  assert.equal(await originalAliveStep(h.pub + '/alive', state), 'kept');
  assert.deepEqual(state, kept, 'connid, secret and timeout survive the error');

  const r = await fetch(h.pub + '/alive', { method: 'POST', body: JSON.stringify({ connid: state.connId, secret: state.connSecret }) });
  assert.equal(r.status, 400);
  assert.equal(r.statusText, 'Max alive reached');
  assert.match(r.headers.get('content-type'), /^text\/plain/);
  assert.equal(await r.text(), 'Max alive reached');

  // Every es-web endpoint, on both ports where it lives.
  const cases = [
    [h.pub + '/', { method: 'POST', body: '{nope' }, 400, 'Invalid JSON in body'],
    [h.pub + '/', { method: 'GET' }, 400, 'Method is not POST'],
    [h.pub + '/alive', { method: 'POST', body: '{"connid":1,"secret":"x"}' }, 400, 'Invalid data'],
    [h.priv + '/event', { method: 'POST', headers: { Authorization: `Bearer ${h.token}` }, body: '{"ep":"x"}' }, 400, null],
    [h.priv + '/connections', {}, 401, 'Missing or wrong token'],
  ];
  for (const [url, init, status, reason] of cases) {
    const res = await fetch(url, init);
    const text = await res.clone().text();
    assert.equal(res.status, status, `${url} → ${res.status} ${text}`);
    assert.match(res.headers.get('content-type') || '', /^text\/plain/, `${url}: text/plain`);
    if (reason) assert.equal(text, reason, `${url}: the reason is the body`);
    assert.ok(text.length > 0, `${url}: a reason`);
    await assert.rejects(res.json(), `${url}: response.json() fails`);
  }
  // herald's own endpoints keep JSON bodies.
  for (const url of [h.pub + '/sse?topic=%23/a', h.pub + '/poll?topic=%23/a']) {
    const res = await fetch(url);
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(typeof body.error, 'string', `${url}: JSON error`);
  }
});

htest('issue 10.2: the @SERVER@ disconnect frame gives a client that reads every @SERVER@ frame as connected valid values', async () => {
  const h = await startHerald({ config: { stream: { timeout_ms: 400 } } });
  const s = subscribe(h, { ep: ['a'] });
  await s.connected;
  await s.ended;
  // The original's example: if (res.ep.emitted == "@SERVER@") { connId = detail.connid; ... }
  const server = s.frames.filter((f) => f.ep.emitted === '@SERVER@');
  assert.deepEqual(server.map((f) => f.e.type), ['connected', 'disconnect']);
  for (const f of server) {
    assert.equal(f.e.detail.connid, server[0].e.detail.connid);
    assert.equal(f.e.detail.secret, server[0].e.detail.secret);
    assert.equal(f.e.detail.timeout, 400);
  }
  assert.equal(server[1].e.detail.reason, 'timeout');
});

// ---------------------------------------------------------------------------
// 10.3 A stream that ends says so: a keep-alive agent never reuses its socket.

function agentRequest(agent, h, path, method, body) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const req = http.request({ host: '127.0.0.1', port: h.pubPort, path, method, agent,
      headers: body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {} });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text, ms: Date.now() - t0 }));
      res.on('error', (e) => resolve({ error: e.code || e.message }));
    });
    req.on('error', (e) => resolve({ error: e.code || e.message }));
    req.end(body);
  });
}

htest('issue 10.3: after a stream ends, the next subscribe on the same keep-alive agent succeeds at once', async () => {
  const h = await startHerald({ config: { stream: { timeout_ms: 300 }, sse: { timeout_ms: 300 } } });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const streams = [];
    for (let i = 0; i < 4; i++) {
      const r = await agentRequest(agent, h, '/', 'POST', JSON.stringify({ ep: ['ka'] }));
      assert.equal(r.error, undefined, `stream ${i}: ${r.error}`);
      assert.equal(r.status, 200);
      assert.match(r.text, /"type":"connected"/);
      assert.match(r.text, /"type":"disconnect"/);
      const s = await agentRequest(agent, h, '/sse?topic=ka', 'GET');
      assert.equal(s.error, undefined, `sse ${i}: ${s.error}`);
      // A poll answer keeps the connection reusable.
      const p = await agentRequest(agent, h, '/poll?topic=ka', 'GET');
      assert.equal(p.error, undefined, `poll ${i}: ${p.error}`);
      assert.equal(p.status, 200);
      streams.push(r, s);
    }
    for (const r of streams) assert.equal(r.headers.connection, 'close', 'a stream says it ends the connection');
  } finally {
    agent.destroy();
  }
});

// ---------------------------------------------------------------------------
// 10.4 Presence as the original sends it.

htest('issue 10.4: clid_instances is a number in connect/disconnect, a string in available; @CONNECTION@/# gets available "0"', async () => {
  const h = await startHerald();
  const me = uid('me');
  const s = await connect(h, { clid: me, ep: [`@CONNECTION@/${me}`] });
  // herald: connected first (its contract), then available, then its own connect.
  const av = await s.next('available');
  assert.deepEqual(av.ep, { requested: `@CONNECTION@/${me}`, emitted: `@CONNECTION@/${me}` });
  assert.deepEqual(av.e.detail, { clid_instances: '1' });
  const own = await s.next('connect');
  assert.deepEqual(own.e.detail, { clid_instances: 1 });
  assert.deepEqual(s.frames.map((f) => f.e.type), ['connected', 'available', 'connect']);

  const all = await connect(h, { ep: ['@CONNECTION@/#'] });
  const av0 = await all.next('available');
  assert.deepEqual(av0.ep, { requested: '@CONNECTION@/#', emitted: '@CONNECTION@/#' });
  assert.deepEqual(av0.e.detail, { clid_instances: '0' });
  const other = await connect(h, { clid: me, ep: ['x'] });
  const c = await all.next((f) => f.e.type === 'connect' && f.ep.emitted === `@CONNECTION@/${me}`);
  assert.deepEqual(c.e.detail, { clid_instances: 2 });
  other.close();
  const d = await s.next('disconnect');
  assert.deepEqual(d.e.detail, { clid_instances: 1 });
  assert.equal(d.ep.emitted, `@CONNECTION@/${me}`);
});

// ---------------------------------------------------------------------------
// 10.5 /connections as the original answers it; credentials redacted (issue 9 A.5).

const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyFile = tmpFile('compat-bind.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }));
const bindKey = (u) => crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING },
  Buffer.from(JSON.stringify({ iat: Date.now(), uid: u }))).toString('base64');

htest('issue 10.5: /connections in the original shape: {}, a bare number, {"<connid>": {headers, body}}; view=herald', async () => {
  const h = await startHerald({ config: { auth: { bind_key_private_key: keyFile } } });
  const get = async (q) => {
    const r = await h.privGet('/connections' + q);
    assert.equal(r.status, 200, r.text);
    return r;
  };
  assert.equal((await get('')).text, '{}', 'nothing connected');
  assert.equal((await get('?clid=me')).text, '0');
  const key = bindKey('carol');
  const a = await connect(h, { clid: 'me', bind_key: key, ep: ['a'] },
    { headers: { Authorization: 'Bearer secret-token', Cookie: 'sid=secret-cookie', 'X-Custom': 'Kept' } });
  const b = await sseOpen(h, { topic: 'b', clid: 'me', token: 'secret-jwt', ticket: 'secret-ticket' });
  assert.equal((await get('?clid=me')).text, '2');
  assert.deepEqual((await get('')).json, { me: 2, '@TOTAL@': 2 });

  const det = await get('?clid=me&details=true');
  for (const secret of ['secret-token', 'secret-cookie', key, 'secret-jwt', 'secret-ticket']) {
    assert.ok(!det.text.includes(secret), `credential ${secret.slice(0, 12)} redacted: ${det.text.slice(0, 400)}`);
  }
  const d = det.json;
  assert.deepEqual(Object.keys(d).sort(), [String(a.detail.connid), String(b.detail.connid)].sort());
  const da = d[String(a.detail.connid)];
  assert.deepEqual(Object.keys(da), ['headers', 'body']);
  for (const k of Object.keys(da.headers)) assert.equal(k, k.toLowerCase(), `lower-case header name ${k}`);
  assert.equal(da.headers['x-custom'], 'Kept');
  assert.equal(da.headers.authorization, '[redacted]');
  assert.equal(da.headers.cookie, '[redacted]');
  assert.deepEqual(da.body, { clid: 'me', bind_key: '[redacted]', ep: ['a'] });
  const db = d[String(b.detail.connid)];
  assert.match(db.body, /token=\[redacted\]/);
  assert.match(db.body, /ticket=\[redacted\]/);
  assert.match(db.body, /topic=b/);

  // herald's view: the richer shapes, redacted too.
  const hv = await get('?clid=me&details=true&view=herald');
  assert.equal(hv.json.me, 2);
  assert.equal(hv.json.connections.length, 2);
  for (const secret of ['secret-token', 'secret-cookie', key, 'secret-jwt', 'secret-ticket']) {
    assert.ok(!hv.text.includes(secret), `herald view: ${secret.slice(0, 12)} redacted`);
  }
  assert.deepEqual((await get('?clid=me&view=herald')).json, { me: 2 });
  a.close();
  b.close();
});

// ---------------------------------------------------------------------------
// 10.6 Inputs the original accepts.

htest('issue 10.6: topics with empty levels and a leading or trailing / are valid; a non-string clid is anonymous', async () => {
  const h = await startHerald();
  const topics = ['wid-0001/', '/abs', 'a//b'];
  const s = await connect(h, { ep: topics });
  const wild = await connect(h, { ep: ['wid-0001/#', '+/abs', 'a/+/b'] });
  for (const t of topics) {
    const type = uid('e');
    await publishOk(h, t, type);
    const f = await s.next(type);
    assert.deepEqual(f.ep, { requested: t, emitted: t });
    assert.equal((await wild.next(type)).ep.emitted, t);
  }
  // `wid-0001/` is not `wid-0001`.
  const type = uid('no');
  await publishOk(h, 'wid-0001', type);
  await barrier(h, [s], 'a//b');
  assert.equal(s.all(type).length, 0);

  const watcher = await connect(h, { ep: ['@CONNECTION@/@ANON_CONNECTION@'] });
  await watcher.next('available');
  for (const clid of [7, { a: 1 }, ['x'], true]) {
    const anon = await connect(h, { clid, ep: ['x'] });
    assert.ok(Number.isSafeInteger(anon.detail.connid), `clid ${JSON.stringify(clid)} accepted`);
    await watcher.next('connect');
  }
  // Still stricter: '#' only as the last level.
  const r = await request(h.pub + '/', { method: 'POST', body: { ep: ['#/a'] } });
  assert.equal(r.status, 400);
});

// ---------------------------------------------------------------------------
// 10.7 CORS preflights allow what real clients send.

htest("issue 10.7: preflights allow the original's headers plus herald's own, on both ports", async () => {
  const h = await startHerald();
  const wanted = ['authorization', 'x-api-key', 'origin', 'x-requested-with', 'content-type', 'accept', 'last-event-id', 'cache-control'];
  for (const url of [h.pub + '/', h.pub + '/alive', h.pub + '/sse', h.priv + '/event']) {
    const r = await request(url, { method: 'OPTIONS', headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-requested-with, content-type' } });
    assert.ok(r.status === 200 || r.status === 204, `${url} → ${r.status}`);
    assert.ok(r.headers['access-control-allow-origin'], `${url}: allow-origin`);
    const allowed = (r.headers['access-control-allow-headers'] || '').split(',').map((x) => x.trim().toLowerCase());
    for (const w of wanted) assert.ok(allowed.includes(w), `${url}: ${w} allowed (${allowed})`);
  }
});


