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
  for (const flag of ['--config', '--listen', '--private-listen', '--workers', '--token', '--help', '--version', '--check-config']) {
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
  assert.equal(r.code, 1, 'a failed system call, not a config error (exit 2)');
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

// --version and --check-config (issue 14 item 7).

htest('--version prints the project version from CMakeLists.txt and exits 0', async () => {
  const cmake = fs.readFileSync(`${REPO_ROOT}/CMakeLists.txt`, 'utf8');
  const version = cmake.match(/project\(herald VERSION ([0-9.]+)/)[1];
  const r = await runHerald(['--version']);
  assert.equal(r.timedOut, false);
  assert.equal(r.code, 0, `exit ${r.code}; stderr ${r.stderr}`);
  assert.match(r.stdout, new RegExp(`^herald ${version.replace(/\./g, '\\.')}( \\(git [^)]+\\))?\\n$`));
});

htest('--check-config on a good config prints OK and exits 0 without binding its ports', async () => {
  // The config names ports another herald already holds: a check that bound
  // them would fail with "address in use".
  const h = await startHerald();
  const file = tmpFile('good.json', JSON.stringify({
    listen: `127.0.0.1:${h.pubPort}`,
    private_listen: h.priv.replace(/^http:\/\//, ''),
    tokens: ['t'],
    auth: { jwt_hs256_secret: 'x'.repeat(32) },
  }));
  const r = await runHerald(['--check-config', file]);
  assert.equal(r.timedOut, false, 'exits by itself');
  assert.equal(r.code, 0, `exit ${r.code}; stderr ${r.stderr}`);
  assert.equal(r.stdout, `${file}: OK\n`);
  assert.equal((await h.state()).connections.total, 0, 'the running server is untouched');
});

htest('--check-config accepts the example etc/herald.json', async () => {
  const r = await runHerald(['--check-config', `${REPO_ROOT}/etc/herald.json`]);
  assert.equal(r.code, 0, `exit ${r.code}; stderr ${r.stderr}`);
  assert.match(r.stdout, /: OK\n$/);
});

const CHECK_ERRORS = [
  { what: 'unknown key', json: { stream: { bogus_ms: 5 } }, key: 'stream.bogus_ms' },
  { what: 'wrong type', json: { limits: { max_connections: 'many' } }, key: 'limits.max_connections' },
  { what: 'bad JSON', text: '{"workers": 2,', key: null },
  { what: 'short HS256 secret (checked at start-up, not by the JSON pass)',
    json: { auth: { jwt_hs256_secret: 'short' } }, key: 'auth.jwt_hs256_secret' },
  { what: 'missing ACL file', json: { auth: { acl_file: '/nonexistent/herald-acl.json' } },
    key: 'auth.acl_file', also: '/nonexistent/herald-acl.json' },
  { what: 'unreadable bind-key private key',
    json: { auth: { bind_key_private_key: '/nonexistent/bind.pem' } },
    key: 'auth.bind_key_private_key', also: '/nonexistent/bind.pem' },
  { what: 'ACL file that is not JSON', acl: 'not json', key: 'auth.acl_file' },
];

for (const c of CHECK_ERRORS) {
  htest(`--check-config: ${c.what} → exit 2, stderr names ${c.key || 'the file'}`, async () => {
    let json = c.json;
    if (c.acl !== undefined) json = { auth: { acl_file: tmpFile('acl.json', c.acl) } };
    const file = tmpFile('check.json', c.text ?? JSON.stringify(json));
    const r = await runHerald(['--check-config', file]);
    assert.equal(r.timedOut, false, 'exits by itself');
    assert.equal(r.code, 2, `exit ${r.code}; stderr ${r.stderr}`);
    assert.equal(r.stdout, '', 'no OK on stdout');
    assert.ok(r.stderr.includes(file), `stderr names the file ${file}:\n${r.stderr}`);
    if (c.key) assert.ok(r.stderr.includes(c.key), `stderr names ${c.key}:\n${r.stderr}`);
    if (c.also) assert.ok(r.stderr.includes(c.also), `stderr names ${c.also}:\n${r.stderr}`);
  });
}

// Issue 11.6: errors have kinds. The config errors only start-up finds (key
// files, the ACL file) are kConfig and exit 2 as the JSON pass's do; they
// exited 1, as a failed system call does.
for (const c of CHECK_ERRORS.filter((c) => c.json?.auth || c.acl !== undefined)) {
  htest(`start-up: ${c.what} → exit 2 naming ${c.key}, as --check-config`, async () => {
    const json = c.acl !== undefined ? { auth: { acl_file: tmpFile('acl.json', c.acl) } } : c.json;
    const file = tmpFile('start.json', JSON.stringify(json));
    const r = await runHerald(['--config', file, ...(await listenArgs())]);
    assert.equal(r.timedOut, false, 'exits by itself');
    assert.equal(r.code, 2, `exit ${r.code}; stderr ${r.stderr}`);
    assert.ok(r.stderr.includes(c.key), `stderr names ${c.key}:\n${r.stderr}`);
  });
}

htest('--check-config on a missing file → exit 2 naming the path', async () => {
  const r = await runHerald(['--check-config', '/nonexistent/dir/herald.json']);
  assert.equal(r.code, 2);
  assert.ok(r.stderr.includes('/nonexistent/dir/herald.json'), r.stderr);
});
