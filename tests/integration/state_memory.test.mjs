// GET /state and GET /memory: fields, types, and that the figures move.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, waitFor, uid, request } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';

const isCount = (v) => Number.isInteger(v) && v >= 0;

function checkShape(st, workers) {
  for (const k of ['uptime_s', 'workers', 'connections', 'topics', 'filters', 'events', 'closed', 'rejected', 'store', 'limits']) {
    assert.ok(k in st, `/state has ${k}: ${JSON.stringify(st)}`);
  }
  assert.ok(typeof st.uptime_s === 'number' && st.uptime_s >= 0, `uptime_s ${st.uptime_s}`);
  assert.equal(st.workers, workers);
  assert.ok(isCount(st.connections.total));
  assert.deepEqual(Object.keys(st.connections.by_transport).sort(), ['poll', 'sse', 'stream']);
  for (const v of Object.values(st.connections.by_transport)) assert.ok(isCount(v));
  assert.ok(Array.isArray(st.connections.by_worker) && st.connections.by_worker.length === workers,
    `by_worker has one entry per worker: ${JSON.stringify(st.connections.by_worker)}`);
  for (const v of st.connections.by_worker) assert.ok(isCount(v));
  assert.ok(isCount(st.topics));
  assert.ok(isCount(st.filters));
  for (const k of ['published', 'delivered', 'dropped']) assert.ok(isCount(st.events[k]), `events.${k}`);
  for (const k of ['timeout', 'slow', 'shutdown', 'kicked', 'client']) assert.ok(isCount(st.closed[k]), `closed.${k}`);
  for (const k of ['limit_connections', 'bad_request']) assert.ok(isCount(st.rejected[k]), `rejected.${k}`);
  assert.deepEqual(st.store, { kind: 'memory', status: 'up', detail: '', round_trips: 0 });
}

const LIMITS = {
  max_connections: 5000,
  max_connections_per_ip: 0,
  max_filters_per_connection: 32,
  max_body_bytes: 500000,
  max_header_bytes: 9000,
  max_topic_bytes: 200,
  max_topic_levels: 12,
  max_output_buffer_bytes: 2000000,
  max_clid_bytes: 100,
  request_timeout_ms: 7000,
  max_pending_connections: 300,
  max_poll_sessions: 400,
  max_event_bytes: 300000,
  max_batch_events: 500,
};

htest('state: fields, limits from config, and counts that move', async () => {
  const h = await startHerald({ workers: 2, config: { limits: LIMITS } });
  let st = await h.state();
  checkShape(st, 2);
  assert.deepEqual(st.limits, LIMITS, '/state limits are the configured ones');
  assert.equal(st.connections.total, 0);
  assert.equal(st.topics, 0);
  assert.equal(st.filters, 0);

  const s1 = await connect(h, { ep: ['st/a'] });
  const s2 = await connect(h, { ep: ['st/a', 'st/b/+'] });
  const s3 = await connect(h, { ep: ['st/c'] });
  st = await h.state();
  checkShape(st, 2);
  assert.equal(st.connections.total, 3);
  assert.equal(st.connections.by_transport.stream, 3);
  assert.equal(st.connections.by_transport.sse, 0);
  assert.equal(st.connections.by_transport.poll, 0);
  assert.equal(st.connections.by_worker.reduce((a, b) => a + b, 0), 3, `by_worker sums to total: ${st.connections.by_worker}`);
  assert.equal(st.filters, 4, 'filters = subscriptions (4)');

  const before = st.events;
  const t = uid('st');
  await publishOk(h, 'st/a', t);
  await s1.next(t);
  await s2.next(t);
  st = await waitFor(async () => {
    const x = await h.state();
    return x.events.delivered >= before.delivered + 2 ? x : null;
  }, { what: 'events.delivered +2' });
  assert.equal(st.events.published, before.published + 1);
  assert.equal(st.events.delivered, before.delivered + 2);
  assert.equal(st.events.dropped, before.dropped);

  // A publish nobody hears is published but not delivered.
  await publishOk(h, 'nobody/here', uid('st'));
  st = await waitFor(async () => {
    const x = await h.state();
    return x.events.published === before.published + 2 ? x : null;
  }, { what: 'events.published +1' });
  assert.equal(st.events.delivered, before.delivered + 2);

  // A client close is counted and the figures go down.
  s3.close();
  st = await waitFor(async () => {
    const x = await h.state();
    return x.connections.total === 2 ? x : null;
  }, { what: 'total back to 2' });
  assert.equal(st.closed.client, 1);
  assert.equal(st.filters, 3);
  assert.equal(st.connections.by_worker.reduce((a, b) => a + b, 0), 2);
  // (topics is checked in the next test, where the same filter is on both workers
  // for sure; here it depends on which worker accepted which stream.)
});

