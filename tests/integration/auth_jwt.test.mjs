// JWT space connections through the real binary: tokens minted at run time
// (lib/jwt.mjs). Refusals with reasons, Bearer / ticket / POST /authenticate,
// the auth timeout, expiry on a live stream, refresh, auth_expiring.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, request, uid, delay, runHerald, tmpFile } from './lib/herald.mjs';
import { sseConnect, sseOpen } from './lib/sse_client.mjs';
import { keyPair, mint, claims, nowS } from './lib/jwt.mjs';

const SECRET = 'it-secret-0123456789abcdef0123456789';
const bearer = (t) => ({ headers: { Authorization: `Bearer ${t}` } });

async function refused(h, query, token, reasonRe) {
  const s = sseConnect(h, query, token ? bearer(token) : {});
  const r = await s.response;
  assert.equal(r.status, 401, `expected 401 for ${reasonRe}`);
  await s.ended;
  assert.match(s.rawText, reasonRe);
}

htest('auth: refusals through the binary, each with its reason', async () => {
  const rsa = keyPair('rsa');
  const h = await startHerald({ extraArgs: ['--jwt-hs256-secret', SECRET, '--jwt-public-key', rsa.file] });
  const q = { space: 'sp1', channel: 'c' };
  await refused(h, q, mint('none', null, claims({ spaces: ['sp1'] })), /alg none refused/);
  await refused(h, q, mint('HS256', 'wrong-secret', claims({ spaces: ['sp1'] })), /bad signature/);
  await refused(h, q, mint('HS256', SECRET, claims({ spaces: ['sp1'] }, -100)), /token expired/);
  await refused(h, q, mint('HS256', SECRET, { ...claims({ spaces: ['sp1'] }), nbf: nowS() + 3600 }), /not yet valid/);
  await refused(h, q, mint('HS256', SECRET, claims({ spaces: ['other'] })), /space not granted/);
  await refused(h, q, 'not.a.token', /malformed token/);
  // Key confusion: an HS256 token "signed" with the RSA public key PEM as HMAC secret.
  await refused(h, q, mint('HS256', rsa.publicPem, claims({ spaces: ['sp1'] }), { kid: rsa.kid }),
    /key mismatch: HS256 token against an RSA key/);
  // A bad ticket.
  await refused(h, { ...q, ticket: 'nope' }, null, /ticket/);
});

htest('auth: HS256, RS256 and ES256 Bearer tokens admit a space connection', async () => {
  const rsa = keyPair('rsa');
  const ec = keyPair('ec');
  const h = await startHerald({
    extraArgs: ['--jwt-hs256-secret', SECRET, '--jwt-public-key', rsa.file, '--jwt-public-key', ec.file],
  });
  const space = uid('sp');
  const tokens = [
    mint('HS256', SECRET, claims({ spaces: [space] })),
    mint('RS256', rsa.privateKey, claims({ spaces: [space] }), { kid: rsa.kid }),
    mint('ES256', ec.privateKey, claims({ spaces: '*' }), { kid: ec.kid }),
  ];
  for (const t of tokens) {
    const s = await sseOpen(h, { space, channel: 'news' }, bearer(t));
    await publishOk(h, { space, channel: 'news' }, 'hello');
    await s.next('hello');
    s.close();
  }
});

htest('auth: spaces are open without a JWT key; plain topics never need a token', async () => {
  const h = await startHerald();
  const s = await sseOpen(h, { space: uid('sp'), channel: 'c' });
  assert.ok(s.detail.connid);
  const h2 = await startHerald({ extraArgs: ['--jwt-hs256-secret', SECRET] });
  const t = await sseOpen(h2, { topic: 'plain/topic' });
  await publishOk(h2, 'plain/topic', 'p');
  await t.next('p');
});

htest('auth: no token → unauthorized after --auth-timeout-ms; events withheld meanwhile', async () => {
  const h = await startHerald({ extraArgs: ['--jwt-hs256-secret', SECRET, '--auth-timeout-ms', '600'] });
  const space = uid('sp');
  const t0 = Date.now();
  const s = await sseOpen(h, { space, channel: 'c' });
  await publishOk(h, { space, channel: 'c' }, 'secret-news');
  const d = await s.next({ event: 'disconnect' }, 5000);
  const took = Date.now() - t0;
  assert.equal(d.json.e.detail.reason, 'unauthorized');
  assert.ok(took >= 500 && took < 3000, `closed after ${took} ms`);
  assert.equal(s.messages().length, 0);
  await s.ended;
});

