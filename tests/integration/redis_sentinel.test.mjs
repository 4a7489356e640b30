// Issue 12, Sentinel failover: a master, two replicas and one redis-sentinel
// (quorum 1, quick failure detection); three herald nodes find the master
// through the sentinel (redis+sentinel://) and acknowledge a publish only
// once a replica has it (store.min_replicas_ack 1). Publishers run on
// several nodes; the master is SIGKILLed; the sentinel promotes a replica;
// the nodes reconnect to it, resubscribe and catch up; publishing resumes;
// subscribers on every node got every acknowledged event exactly once, in
// id order.
import assert from 'node:assert/strict';
import { htest, startHerald, publish, request, waitFor, uid, runHerald, tmpFile } from './lib/herald.mjs';
import { sseOpen } from './lib/sse_client.mjs';
import { connect as eswebConnect } from './lib/esweb_client.mjs';
import { startSentinelSet, waitPatternSubscribers } from './lib/redis.mjs';

async function startNode(set, nodeId) {
  return startHerald({
    extraArgs: ['--store', 'redis', '--redis', set.url, '--node-id', String(nodeId)],
    config: {
      store: { connect_timeout_ms: 300, command_timeout_ms: 1000, min_replicas_ack: 1, replica_ack_timeout_ms: 300 },
      sse: { heartbeat_ms: 500 },
      stream: { heartbeat_ms: 500, timeout_ms: 600000 },
    },
  });
}

async function storeState(h) {
  const r = await request(h.priv + '/state', { headers: { Authorization: 'Bearer ' + h.token } });
  return r.json.store;
}

const seqOf = (id) => Number(String(id).split('-')[1]);

htest('redis sentinel: a failover (master SIGKILLed, replica promoted) loses no acknowledged event on any node, and publishing resumes', async () => {
  const set = await startSentinelSet({ replicas: 2 });
  try {
    const nodes = [await startNode(set, 1), await startNode(set, 2), await startNode(set, 3)];
    for (const h of nodes) await waitFor(async () => (await storeState(h)).status === 'up', { what: 'store up' });
    const prefix = uid('fo');
    const subs = [];
    for (const h of nodes) {
      const sse = await sseOpen(h, { topic: `${prefix}/#` });
      sse.kind = 'sse';
      const es = await eswebConnect(h, { ep: [`${prefix}/x`] });
      es.kind = 'esweb';
      subs.push(sse, es);
    }
    const m = set.master;
    await waitFor(() => Number(m.cli('PUBSUB', 'NUMSUB', `herald:t:${prefix}/x`).split('\n')[1]) >= 3, { what: 'subscriptions' });
    await waitPatternSubscribers(m, 3);

    const acked = [];
    let unavailable = 0;
    let stopped = false;
    const errors = [];
    const loops = nodes.slice(0, 2).map((h) => (async () => {
      while (!stopped) {
        const type = uid('ev');
        let r;
        try { r = await publish(h, { ep: [`${prefix}/x`], e: { type } }); } catch (e) { errors.push(e.message); continue; }
        if (r.status === 200) acked.push({ id: r.json.id, type, at: Date.now() });
        else if (r.status === 503) { unavailable += 1; await new Promise((res) => setTimeout(res, 20)); }
        else errors.push(`${r.status} ${r.text}`);
      }
    })());
    await waitFor(() => acked.length >= 100, { timeout: 15000, what: '100 acknowledged before the failover' });
    const oldPort = set.masterPort();
    const killedAt = Date.now();
    await m.stop();
    await waitFor(() => set.masterPort() !== oldPort, { timeout: 20000, what: 'the sentinel promotes a replica' });
    const promotedAt = Date.now();
    await waitFor(() => acked.some((a) => a.at > promotedAt), { timeout: 20000, what: 'publishing resumes on the new master' });
    const resumedAt = acked.find((a) => a.at > promotedAt).at;
    const count = acked.length;
    await waitFor(() => acked.length >= count + 100, { timeout: 15000, what: '100 more acknowledged after the failover' });
    stopped = true;
    await Promise.all(loops);
    assert.deepEqual(errors, []);
    console.log(`failover: promoted ${promotedAt - killedAt} ms after the kill, publishing resumed after ${resumedAt - killedAt} ms; ${unavailable} publishes answered 503 meanwhile`);

    const last = acked.reduce((a, b) => (seqOf(a.id) > seqOf(b.id) ? a : b));
    const got = (s) => (s.kind === 'sse'
      ? s.events.filter((e) => e.type === 'message').map((e) => ({ id: e.id, type: e.json.e.type }))
      : s.frames.filter((f) => f.ep && f.ep.emitted !== '@SERVER@' && f.e).map((f) => ({ id: f.id, type: f.e.type })));
    for (const s of subs) {
      await waitFor(() => got(s).some((e) => e.id === last.id), { timeout: 15000, what: `${s.label} (${s.kind}) has the last event` });
      const events = got(s);
      const ids = events.map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, `${s.label}: no duplicate`);
      for (let i = 1; i < ids.length; i++) assert.ok(seqOf(ids[i]) > seqOf(ids[i - 1]), `${s.label}: id order at ${i}`);
      const byId = new Map(events.map((e) => [e.id, e.type]));
      assert.deepEqual(acked.filter((a) => byId.get(a.id) !== a.type), [], `${s.label} (${s.kind}): every acknowledged event`);
      assert.ok(!s.isEnded, `${s.label}: still open`);
    }
    for (const h of nodes) assert.equal((await storeState(h)).status, 'up');
  } finally {
    await set.stop();
  }
}, { timeout: 90000 });

htest('redis sentinel: bad sentinel URLs and replica settings are config errors naming the key', async () => {
  const url = tmpFile('sentinel.json', JSON.stringify({ store: { kind: 'redis', redis_url: 'redis+sentinel://127.0.0.1:26379' } }));
  const noMaster = await runHerald(['--check-config', url]);
  assert.notEqual(noMaster.code, 0);
  assert.match(noMaster.stderr + noMaster.stdout, /store.redis_url: redis\+sentinel:\/\/ needs the master's name/);
  const file = tmpFile('wait.json', JSON.stringify({ store: { kind: 'redis', min_replicas_ack: 1, command_timeout_ms: 500, replica_ack_timeout_ms: 500 } }));
  const wait = await runHerald(['--check-config', file]);
  assert.notEqual(wait.code, 0);
  assert.match(wait.stderr + wait.stdout, /store.replica_ack_timeout_ms.*below store.command_timeout_ms/);
});