htest('state: topics counts distinct filters across workers, filters counts subscriptions', async () => {
  const h = await startHerald({ workers: 2 });
  const subs = [];
  let workers = new Set();
  for (let i = 0; i < 40 && workers.size < 2; i++) {
    subs.push(await connect(h, { clid: 'tp', ep: ['dup/x', `own/${i}`] }));
    if (subs.length < 2) continue;
    const d = await h.connections('clid=tp&details=true');
    workers = new Set(d.connections.map((c) => c.worker));
  }
  assert.equal(workers.size, 2, 'streams on both workers');
  const st = await h.state();
  assert.equal(st.filters, 2 * subs.length, `filters = ${2 * subs.length} subscriptions`);
  assert.equal(st.topics, 1 + subs.length,
    `topics = distinct filters: dup/x once + ${subs.length} own/i = ${1 + subs.length} (dup/x is on both workers)`);
});

htest('state: by_worker shows both workers in use', async () => {
  const h = await startHerald({ workers: 2 });
  const subs = [];
  let st;
  for (let i = 0; i < 40; i++) {
    subs.push(await connect(h, { ep: ['bw'] }));
    if (subs.length < 4) continue;
    st = await h.state();
    if (st.connections.by_worker.every((n) => n > 0)) break;
  }
  assert.ok(st.connections.by_worker.every((n) => n > 0), `both workers own streams: ${st.connections.by_worker}`);
  assert.equal(st.connections.by_worker.reduce((a, b) => a + b, 0), st.connections.total);
});

htest('state: workers from the flag', async () => {
  const h = await startHerald({ workers: 1 });
  const st = await h.state();
  checkShape(st, 1);
});

htest('memory: fields are integers, rss > 0', async () => {
  const h = await startHerald();
  for (let i = 0; i < 20; i++) await connect(h, { ep: [`mem/${i}`, 'mem/#'] });
  const m = await h.memory();
  for (const k of ['rss_bytes', 'heap_bytes', 'connections_bytes', 'index_bytes', 'queue_bytes', 'history_bytes']) {
    assert.ok(isCount(m[k]), `${k} = ${m[k]}`);
  }
  assert.ok(m.rss_bytes > 0);
  assert.ok(m.connections_bytes > 0, 'connections_bytes counts 20 open streams');
  assert.ok(m.index_bytes > 0, 'index_bytes counts 40 subscriptions');
});

htest('state and metrics: the store reports itself (kind, status, detail, round_trips; herald_store_up)', async () => {
  const h = await startHerald();
  assert.deepEqual((await h.state()).store, { kind: 'memory', status: 'up', detail: '', round_trips: 0 });
  const r = await request(`${h.priv}/metrics`, { headers: { Authorization: `Bearer ${h.token}` } });
  assert.equal(r.status, 200);
  assert.match(r.text, /^# TYPE herald_store_up gauge$/m);
  assert.match(r.text, /^herald_store_up\{kind="memory"\} 1$/m);
});
