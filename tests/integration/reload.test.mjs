// SIGHUP (issue 14 item 4): publisher tokens, JWT keys, the bind-key private
// key and the ACL file are reloaded together from the config file; a bad file
// keeps every old value and says why in /state and the log; connections stay
// open and keep receiving.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { htest, startHerald, request, publish, waitFor, tmpFile, REPO_ROOT } from './lib/herald.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';
import { mint, claims } from './lib/jwt.mjs';

const OLD_JWT = 'old-secret-0123456789abcdef0123456789';
const NEW_JWT = 'new-secret-0123456789abcdef0123456789';

async function stateWith(h, token) {
  const r = await request(`${h.priv}/state`, { headers: { Authorization: `Bearer ${token}` } });
  return r.status === 200 ? r.json : null;
}

async function reload(h, config, token) {
  const before = h.stderr.length;
  if (config !== undefined) fs.writeFileSync(h.configFile, typeof config === 'string' ? config : JSON.stringify(config));
  h.proc.kill('SIGHUP');
  await waitFor(() => /SIGHUP: re/.test(h.stderr.slice(before)), { what: 'the reload log line' });
  return stateWith(h, token);
}

const ticket = (h, jwt) => request(`${h.pub}/ticket`, { method: 'POST', headers: { Authorization: `Bearer ${jwt}` } });

htest('SIGHUP swaps tokens and JWT keys; open streams keep receiving', async () => {
  const h = await startHerald({ tokens: [], config: { tokens: ['tok-old'], auth: { jwt_hs256_secret: OLD_JWT } } });
  const st = await stateWith(h, 'tok-old');
  assert.equal(st.config_generation, 1);
  assert.equal(st.last_reload, null);
  const s = await sseOpen(h, { topic: 'reload/a' });
  assert.equal((await publish(h, { ep: ['reload/a'], e: { type: 'before' } }, { token: 'tok-old' })).status, 200);
  await waitMessages(s, 1);
  assert.equal((await ticket(h, mint('HS256', OLD_JWT, claims({ spaces: '*' })))).status, 200);

  const after = await reload(h, { tokens: ['tok-new'], auth: { jwt_hs256_secret: NEW_JWT } }, 'tok-new');
  assert.equal(after.config_generation, 2);
  assert.equal(after.last_reload.ok, true);
  assert.equal(after.last_reload.error, null);
  assert.equal(after.connections.total, 1, 'the stream is still open');
  assert.equal((await request(`${h.priv}/state`, { headers: { Authorization: 'Bearer tok-old' } })).status, 401);
  assert.equal((await ticket(h, mint('HS256', OLD_JWT, claims({ spaces: '*' })))).status, 401, 'old JWT key gone');
  assert.equal((await ticket(h, mint('HS256', NEW_JWT, claims({ spaces: '*' })))).status, 200, 'new JWT key in');
  assert.equal((await publish(h, { ep: ['reload/a'], e: { type: 'after' } }, { token: 'tok-new' })).status, 200);
  const got = await waitMessages(s, 2);
  assert.deepEqual(got.map((m) => m.json.e.type), ['before', 'after']);
  assert.equal(s.isEnded, false);
});

for (const [what, bad, reasonRe] of [
  ['invalid JSON', '{"tokens": ["tok-new"],', /not valid JSON/],
  ['a missing ACL file (with new tokens beside it)', { tokens: ['tok-new'], auth: { acl_file: '/nonexistent/acl.json' } }, /auth\.acl_file: \/nonexistent\/acl\.json/],
  ['a short JWT secret', { tokens: ['tok-new'], auth: { jwt_hs256_secret: 'short' } }, /auth\.jwt_hs256_secret/],
  ['an unreadable bind-key private key', { tokens: ['tok-new'], auth: { bind_key_private_key: '/nonexistent/bind.pem' } }, /auth\.bind_key_private_key/],
]) {
  htest(`SIGHUP with ${what}: everything old is kept, /state and the log say why`, async () => {
    const h = await startHerald({ tokens: [], config: { tokens: ['tok-old'], auth: { jwt_hs256_secret: OLD_JWT } } });
    const s = await sseOpen(h, { topic: 'reload/b' });
    const st = await reload(h, bad, 'tok-old');
    assert.ok(st, 'the old token still works');
    assert.equal(st.config_generation, 1);
    assert.equal(st.last_reload.ok, false);
    assert.match(st.last_reload.error, reasonRe);
    assert.match(h.stderr, /SIGHUP: reload failed, keeping the previous keys and tokens/);
    assert.equal((await request(`${h.priv}/state`, { headers: { Authorization: 'Bearer tok-new' } })).status, 401,
      'no part of the new file applied');
    assert.equal((await ticket(h, mint('HS256', OLD_JWT, claims({ spaces: '*' })))).status, 200, 'old JWT key kept');
    assert.equal((await publish(h, { ep: ['reload/b'], e: { type: 'still' } }, { token: 'tok-old' })).status, 200);
    await waitMessages(s, 1);
    // A good file afterwards applies, and clears the error.
    const fixed = await reload(h, { tokens: ['tok-new'] }, 'tok-new');
    assert.equal(fixed.config_generation, 2);
    assert.equal(fixed.last_reload.ok, true);
  });
}

htest('SIGHUP loads a changed ACL file and a new bind-key private key', async () => {
  const acl1 = tmpFile('acl1.json', '[]');
  const h = await startHerald({ tokens: [], config: { tokens: ['tok'], auth: { acl_file: acl1 } } });
  assert.match(h.stderr, /ACL: 0 bound event points from .*acl1\.json/);
  const example = JSON.parse(fs.readFileSync(`${REPO_ROOT}/etc/acl.example.json`, 'utf8'));
  const acl2 = tmpFile('acl2.json', JSON.stringify(example));
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = tmpFile('bind.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const ok = await reload(h, { tokens: ['tok'], auth: { acl_file: acl2, bind_key_private_key: pem } }, 'tok');
  assert.equal(ok.config_generation, 2);
  assert.match(h.stderr, new RegExp(`ACL: ${example.length} bound event points from .*acl2\\.json`));
  assert.match(h.stderr, /SIGHUP: reloaded .*bind-key private key \(set\), ACL \(loaded\)/);
});
