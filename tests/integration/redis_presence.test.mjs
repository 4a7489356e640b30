// Issue 12, presence across nodes: @CONNECTION@/<clid> events and the
// `available` count carry every live node's connections, /connections lists
// every live node (each entry saying its node), and a SIGKILLed node's
// counts leave the sums within its heartbeat TTL, with a `disconnect` event
// saying the new count.
import assert from 'node:assert/strict';
import { htest, startHerald, uid, waitFor } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';
import { sseOpen } from './lib/sse_client.mjs';
import { startRedis, waitSubscribed } from './lib/redis.mjs';

async function startNode(redis, nodeId, nodeTtlMs = 1500) {
  return startHerald({
    extraArgs: ['--store', 'redis', '--redis', redis.url, '--node-id', String(nodeId)],
    config: {
      store: { connect_timeout_ms: 300, command_timeout_ms: 1000 },
      cluster: { node_ttl_ms: nodeTtlMs, request_timeout_ms: 2000 },
    },
  });
}

async function waitLive(nodes, n) {
  for (const h of nodes) {
    await waitFor(async () => ((await h.state()).cluster?.live_nodes || []).length === n,
      { timeout: 10000, what: `${n} nodes live` });
  }
}

function presence(f, clid, type, count) {
  assert.equal(f.ep.emitted, `@CONNECTION@/${clid}`, JSON.stringify(f));
  assert.equal(f.e.type, type, JSON.stringify(f));
  assert.deepEqual(f.e.detail, { clid_instances: type === 'available' ? String(count) : count }, JSON.stringify(f));
}

htest('redis: presence events and available count the connections of every node', async () => {
  const redis = await startRedis();
  try {
    const [a, b, c] = [await startNode(redis, 1), await startNode(redis, 2), await startNode(redis, 3)];
    await waitLive([a, b, c], 3);
    const clid = uid('alice');
    const watcher = await connect(a, { clid: 'w', ep: [`@CONNECTION@/${clid}`] }, { label: 'watcher on A' });
    presence(await watcher.next('available'), clid, 'available', 0);
    await waitSubscribed(redis, `herald:t:@CONNECTION@/${clid}`);

    const alices = [];
    let n = 0;
    for (const [h, label] of [[b, 'B'], [c, 'C'], [c, 'C2'], [a, 'A']]) {
      alices.push(await connect(h, { clid, ep: ['p/x'] }, { label: `alice on ${label}` }));
      presence(await watcher.next((f) => f.e.type === 'connect'), clid, 'connect', ++n);
    }

    // A watcher that comes now, on another node, is told the cluster's count.
    const w2 = await connect(b, { clid: 'w2', ep: [`@CONNECTION@/${clid}`] }, { label: 'watcher on B' });
    presence(await w2.next('available'), clid, 'available', 4);
    const sse = await sseOpen(c, { topic: `@CONNECTION@/${clid}` }, { label: 'SSE watcher on C' });
    const av = await sse.next({ event: 'available' }, 5000);
    assert.deepEqual(av.json.e.detail, { clid_instances: '4' });

    alices[1].close();  // the first one on C
    presence(await watcher.next((f) => f.e.type === 'disconnect'), clid, 'disconnect', 3);
    presence(await w2.next((f) => f.e.type === 'disconnect'), clid, 'disconnect', 3);

    // /connections on A counts every node.
    await waitFor(async () => (await a.connections(`clid=${clid}`))[clid] === 3, { what: 'alice count 3' });
    const all = await a.connections();
    assert.equal(all[clid], 3);
    assert.equal(all.w, 1);
    assert.equal(all.w2, 1);
    assert.equal(all['@TOTAL@'], 3 + 1 + 1 + 1, JSON.stringify(all));  // + the SSE watcher (anonymous)
    const plain = await a.privGet(`/connections?clid=${clid}`);
    assert.equal(plain.text, '3', 'the original shape: the bare count');
    const details = await a.connections(`clid=${clid}&details=true`);
    assert.deepEqual(details.connections.map((e) => e.node).sort(), [1, 2, 3]);
    const byConnid = Object.fromEntries(details.connections.map((e) => [e.connid, e.node]));
    assert.equal(byConnid[alices[0].detail.connid], 2);
    assert.equal(byConnid[alices[2].detail.connid], 3);
    assert.equal(byConnid[alices[3].detail.connid], 1);
    const orig = (await a.privGet(`/connections?clid=${clid}&details=true`)).json;
    assert.equal(Object.keys(orig).length, 3);
    assert.equal(orig[alices[0].detail.connid].node, 2);
    // local=true: this node only.
    assert.deepEqual(await a.connections(`clid=${clid}&local=true`), { [clid]: 1 });
    assert.equal((await a.connections('local=true'))['@TOTAL@'], 2);
  } finally {
    await redis.stop();
  }
});

htest('redis: a SIGKILLed node\'s counts vanish within its TTL, with a disconnect saying the new count', async () => {
  const redis = await startRedis();
  try {
    const a = await startNode(redis, 1);
    const c = await startNode(redis, 3, 900);  // short TTL: dead within 0.9 s
    await waitLive([a, c], 2);
    const clid = uid('bob');
    const watcher = await connect(a, { clid: 'w', ep: [`@CONNECTION@/${clid}`] }, { label: 'watcher on A' });
    presence(await watcher.next('available'), clid, 'available', 0);
    await waitSubscribed(redis, `herald:t:@CONNECTION@/${clid}`);
    await connect(c, { clid, ep: ['p/y'] }, { label: 'bob on C' });
    await connect(c, { clid, ep: ['p/y'] }, { label: 'bob on C 2' });
    await connect(a, { clid, ep: ['p/y'] }, { label: 'bob on A' });
    for (const count of [1, 2, 3]) presence(await watcher.next((f) => f.e.type === 'connect'), clid, 'connect', count);
    assert.equal((await a.connections(`clid=${clid}`))[clid], 3);

    const killedAt = Date.now();
    await c.kill();
    presence(await watcher.next((f) => f.e.type === 'disconnect', 10000), clid, 'disconnect', 1);
    const tookMs = Date.now() - killedAt;
    // TTL 0.9 s, then A's next beat (every 0.5 s): generous bound for a loaded machine.
    assert.ok(tookMs < 8000, `reaped after ${tookMs} ms`);
    assert.equal(redis.cli('EXISTS', 'herald:pc:3'), '0', 'the dead node\'s counts are gone');
    assert.deepEqual((await a.state()).cluster.live_nodes, [1]);
    assert.equal((await a.connections(`clid=${clid}`))[clid], 1);
    const w2 = await connect(a, { clid: 'w2', ep: [`@CONNECTION@/${clid}`] });
    presence(await w2.next('available'), clid, 'available', 1);
  } finally {
    await redis.stop();
  }
});

htest('redis: a node stopped cleanly leaves the cluster at once, not after its TTL', async () => {
  const redis = await startRedis();
  try {
    const a = await startNode(redis, 1);
    const c = await startNode(redis, 3, 600000);  // a TTL no test waits for
    await waitLive([a, c], 2);
    assert.equal(await c.stop('SIGTERM'), 0);
    await waitFor(async () => (await a.state()).cluster.live_nodes.length === 1, { timeout: 5000, what: 'C gone from A\'s live nodes' });
    assert.equal(redis.cli('ZSCORE', 'herald:nodes', '3'), '');
    const r = await a.privGet('/connections?view=herald');
    assert.deepEqual(r.json, { '@TOTAL@': 0 }, 'nobody waited for C');
  } finally {
    await redis.stop();
  }
});
