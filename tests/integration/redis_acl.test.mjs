// Issue 12, item 4: auth.acl_source redis. Bound topics' ACL records live in
// the Redis hash herald:acl (field = topic, value = the ACL file's record);
// every node caches it, a publish to herald:acl:changed makes every node
// reload it, and a malformed record is refused with a log line while the
// others keep working. The one decision (publish/subscribe checks, delivery)
// is unchanged; only the source of records is.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { htest, startHerald, request, publish, waitFor, tmpFile, uid, assertError } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';
import { startRedis } from './lib/redis.mjs';

const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyFile = tmpFile('bind.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }));

function bindKey(user) {
  const payload = { iat: Date.now(), uid: user };
  return crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING },
    Buffer.from(JSON.stringify(payload))).toString('base64');
}

async function startNode(redis, nodeId) {
  return startHerald({
    extraArgs: ['--store', 'redis', '--redis', redis.url, '--node-id', String(nodeId)],
    config: {
      store: { connect_timeout_ms: 300, command_timeout_ms: 500 },
      // A long refresh: the change notice, not the timer, must carry changes.
      auth: { bind_key_private_key: keyFile, acl_source: 'redis', acl_refresh_ms: 600000 },
    },
  });
}

const subscribeRaw = (h, body) => request(h.pub + '/', { method: 'POST', body });
const boundSub = (h, user, topic) => connect(h, { bind_key: bindKey(user), ep: [{ topic, binded: true }] }, { label: `${user}@${h.pub}` });
const boundPublish = (h, user, topic, type) =>
  publish(h, { bind_key: bindKey(user), ep: [{ topic, binded: true }], e: { type } });

function setRecord(redis, topic, record) {
  redis.cli('HSET', 'herald:acl', topic, typeof record === 'string' ? record : JSON.stringify(record));
  redis.cli('PUBLISH', 'herald:acl:changed', topic);
}

htest('redis acl: a record in the Redis hash governs bound publish and subscribe on every node', async () => {
  const redis = await startRedis();
  try {
    const topic = uid('room');
    redis.cli('HSET', 'herald:acl', topic, JSON.stringify({ ep: topic, owner: 'alice', pub: ['bob'], sub: ['carol'] }));
    const [a, b] = [await startNode(redis, 1), await startNode(redis, 2)];
    for (const h of [a, b]) {
      // Loaded at start: carol is admitted, dave is not.
      await waitFor(async () => /Not allowed/.test((await subscribeRaw(h, { bind_key: bindKey('dave'), ep: [{ topic, binded: true }] })).text),
        { what: 'the ACL loaded' });
    }
    const carol = await boundSub(b, 'carol', topic);
    assertError(await subscribeRaw(a, { bind_key: bindKey('dave'), ep: [{ topic, binded: true }] }), 403,
      `Not allowed to subscribe to ${topic}`);
    assertError(await boundPublish(a, 'dave', topic, 'x'), 403, `Not allowed to publish to ${topic}`, '', { phrase: false });
    const t = uid('ev');
    const r = await boundPublish(a, 'bob', topic, t);
    assert.equal(r.status, 200, r.text);
    await carol.next(t);  // published on A, delivered on B under B's copy of the record

    // The record changes: dave may subscribe and publish, carol no longer; on both nodes.
    setRecord(redis, topic, { ep: topic, owner: 'alice', pub: ['dave'], sub: ['dave'] });
    for (const h of [a, b]) {
      await waitFor(async () => (await subscribeRaw(h, { bind_key: bindKey('carol'), ep: [{ topic, binded: true }] })).status === 403,
        { what: 'the change on every node' });
      const dave = await boundSub(h, 'dave', topic);
      assert.ok(dave.detail.connid);
      dave.close();
    }
    const r2 = await boundPublish(b, 'dave', topic, uid('ev'));
    assert.equal(r2.status, 200, r2.text);
    assertError(await boundPublish(b, 'bob', topic, 'x'), 403, `Not allowed to publish to ${topic}`, '', { phrase: false });
    carol.close();
  } finally {
    await redis.stop();
  }
});

htest('redis acl: a malformed record is refused with a log line; the others still work', async () => {
  const redis = await startRedis();
  try {
    const good = uid('good');
    const bad = uid('bad');
    redis.cli('HSET', 'herald:acl', good, JSON.stringify({ ep: good, owner: 'alice', sub: ['carol'] }));
    const a = await startNode(redis, 1);
    await waitFor(async () => /Not allowed/.test((await subscribeRaw(a, { bind_key: bindKey('dave'), ep: [{ topic: good, binded: true }] })).text),
      { what: 'the ACL loaded' });
    setRecord(redis, bad, '{"ep": "' + bad + '", "sub": "carol"}');  // sub is not a list
    const wrongEp = uid('other');
    setRecord(redis, wrongEp, { ep: 'not/' + wrongEp, sub: ['carol'] });
    await waitFor(() => a.stderr.includes(`${bad}: sub should be an array`), { what: 'the log line' });
    await waitFor(() => a.stderr.includes(`is not the field's topic`), { what: 'the log line for the ep' });
    assertError(await subscribeRaw(a, { bind_key: bindKey('carol'), ep: [{ topic: bad, binded: true }] }), 403,
      `Event point is not registered: ${bad}`);
    assertError(await subscribeRaw(a, { bind_key: bindKey('carol'), ep: [{ topic: wrongEp, binded: true }] }), 403,
      `Event point is not registered: ${wrongEp}`);
    const carol = await boundSub(a, 'carol', good);
    assert.ok(carol.detail.connid);
    carol.close();
    // Logged once, not at every reload.
    setRecord(redis, good, { ep: good, owner: 'alice', sub: ['carol'], pub: ['zed'] });
    await waitFor(async () => (await boundPublish(a, 'zed', good, 'x')).status === 200, { what: 'the reload' });
    assert.equal(a.stderr.split(`${bad}: sub should be an array`).length - 1, 1);
  } finally {
    await redis.stop();
  }
});

htest('redis acl: auth.acl_source is redis (with the Redis store) or file', async () => {
  const { runHerald } = await import('./lib/herald.mjs');
  const cfg = tmpFile('acl-src.json', JSON.stringify({ auth: { acl_source: 'redis' } }));
  const r = await runHerald(['--check-config', cfg]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /auth\.acl_source/);
  const good = tmpFile('acl-src-ok.json', JSON.stringify({ store: { kind: 'redis', redis_url: 'redis://127.0.0.1:1/0' },
    auth: { acl_source: 'redis', acl_refresh_ms: 1000 } }));
  const ok = await runHerald(['--check-config', good]);
  assert.equal(ok.code, 0, ok.stderr);
  const bad = tmpFile('acl-src2.json', JSON.stringify({ auth: { acl_source: 'ldap' } }));
  const r2 = await runHerald(['--check-config', bad]);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /auth\.acl_source/);
});
