// Logs (issue 14 item 5): log_format "json" writes one JSON object per line;
// log.access adds one line per private-API request with method, path, status
// and duration, and never the query string's token nor the Authorization
// header.
import assert from 'node:assert/strict';
import { htest, startHerald, runHerald, tmpFile, request, publishOk, waitFor } from './lib/herald.mjs';

const SECRET = 'very-secret-token-4f9c1e';

function lines(h) {
  return h.stderr.split('\n').filter((l) => l.length);
}

htest('log_format json: every line is one JSON object with ts, level, tag, msg', async () => {
  const h = await startHerald({ config: { log_format: 'json' } });
  await publishOk(h, 'logs/a', 't', {});
  const all = lines(h);
  assert.ok(all.length >= 2, h.stderr);
  for (const l of all) {
    const o = JSON.parse(l);  // throws on a text line
    assert.match(o.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, l);
    assert.ok(['error', 'warn', 'info', 'debug'].includes(o.level), l);
    assert.equal(typeof o.tag, 'string', l);
    assert.equal(typeof o.msg, 'string', l);
  }
  assert.ok(all.some((l) => JSON.parse(l).msg.startsWith('public listener on 127.0.0.1:')), h.stderr);
});

htest('log_format text (the default): the usual lines, no access log', async () => {
  const h = await startHerald({ tokens: [SECRET] });
  await request(`${h.priv}/state`, { headers: { Authorization: `Bearer ${SECRET}` } });
  assert.match(h.stderr, /^\d{4}-\d\d-\d\dT[\d:.]+Z info \[server\] public listener on /m);
  assert.doesNotMatch(h.stderr, /\[access\]/);
});

htest('log.access (text): method, path, status, duration; no token from the query or the header', async () => {
  const h = await startHerald({ tokens: [SECRET], config: { log: { access: true } } });
  await request(`${h.priv}/state?token=${SECRET}`);
  await request(`${h.priv}/metrics`, { headers: { Authorization: `Bearer ${SECRET}` } });
  await request(`${h.priv}/state`, { headers: { Authorization: 'Bearer wrong-token-abc' } });
  await request(`${h.priv}/nowhere`, { headers: { Authorization: `Bearer ${SECRET}` } });
  const line = (re) => waitFor(() => lines(h).find((l) => re.test(l)), { what: `a log line ${re}` });
  await line(/ info \[access\] GET \/state 200 \d+\.\d{3}ms 127\.0\.0\.1$/);
  await line(/ info \[access\] GET \/metrics 200 \d+\.\d{3}ms 127\.0\.0\.1$/);
  await line(/ info \[access\] GET \/state 401 /);
  await line(/ info \[access\] GET \/nowhere 404 /);
  assert.ok(!h.stderr.includes(SECRET), 'the token never reaches the log');
  assert.ok(!h.stderr.includes('wrong-token-abc'), 'nor a wrong one');
  assert.ok(!h.stderr.includes('?token'), 'no query string');
});

htest('log.access with log_format json: one object per request with typed fields', async () => {
  const h = await startHerald({ tokens: [SECRET], config: { log_format: 'json', log: { access: true } } });
  await publishOk(h, 'logs/b', 't', { n: 1 }, { token: SECRET });
  const r = await request(`${h.priv}/event?token=${SECRET}`, { method: 'POST', body: 'not json' });
  assert.equal(r.status, 400);
  const access = await waitFor(() => {
    const found = lines(h).map((l) => JSON.parse(l)).filter((o) => o.tag === 'access' && o.path === '/event');
    return found.length === 2 ? found : null;
  }, { what: 'two access lines for /event' });
  assert.deepEqual(access.map((o) => [o.method, o.status]), [['POST', 200], ['POST', 400]]);
  for (const o of access) {
    assert.equal(typeof o.duration_ms, 'number');
    assert.ok(o.duration_ms >= 0);
    assert.equal(o.remote, '127.0.0.1');
    assert.equal(o.level, 'info');
  }
  assert.ok(!h.stderr.includes(SECRET), 'the token never reaches the log');
});

htest('log.access: a path with a newline cannot forge a log line', async () => {
  const h = await startHerald({ tokens: [SECRET], config: { log: { access: true } } });
  await request(`${h.priv}/x%0Aforged%20line`, { headers: { Authorization: `Bearer ${SECRET}` } });
  await waitFor(() => lines(h).some((l) => l.includes('[access]') && l.includes('forged')), { what: 'the access line' });
  assert.ok(!lines(h).some((l) => l.startsWith('forged')), h.stderr);
});

for (const [what, json, key] of [
  ['log_format neither text nor json', { log_format: 'xml' }, 'log_format'],
  ['log.access not a boolean', { log: { access: 'yes' } }, 'log.access'],
  ['unknown log key', { log: { bogus: true } }, 'log.bogus'],
]) {
  htest(`config error: ${what} → exit 2 naming ${key}`, async () => {
    const file = tmpFile('log.json', JSON.stringify(json));
    const r = await runHerald(['--check-config', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(key) && r.stderr.includes(file), r.stderr);
  });
}
