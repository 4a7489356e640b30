// Batch publish: POST /event with a JSON array of publish objects (memory
// store). One request, many events: ids consecutive in body order, delivery
// byte-exact and in order, all-or-nothing validation naming the bad item,
// the same auth per item as a single publish, and the batch limits.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { htest, startHerald, publish, publishOk, assertError, tmpFile, uid } from './lib/herald.mjs';
import { connect, barrier } from './lib/esweb_client.mjs';
import { mint, claims } from './lib/jwt.mjs';

// The private API's status lines carry the standard phrase; the reason is the body.
const NO_PHRASE = { phrase: false };
const seq = (id) => BigInt(id.split('-')[1]);
const epochOf = (id) => id.split('-')[0];
const item = (ep, type, detail) => ({ ep, e: detail === undefined ? { type } : { type, detail } });

// The raw "e" of a delivered frame: what the publisher sent, as the wire carries it.
const rawE = (f) => f.raw.slice(f.raw.indexOf(',"e":') + 5, -1);

htest('batch: one id per event, consecutive in body order, delivered in order and byte-exact', async () => {
  const h = await startHerald();
  const t = uid('b');
  const sub = await connect(h, { ep: [`${t}/#`] });
  const before = await publishOk(h, `${t}/x`, 'before');
  // Numbers and text a JSON library would rewrite: they must arrive as sent.
  const body = `[{"ep":["${t}/a"],"e":{"type":"one","detail":{"n":1796286524043104123,"f":1.50}}},` +
    `{"ep":["${t}/b","${t}/c"],"e":{"type":"two","detail":"caf\\u00e9 \\ud83d\\ude00"}},` +
    ` {"ep":[{"topic":"${t}/d"}],"e":{"type":"three"}}]`;
  const r = await publish(h, body);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.json), ['events']);
  const ev = r.json.events;
  assert.equal(ev.length, 3);
  assert.deepEqual(ev.map((e) => e.ids.length), [1, 2, 1]);
  for (const e of ev) assert.equal(e.id, e.ids[0], 'id is the item\'s first target\'s id, as a single publish answers');
  const ids = ev.flatMap((e) => e.ids);
  for (let i = 0; i < ids.length; i++) {
    assert.equal(epochOf(ids[i]), epochOf(before.id));
    assert.equal(seq(ids[i]), seq(before.id) + BigInt(i + 1), `ids consecutive: ${ids}`);
  }
  await sub.next('before');
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await sub.next());
  assert.deepEqual(got.map((f) => f.id), ids, 'delivered in batch order with the answered ids');
  assert.deepEqual(got.map((f) => f.ep.emitted), [`${t}/a`, `${t}/b`, `${t}/c`, `${t}/d`]);
  assert.equal(rawE(got[0]), '{"type":"one","detail":{"n":1796286524043104123,"f":1.50}}');
  assert.equal(rawE(got[1]), '{"type":"two","detail":"caf\\u00e9 \\ud83d\\ude00"}');
  assert.equal(rawE(got[2]), rawE(got[1]));
  assert.equal(rawE(got[3]), '{"type":"three"}');

  // The single form is unchanged: {"id","ids"} and the next id after the batch.
  const after = await publishOk(h, `${t}/x`, 'after');
  assert.deepEqual(Object.keys(after).sort(), ['id', 'ids']);
  assert.equal(seq(after.id), seq(ids[3]) + 1n);
});

htest('batch: one bad item rejects the whole batch, naming it, and publishes nothing', async () => {
  const h = await startHerald();
  const t = uid('b');
  const sub = await connect(h, { ep: [`${t}/#`] });
  const first = await publishOk(h, `${t}/x`, 'first');
  const good = item([`${t}/a`], 'good');
  const cases = [
    [[good, { ep: [], e: { type: 'x' } }], 400, 'Batch item 1: Event Points should not be empty'],
    [[good, good, { e: { type: 'x' } }], 400, 'Batch item 2: Event Points should be an array'],
    [[{ ep: [{ nope: 1 }], e: { type: 'x' } }, good], 400, 'Batch item 0: Topic missing'],
    [[good, { ep: [`${t}/a`], e: { type: 3 } }], 400, 'Batch item 1: Event type should be a string'],
    [[good, { ep: [`${t}/a`] }], 400, 'Batch item 1: Event should be an object'],
    [[good, { ep: ['t'.repeat(300)], e: { type: 'x' } }], 400, 'Batch item 1: Invalid topic: Topic longer than 256 bytes'],
    [[good, { ep: [`${t}/a`], e: { type: 'x', detail: 'y'.repeat(300 * 1024) } }], 413, /^Batch item 1: Event too large/],
    [[good, 'not an object'], 400, 'Batch item 1: Batch items should be objects'],
    [[], 400, 'Batch should not be empty'],
  ];
  for (const [body, status, reason] of cases) {
    const r = await publish(h, body);
    assertError(r, status, reason, JSON.stringify(body).slice(0, 80), NO_PHRASE);
  }
  const bad = await publish(h, '[{"ep":["a"],"e":{"type":"x"}},]');
  assertError(bad, 400, 'Invalid JSON in body', '', NO_PHRASE);
  await barrier(h, [sub], `${t}/m`);
  assert.equal(sub.all('good').length, 0, 'nothing of a rejected batch was delivered');
  // No id was used up either: the next event follows the marker's id directly.
  const next = await publishOk(h, `${t}/x`, 'next');
  assert.equal(seq(next.id), seq(first.id) + 2n, 'rejected batches took no ids');
});

