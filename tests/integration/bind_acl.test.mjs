// Bind keys (es-web-notify): base64(RSA-encrypted {"iat","uid"}) minted here
// with node:crypto against a key pair generated per run; bound ("binded")
// subscribe and publish checked against the ACL file.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { htest, startHerald, request, assertError, tmpFile, runHerald, publish, publishOk, uid } from './lib/herald.mjs';
import { connect, barrier } from './lib/esweb_client.mjs';

const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyFile = tmpFile('bind.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }));

function bindKey(uid, { iat = Date.now(), padding = crypto.constants.RSA_PKCS1_PADDING } = {}) {
  const payload = uid === undefined ? { iat } : { iat, uid };
  return crypto.publicEncrypt({ key: publicKey, padding }, Buffer.from(JSON.stringify(payload))).toString('base64');
}

async function hashPassword(pw) {
  const r = await runHerald(['--hash-password', pw]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function startBound(extra = {}) {
  const hash = await hashPassword('open sesame');
  const acl = [
    { ep: 'room/private', owner: 'alice', pub: ['bob'], sub: ['carol'] },
    { ep: 'room/public', owner: 'alice', pub_password: hash, pub: ['+'], sub: ['*'] },
    { ep: 'room/unid', owner: 'alice', pub: ['[][][]'], sub: ['[][][]'] },
  ];
  const aclFile = tmpFile('acl.json', JSON.stringify(acl));
  return startHerald({ config: { auth: { bind_key_private_key: keyFile, acl_file: aclFile, ...extra } } });
}

function subscribeRaw(h, body) {
  return request(h.pub + '/', { method: 'POST', body });
}

// A bound subscriber that also listens to a plain marker topic, so barrier() works.
function boundSub(h, user, topic, label) {
  return connect(h, { bind_key: bindKey(user), ep: [{ topic, binded: true }, 'mark/all'] }, { label });
}

htest('bind: --hash-password prints a PBKDF2 string node can verify', async () => {
  const s = await hashPassword('pw');
  const m = /^pbkdf2-sha256\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(s);
  assert.ok(m, s);
  const derived = crypto.pbkdf2Sync('pw', Buffer.from(m[2], 'base64'), Number(m[1]), 32, 'sha256');
  assert.equal(derived.toString('base64'), m[3]);
  assert.notEqual(await hashPassword('pw'), s, 'salted');
});

htest('bind: a bound publish reaches only the bound subscribers the ACL admits', async () => {
  const h = await startBound();
  const carol = await boundSub(h, 'carol', 'room/private', 'carol');
  const alice = await boundSub(h, 'alice', 'room/private', 'alice');
  const plain = await connect(h, { ep: ['room/private', 'mark/all'] }, { label: 'plain' });
  const oaep = await connect(h, {
    bind_key: bindKey('carol', { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING }),
    ep: [{ topic: 'room/private', binded: true }, 'mark/all'],
  }, { label: 'oaep' });
  const t = uid('secret');
  const r = await publish(h, { bind_key: bindKey('bob'), ep: [{ topic: 'room/private', binded: true }], e: { type: t } });
  assert.equal(r.status, 200, r.text);
  for (const s of [carol, alice, oaep]) assert.deepEqual((await s.next(t)).ep, { requested: 'room/private', emitted: 'room/private' });
  // A plain publish on the same topic reaches only the plain subscriber.
  const p = uid('plain');
  await publishOk(h, 'room/private', p);
  await plain.next(p);
  await barrier(h, [carol, alice, plain, oaep], 'mark/all');
  assert.equal(plain.all(t).length, 0, 'no "*" in sub: plain subscribers do not get bound events');
  for (const s of [carol, alice, oaep]) assert.equal(s.all(p).length, 0, `${s.label}: plain event on a bound filter`);
});

htest('bind: publish permissions, password, "*" and wildcard users', async () => {
  const h = await startBound();
  const ep = (topic, extra = {}) => [{ topic, binded: true, ...extra }];
  let r = await publish(h, { bind_key: bindKey('carol'), ep: ep('room/private'), e: { type: 'x' } });
  assertError(r, 403, 'Not allowed to publish to room/private', 'carol', { phrase: false });
  r = await publish(h, { bind_key: bindKey('zed'), ep: ep('room/public'), e: { type: 'x' } });
  assertError(r, 403, 'Wrong password for room/public', 'no password', { phrase: false });
  r = await publish(h, { bind_key: bindKey('zed'), ep: ep('room/public', { password: 'nope' }), e: { type: 'x' } });
  assertError(r, 403, 'Wrong password for room/public', 'bad password', { phrase: false });
  r = await publish(h, { bind_key: bindKey(undefined), ep: ep('room/private'), e: { type: 'x' } });
  assertError(r, 403, 'Not allowed to publish to room/private', 'unidentified', { phrase: false });

  const plain = await connect(h, { ep: ['room/public'] }, { label: 'plain' });
  const zed = await boundSub(h, 'zed', 'room/public', 'zed');
  const unid = await connect(h, { bind_key: bindKey(undefined), ep: [{ topic: 'room/unid', binded: true }] }, { label: 'unid' });
  const t = uid('pub');
  r = await publish(h, { bind_key: bindKey('zed'), ep: ep('room/public', { password: 'open sesame' }), e: { type: t } });
  assert.equal(r.status, 200, r.text);
  await plain.next(t);  // "*" in sub: plain subscribers too
  await zed.next(t);
  const u = uid('unid');
  r = await publish(h, { bind_key: bindKey(null), ep: ep('room/unid'), e: { type: u } });
  assert.equal(r.status, 200, r.text);
  await unid.next(u);
  // A bound user with a uid is not "[][][]".
  r = await subscribeRaw(h, { bind_key: bindKey('zed'), ep: [{ topic: 'room/unid', binded: true }] });
  assertError(r, 403, 'Not allowed to subscribe to room/unid', 'zed on unid');
});

htest('bind: bad keys and shapes are refused with reasons', async () => {
  const h = await startBound({ bind_key_max_age_ms: 2000 });
  const ep = [{ topic: 'room/private', binded: true }];
  const cases = [
    [{ bind_key: 'garbage!', ep }, 401, 'Invalid bind key: not base64'],
    [{ bind_key: Buffer.from('x'.repeat(256)).toString('base64'), ep }, 401, 'Invalid bind key: cannot decrypt'],
    [{ bind_key: 'aGVsbG8=', ep }, 401, 'Invalid bind key: wrong length for the key'],
    [{ bind_key: bindKey('carol', { iat: Date.now() - 5000 }), ep }, 401, 'Invalid bind key: expired'],
    [{ bind_key: bindKey('carol', { iat: Date.now() + 60000 }), ep }, 401, 'Invalid bind key: issued in the future'],
    [{ bind_key: bindKey('carol', { iat: Math.floor(Date.now() / 1000) - 10 }), ep }, 401, 'Invalid bind key: expired'],
    [{ bind_key: bindKey('dave'), ep }, 403, 'Not allowed to subscribe to room/private'],
    [{ bind_key: bindKey('carol'), ep: [{ topic: 'room/other', binded: true }] }, 403, 'Event point is not registered: room/other'],
    [{ bind_key: bindKey('carol'), ep: [{ topic: 'room/+', binded: true }] }, 400, 'Binded event points cannot have wildcards: room/+'],
  ];
  for (const [body, status, reason] of cases) {
    assertError(await subscribeRaw(h, body), status, reason, JSON.stringify(body).slice(0, 80));
  }
  // iat in seconds, within the window, is accepted.
  const ok = await connect(h, { bind_key: bindKey('carol', { iat: Math.floor(Date.now() / 1000) }), ep });
  assert.ok(ok.detail.connid);
  // Without a bind key "binded" is ignored (es-web-notify): a plain publish,
  // which a bound subscription does not get; a plain subscription.
  const plain = await connect(h, { ep: [{ topic: 'room/private', binded: true }, 'mark/all'] }, { label: 'plain' });
  const bound = await connect(h, { bind_key: bindKey('carol'), ep: [...ep, 'mark/all'] }, { label: 'bound' });
  const t = uid('nokey');
  const r = await publish(h, { ep: [{ topic: 'room/private', binded: true }], e: { type: t } });
  assert.equal(r.status, 200, r.text);
  await plain.next(t);
  await barrier(h, [plain, bound], 'mark/all');
  assert.equal(bound.all(t).length, 0);
  assert.equal((await h.state()).connections.total, 3);
});

htest('bind: without auth.bind_key_private_key bind keys are refused', async () => {
  const h = await startHerald();
  const r = await subscribeRaw(h, { bind_key: bindKey('carol'), ep: ['a'] });
  assertError(r, 401, 'Bind keys are not enabled (no auth.bind_key_private_key)');
  // Without bind_key, "binded" is ignored: a plain subscription.
  const s = await connect(h, { ep: [{ topic: 'a', binded: true }] });
  await publishOk(h, 'a', 'hello');
  await s.next('hello');
});

htest('bind: POST /disconnect by user ends the bound user\'s connections', async () => {
  const h = await startBound();
  const a = await boundSub(h, 'carol', 'room/private', 'carol1');
  const b = await connect(h, { bind_key: bindKey('carol'), ep: ['plain/topic'] }, { label: 'carol2' });
  const other = await boundSub(h, 'alice', 'room/private', 'alice');
  const r = await request(h.priv + '/disconnect', {
    method: 'POST', headers: { Authorization: `Bearer ${h.token}` }, body: { user: 'carol', reason: 'account closed' },
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { closed: 2 });
  for (const s of [a, b]) assert.equal((await s.next('disconnect')).e.detail.reason, 'account closed');
  assert.equal(other.isEnded, false);
});

// Exit 2, as every config error (issue 11.6: these are kConfig; they exited 1).
htest('bind: a missing key file or a bad ACL file stops start-up with a clear message', async () => {
  let r = await runHerald(['--bind-key-private-key', '/nonexistent/key.pem', '--listen', '127.0.0.1:0', '--private-listen', '127.0.0.1:0']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /auth\.bind_key_private_key: \/nonexistent\/key\.pem: cannot read/);
  r = await runHerald(['--bind-key-private-key', tmpFile('bad.pem', 'not a key'), '--listen', '127.0.0.1:0', '--private-listen', '127.0.0.1:0']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /not a PEM private key/);
  const cfg = tmpFile('cfg.json', JSON.stringify({ auth: { acl_file: tmpFile('acl.json', '[{"ep":"a/+"}]') } }));
  r = await runHerald(['--config', cfg, '--listen', '127.0.0.1:0', '--private-listen', '127.0.0.1:0']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /record 0: ep has a wildcard/);
  r = await runHerald(['--hash-password']);
  assert.equal(r.code, 2);
});

htest('bind: a resumed stream replays bound events by the same rule', async () => {
  const h = await startBound();
  const first = await publishOk(h, 'mark/all', 'start');
  const ep = (topic) => [{ topic, binded: true }];
  const t = uid('replayed');
  let r = await publish(h, { bind_key: bindKey('bob'), ep: ep('room/private'), e: { type: t } });
  assert.equal(r.status, 200, r.text);
  const p = uid('plainev');
  await publishOk(h, 'room/private', p);
  const end = uid('end');
  await publishOk(h, 'mark/all', end);
  const carol = await connect(h, { bind_key: bindKey('carol'), ep: [...ep('room/private'), 'mark/all'], last_event_id: first.id }, { label: 'carol' });
  const dave = await connect(h, { bind_key: bindKey('dave'), ep: ['room/private', 'mark/all'], last_event_id: first.id }, { label: 'dave' });
  for (const s of [carol, dave]) await s.next(end);
  assert.equal(carol.all(t).length, 1);
  assert.equal(carol.all(p).length, 0);
  assert.equal(dave.all(t).length, 0, 'plain filter, no "*": not replayed');
  assert.equal(dave.all(p).length, 1);
});