htest('auth: POST /authenticate within the timeout authorizes (authorized event)', async () => {
  const h = await startHerald({ extraArgs: ['--jwt-hs256-secret', SECRET, '--auth-timeout-ms', '1000'] });
  const space = uid('sp');
  const s = await sseOpen(h, { space, channel: 'c' });
  const { connid, secret } = s.detail;
  const bad = await request(h.pub + '/authenticate', { method: 'POST', body: { connid, secret, token: mint('HS256', 'x', claims({ spaces: [space] })) } });
  assert.equal(bad.status, 401);
  const r = await request(h.pub + '/authenticate', { method: 'POST', body: { connid, secret, token: mint('HS256', SECRET, claims({ spaces: [space] })) } });
  assert.equal(r.status, 200, r.text);
  await s.next({ event: 'authorized' });
  await delay(1300);  // past the auth timeout: still open
  await publishOk(h, { space, channel: 'c' }, 'after');
  await s.next('after');
  assert.equal(s.isEnded, false);
});

htest('auth: expiry on a live stream, auth_expiring, refresh keeps it alive', async () => {
  const h = await startHerald({
    extraArgs: ['--jwt-hs256-secret', SECRET],
    config: { auth: { expiring_notice_s: 2, jwt_leeway_s: 0 } },
  });
  const space = uid('sp');
  // Token 1: expires in 3 s; auth_expiring due ~1 s after connect.
  const a = await sseOpen(h, { space, channel: 'c' }, bearer(mint('HS256', SECRET, claims({ spaces: [space] }, 3))));
  const b = await sseOpen(h, { space, channel: 'c' }, bearer(mint('HS256', SECRET, claims({ spaces: [space] }, 3))));
  const t0 = Date.now();
  const exp = await a.next({ event: 'auth_expiring' }, 5000);
  assert.ok(Date.now() - t0 < 3000, 'auth_expiring before exp');
  assert.equal(typeof exp.json.e.detail.exp, 'number');
  // a refreshes; b does not.
  const r = await request(h.pub + '/authenticate', {
    method: 'POST', body: { connid: a.detail.connid, secret: a.detail.secret, token: mint('HS256', SECRET, claims({ spaces: [space] }, 60)) },
  });
  assert.equal(r.status, 200, r.text);
  await a.next({ event: 'authorized' });
  const d = await b.next({ event: 'disconnect' }, 6000);
  assert.equal(d.json.e.detail.reason, 'unauthorized');
  await publishOk(h, { space, channel: 'c' }, 'still-here');
  await a.next('still-here');
  assert.equal(b.messages().length, 0);
  // A fresh token that no longer grants the space closes the connection.
  const r2 = await request(h.pub + '/authenticate', {
    method: 'POST', body: { connid: a.detail.connid, secret: a.detail.secret, token: mint('HS256', SECRET, claims({ spaces: ['elsewhere'] }, 60)) },
  });
  assert.equal(r2.status, 401);
  const d2 = await a.next({ event: 'disconnect' });
  assert.equal(d2.json.e.detail.reason, 'unauthorized');
}, { timeout: 30000 });

htest('auth: tickets are single use and expire', async () => {
  const h = await startHerald({ extraArgs: ['--jwt-hs256-secret', SECRET], config: { auth: { ticket_ttl_ms: 500 } } });
  const space = uid('sp');
  const token = mint('HS256', SECRET, claims({ spaces: [space] }));
  const noauth = await request(h.pub + '/ticket', { method: 'POST' });
  assert.equal(noauth.status, 401);
  const t = await request(h.pub + '/ticket', { method: 'POST', ...bearer(token) });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.json.expires_in_ms, 500);
  assert.match(t.json.ticket, /^[A-Za-z0-9_-]{22}$/);
  const s = await sseOpen(h, { space, channel: 'c', ticket: t.json.ticket });
  await publishOk(h, { space, channel: 'c' }, 'via-ticket');
  await s.next('via-ticket');
  await refused(h, { space, channel: 'c', ticket: t.json.ticket }, null, /ticket/);
  const t2 = await request(h.pub + '/ticket', { method: 'POST', ...bearer(token) });
  await delay(700);
  await refused(h, { space, channel: 'c', ticket: t2.json.ticket }, null, /ticket/);
});

htest('auth: flags and config keys are validated at start-up', async () => {
  const short = await runHerald(['--auth-timeout-ms', '5', '--listen', '127.0.0.1:0']);
  assert.notEqual(short.code, 0);
  assert.match(short.stderr, /--auth-timeout-ms/);
  const missing = await runHerald(['--jwt-public-key', '/nonexistent/key.pem', '--listen', '127.0.0.1:0', '--private-listen', '127.0.0.1:0']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /jwt_public_keys.*cannot read/);
  const weak = await runHerald(['--jwt-hs256-secret', 'short', '--listen', '127.0.0.1:0', '--private-listen', '127.0.0.1:0']);
  assert.notEqual(weak.code, 0);
  assert.match(weak.stderr, /at least 32 bytes/);
  const cfg = tmpFile('alg.json', JSON.stringify({ auth: { jwt_algorithms: ['HS512'] } }));
  const alg = await runHerald(['--config', cfg]);
  assert.notEqual(alg.code, 0);
  assert.match(alg.stderr, /auth\.jwt_algorithms/);
});