htest('batch: limits.max_batch_events counts every target; the body limit still holds', async () => {
  const h = await startHerald({ config: { limits: { max_batch_events: 3, max_body_bytes: 4096 } } });
  const t = uid('b');
  const sub = await connect(h, { ep: [`${t}/#`] });
  const ok = await publish(h, [item([`${t}/a`, `${t}/b`], 'ok'), item([`${t}/c`], 'ok')]);
  assert.equal(ok.status, 200, ok.text);
  const over = await publish(h, [item([`${t}/a`, `${t}/b`], 'over'), item([`${t}/c`, `${t}/d`], 'over')]);
  assertError(over, 413, 'Batch too large: more than 3 events, limits.max_batch_events', '', NO_PHRASE);
  const big = await publish(h, [item([`${t}/a`], 'big', 'z'.repeat(5000))]);
  assert.equal(big.status, 413, big.text);
  await barrier(h, [sub], `${t}/m`);
  assert.equal(sub.all('ok').length, 3);
  assert.equal(sub.all('over').length + sub.all('big').length, 0);
});

const SECRET = 'pub-secret-0123456789abcdef0123456789';

htest('batch: a publisher JWT is checked for every item; no token, no batch', async () => {
  const h = await startHerald({ extraArgs: ['--jwt-hs256-secret', SECRET] });
  const news = uid('news');
  const sub = await connect(h, { ep: [`${news}/#`] });
  const jwt = mint('HS256', SECRET, claims({ publish: [`${news}/#`] }));
  const ok = await publish(h, [item([`${news}/a`], 'in'), item([`${news}/b`], 'in')], { token: jwt });
  assert.equal(ok.status, 200, ok.text);
  const out = await publish(h, [item([`${news}/a`], 'out'), item([`${news}/b`, 'elsewhere/x'], 'out')], { token: jwt });
  assertError(out, 403, 'Batch item 1: Not allowed to publish to elsewhere/x', '', NO_PHRASE);
  const none = await publish(h, [item([`${news}/a`], 'out')], { token: null });
  assert.equal(none.status, 401, none.text);
  await barrier(h, [sub], `${news}/m`);
  assert.equal(sub.all('in').length, 2);
  assert.equal(sub.all('out').length, 0, 'a refused batch delivers nothing');
});

htest('batch: bound items need their own bind key and the ACL, item by item', async () => {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = tmpFile('batch-bind.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const bindKey = (u) => crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING },
    Buffer.from(JSON.stringify({ iat: Date.now(), uid: u }))).toString('base64');
  const aclFile = tmpFile('batch-acl.json', JSON.stringify([
    { ep: 'room/private', owner: 'alice', pub: ['bob'], sub: ['carol'] },
  ]));
  const h = await startHerald({ config: { auth: { bind_key_private_key: keyFile, acl_file: aclFile } } });
  const carol = await connect(h, { bind_key: bindKey('carol'), ep: [{ topic: 'room/private', binded: true }, 'mark/all'] });
  const bound = (user, type) => ({ bind_key: bindKey(user), ep: [{ topic: 'room/private', binded: true }], e: { type } });
  const ok = await publish(h, [bound('bob', 'b1'), item(['mark/all'], 'plain'), bound('bob', 'b2')]);
  assert.equal(ok.status, 200, ok.text);
  const refused = await publish(h, [bound('bob', 'no'), bound('carol', 'no')]);
  assertError(refused, 403, 'Batch item 1: Not allowed to publish to room/private', '', NO_PHRASE);
  await barrier(h, [carol], 'mark/all');
  assert.deepEqual(carol.all((f) => ['b1', 'plain', 'b2'].includes(f.e.type)).map((f) => f.e.type), ['b1', 'plain', 'b2']);
  assert.equal(carol.all('no').length, 0);
});

htest('batch: a whisper item reaches only its connection, in the batch\'s order', async () => {
  const h = await startHerald();
  const t = uid('w');
  const a = await connect(h, { ep: [t] });
  const b = await connect(h, { ep: [t] });
  const r = await publish(h, [
    item([t], 'shout1'),
    item([{ topic: t, whisper: a.detail.connid }], 'secret'),
    item([t], 'shout2'),
  ]);
  assert.equal(r.status, 200, r.text);
  const ids = r.json.events.map((e) => e.id);
  const got = [await a.next(), await a.next(), await a.next()];
  assert.deepEqual(got.map((f) => [f.e.type, f.id]), [['shout1', ids[0]], ['secret', ids[1]], ['shout2', ids[2]]]);
  assert.equal((await b.next('shout1')).id, ids[0]);
  assert.equal((await b.next('shout2')).id, ids[2]);
  await barrier(h, [b], t);
  assert.equal(b.all('secret').length, 0, 'the whisper went to its connection only');
});
