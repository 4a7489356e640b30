// Command line and config file: --help, unknown flags, config errors that name
// the key and the file, flags overriding the file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { htest, runHerald, startHerald, freePort, tmpFile, request, REPO_ROOT } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';

async function listenArgs() {
  // Free ports, so that a binary that wrongly starts does not collide with anything.
  return ['--listen', `127.0.0.1:${await freePort()}`, '--private-listen', `127.0.0.1:${await freePort()}`];
}

htest('--help prints the flags and exits 0', async () => {
  const r = await runHerald(['--help']);
  assert.equal(r.timedOut, false);
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal}; stderr ${r.stderr}`);
  const out = r.stdout + r.stderr;
  for (const flag of ['--config', '--listen', '--private-listen', '--workers', '--token', '--help']) {
    assert.ok(out.includes(flag), `--help mentions ${flag}:\n${out}`);
  }
});

htest('unknown flag → non-zero exit naming it', async () => {
  const r = await runHerald(['--bogus-flag', ...(await listenArgs())]);
  assert.equal(r.timedOut, false, 'herald exited by itself');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--bogus-flag/);
});

// (--workers 0 means "number of cores", so it is not an error.)
for (const args of [['--workers', 'two'], ['--workers', '-1'], ['--workers', '65536'], ['--listen', 'nonsense'], ['--listen', '127.0.0.1:99999'], ['--workers']]) {
  htest(`bad flag value: ${args.join(' ')} → non-zero exit naming the flag`, async () => {
    const la = await listenArgs();
    const r = await runHerald([...(args[0] === '--listen' ? la.slice(2) : la), ...args]);
    assert.equal(r.timedOut, false, `${args.join(' ')}: herald exited by itself`);
    assert.notEqual(r.code, 0, `${args.join(' ')} → exit ${r.code}`);
    assert.match(r.stderr, new RegExp(args[0]), `${args.join(' ')}: stderr names the flag: ${r.stderr}`);
  });
}

const CONFIG_ERRORS = [
  { what: 'bad JSON', text: '{"stream": {"timeout_ms": 1000,}', key: null },
  { what: 'not an object', text: '[1, 2]', key: null },
  { what: 'unknown top-level key', json: { bogus: 1 }, key: 'bogus' },
  { what: 'unknown nested key', json: { stream: { bogus_ms: 5 } }, key: 'stream.bogus_ms' },
  { what: 'wrong type (string for number)', json: { stream: { timeout_ms: 'soon' } }, key: 'stream.timeout_ms' },
  { what: 'wrong type (object for number)', json: { workers: { n: 2 } }, key: 'workers' },
  { what: 'wrong type (string for array)', json: { tokens: 'abc' }, key: 'tokens' },
  { what: 'wrong type (number for bool)', json: { compat: { public_private_api: 1 } }, key: 'compat.public_private_api' },
  { what: 'wrong type (array for section)', json: { limits: [] }, key: 'limits' },
  { what: 'bad value (negative timeout)', json: { stream: { timeout_ms: -5 } }, key: 'stream.timeout_ms' },
  { what: 'bad value (negative limit)', json: { limits: { max_topic_levels: -1 } }, key: 'limits.max_topic_levels' },
  { what: 'bad value (fractional count)', json: { stream: { max_alive_count: 1.5 } }, key: 'stream.max_alive_count' },
  { what: 'bad value (listen address)', json: { listen: 'not-an-address' }, key: 'listen', noListenFlag: true },
];

for (const c of CONFIG_ERRORS) {
  htest(`config error: ${c.what} → non-zero exit, stderr names ${c.key || 'the problem'} and the file`, async () => {
    const file = tmpFile('bad.json', c.text ?? JSON.stringify(c.json));
    const la = await listenArgs();
    const r = await runHerald(['--config', file, ...(c.noListenFlag ? la.slice(2) : la), '--workers', '2', '--token', 't']);
    assert.equal(r.timedOut, false, `herald exited by itself (stderr: ${r.stderr})`);
    assert.notEqual(r.code, 0, `exit ${r.code}`);
    assert.ok(r.stderr.includes(file), `stderr names the file ${file}:\n${r.stderr}`);
    if (c.key) assert.ok(r.stderr.includes(c.key), `stderr names the key ${c.key}:\n${r.stderr}`);
  });
}

htest('config error: missing config file → non-zero exit naming the path', async () => {
  const file = '/nonexistent/dir/herald-missing.json';
  const r = await runHerald(['--config', file, ...(await listenArgs())]);
  assert.equal(r.timedOut, false);
  assert.notEqual(r.code, 0);
  assert.ok(r.stderr.includes(file), r.stderr);
});

htest('a port already in use → non-zero exit', async () => {
  const h = await startHerald();
  const r = await runHerald(['--listen', `127.0.0.1:${h.pubPort}`, '--private-listen', `127.0.0.1:${await freePort()}`]);
  assert.equal(r.timedOut, false, 'herald exited by itself');
  assert.notEqual(r.code, 0);
  // The first server is unaffected.
  assert.equal((await h.state()).connections.total, 0);
});

htest('config file values apply; flags override the file', async () => {
  const cfg = {
    workers: 1,
    listen: '127.0.0.1:1',
    private_listen: '127.0.0.1:2',
    tokens: ['file-token'],
    cors_origin: '*',
    stream: { timeout_ms: 4321, heartbeat_ms: 50000, max_alive_count: 60 },
    limits: { max_filters_per_connection: 7 },
    compat: { public_private_api: false },
  };
  // startHerald passes --listen/--private-listen/--workers 2/--token test-token, which must win.
  const h = await startHerald({ workers: 2, config: cfg });
  const st = await h.state();
  assert.equal(st.workers, 2, '--workers overrides the file');
  assert.equal(st.limits.max_filters_per_connection, 7, 'limits from the file');
  const s = await connect(h, { ep: ['x'] });
  assert.equal(s.detail.timeout, 4321, 'stream.timeout_ms from the file');
  // --token adds to (or replaces) the file's tokens; the flag's token must work.
  assert.equal((await request(h.priv + '/state', { headers: { Authorization: 'Bearer test-token' } })).status, 200);
});

htest('the example config etc/herald.json is accepted', async () => {
  // Every key with its default: starting from it must work.
  const p = `${REPO_ROOT}/etc/herald.json`;
  assert.ok(fs.existsSync(p), `${p} exists`);
  const h = await startHerald({ configFile: p });
  const st = await h.state();
  assert.equal(st.connections.total, 0);
});
