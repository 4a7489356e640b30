// Helpers for the multi-node tests (redis_fanout, redis_interest,
// redis_resume): herald nodes on one real redis-server, /state's store
// section, keep-alive publishers, and collectors for every transport that
// record ids in arrival order.
import http from 'node:http';
import assert from 'node:assert/strict';
import { startHerald, request, waitFor, publishOk } from './herald.mjs';
import { poll } from './poll_client.mjs';

// A herald node on `redis` with node id `nodeId`; `config` is merged in.
export async function startNode(redis, nodeId, { config = {}, workers = 2 } = {}) {
  return startHerald({
    workers,
    extraArgs: ['--store', 'redis', '--redis', redis.url, '--node-id', String(nodeId)],
    config: { ...config, store: { connect_timeout_ms: 300, command_timeout_ms: 1000, ...(config.store || {}) } },
  });
}

// Three nodes (ids 1, 2, 3) on one Redis; `far` (a startLatencyProxy) in
// front of the third one's connections if given.
export async function startNodes(redis, opts, far) {
  return [await startNode(redis, 1, opts), await startNode(redis, 2, opts), await startNode(far || redis, 3, opts)];
}

// Publishes to `topic` on `pub` until `sub` (an SSE or es-web subscriber)
// has an event of it: the node of `sub` has read Redis's epoch and newest id.
export async function warmUp(pub, sub, topic) {
  await waitFor(async () => {
    await publishOk(pub, topic, 'warm-up');
    return (sub.messages ? sub.messages().map((m) => m.json) : sub.all(() => true)).some((x) => x && x.e && x.e.type === 'warm-up');
  }, { interval: 100, what: 'the node warmed up' });
}

export async function storeState(h) {
  const r = await request(h.priv + '/state', { headers: { Authorization: 'Bearer ' + h.token } });
  assert.equal(r.status, 200);
  return r.json.store;
}

// Waits until node `h` holds `channels` and `patterns` (names without the
// prefix), every subscription it sent confirmed by Redis. Returns /state's store.
export async function waitConfirmed(h, { channels = [], patterns = [] } = {}) {
  let st;
  await waitFor(async () => {
    st = await storeState(h);
    const s = st.subscriptions;
    return s.unconfirmed === 0 && channels.every((c) => s.channel_list.includes('herald:' + c)) &&
      patterns.every((p) => s.pattern_list.includes('herald:' + p));
  }, { what: `subscriptions ${JSON.stringify({ channels, patterns })} confirmed` });
  return st;
}

// The sequence number of an event id "<epoch hex>-<seq>".
export const seqOf = (id) => Number(String(id).split('-')[1]);

// A publisher over keep-alive connections: publish(topic, type, detail) →
// the id, at most `concurrency` requests in flight (callers await).
export function keepAlivePublisher(h, { concurrency = 8 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const u = new URL(h.priv);
  const send = (body) => new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({
      host: u.hostname, port: u.port, path: '/event', method: 'POST', agent,
      headers: { Authorization: 'Bearer ' + h.token, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) return reject(new Error(`publish → ${res.statusCode} ${text}`));
        resolve(JSON.parse(text).id);
      });
      res.on('error', reject);
    });
    req.setTimeout(20000, () => req.destroy(new Error('publish: no answer in 20 s')));
    req.on('error', reject);
    req.end(data);
  });
  return {
    publish: (topic, type, detail) => send({ ep: [topic], e: detail === undefined ? { type } : { type, detail } }),
    close: () => agent.destroy(),
  };
}

// Runs `count` publishes through `pub`, `concurrency` at a time; returns the ids.
export async function publishMany(pub, count, makeEvent, concurrency = 8) {
  const ids = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const { topic, type, detail } = makeEvent(i);
      ids[i] = await pub.publish(topic, type, detail);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return ids;
}

// A long-poll session that keeps polling from its cursor and records every
// application event, until stop().
export async function pollCollector(h, params) {
  const first = await poll(h, { ...params, timeout: 0 });
  assert.equal(first.status, 200, `first poll → ${first.status} ${first.text}`);
  const c = { connid: first.json.connid, secret: first.json.secret, cursor: first.json.cursor, events: [], controls: [], stopped: false, errors: [] };
  const isApp = (e) => e.ep && e.ep.requested !== '@SERVER@';
  for (const e of first.json.events) (isApp(e) ? c.events : c.controls).push(e);
  c.done = (async () => {
    while (!c.stopped) {
      let r;
      try {
        r = await poll(h, { connid: c.connid, secret: c.secret, since: c.cursor, timeout: 1000 });
      } catch (e) {
        c.errors.push(e.message);  // the node went (the test is over)
        return;
      }
      if (r.status !== 200) { c.errors.push(`${r.status} ${r.text}`); return; }
      for (const e of r.json.events) (isApp(e) ? c.events : c.controls).push(e);
      c.cursor = r.json.cursor;
    }
  })();
  c.stop = async () => { c.stopped = true; await c.done; };
  c.ids = () => c.events.map((e) => e.id);
  return c;
}

// Waits (bounded) until `getIds()` holds at least n ids.
export async function waitCount(getIds, n, { timeout = 20000, what = 'events' } = {}) {
  await waitFor(() => getIds().length >= n, { timeout, interval: 20, what: `${n} ${what} (got ${getIds().length})` });
  return getIds();
}

// A TCP proxy in front of `redis` that holds what clients send for `delayMs`
// (replies pass at once): a node behind it is "far" from Redis, so its
// SUBSCRIBE takes effect `delayMs` after it was sent. Returns {url, close}.
export async function startLatencyProxy(redis, delayMs) {
  const net = await import('node:net');
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(redis.port, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    // Timers of one delay fire in the order they were set: bytes stay in order.
    client.on('data', (d) => setTimeout(() => upstream.write(d), delayMs));
    upstream.on('data', (d) => client.write(d));
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  return {
    url: `redis://127.0.0.1:${port}/0`,
    close: () => { for (const s of sockets) s.destroy(); server.close(); },
  };
}
