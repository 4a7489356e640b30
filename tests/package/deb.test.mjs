// The Debian package (issue 14 item 6): `cpack -G DEB` in the build folder of
// HERALD_BIN builds it; its contents and control data are read with dpkg-deb,
// it is unpacked into a throw-away root with `dpkg -x`, the unpacked binary
// runs, and the systemd unit is checked with `systemd-analyze verify`.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = path.dirname(path.resolve(REPO_ROOT, process.env.HERALD_BIN || 'build/herald'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-deb-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const root = path.join(work, 'root');
let deb;

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
}

before(() => {
  const out = path.join(work, 'pkg');
  run('cpack', ['-G', 'DEB', '-B', out], { cwd: BUILD });
  const debs = fs.readdirSync(out).filter((f) => f.endsWith('.deb'));
  assert.equal(debs.length, 1, `one .deb in ${out}: ${debs}`);
  deb = path.join(out, debs[0]);
  run('dpkg', ['-x', deb, root]);
});

test('control data: package herald, the project version, shared-library dependencies', () => {
  const info = run('dpkg-deb', ['-I', deb]);
  const version = fs.readFileSync(`${REPO_ROOT}/CMakeLists.txt`, 'utf8').match(/project\(herald VERSION ([0-9.]+)/)[1];
  assert.match(info, /^ Package: herald$/m);
  assert.match(info, new RegExp(`^ Version: ${version.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(info, /^ Depends: .*libevent-2\.1-7.*libmicrohttpd12/m, info);
  assert.match(info, /^ Depends: .*adduser/m, 'postinst creates the herald user with adduser');
  const conffiles = run('sh', ['-c', `dpkg-deb --ctrl-tarfile '${deb}' | tar xO ./conffiles`]);
  assert.equal(conffiles.trim(), '/etc/herald/herald.json', 'the config is a conffile');
});

test('contents: binary, config, systemd unit, nginx snippet, docs', () => {
  const list = run('dpkg', ['-c', deb]);
  const files = new Map(list.trim().split('\n').map((l) => {
    const f = l.split(/\s+/);
    return [f[5].replace(/^\./, ''), f[0]];
  }));
  for (const [p, mode] of [
    ['/usr/bin/herald', '-rwxr-xr-x'],
    ['/etc/herald/herald.json', '-rw-r-----'],
    ['/usr/lib/systemd/system/herald.service', '-rw-r--r--'],
    ['/usr/share/doc/herald/examples/nginx-herald.conf', '-rw-r--r--'],
    ['/usr/share/doc/herald/operations.md', '-rw-r--r--'],
  ]) {
    assert.equal(files.get(p), mode, `${p} with mode ${mode}:\n${list}`);
  }
  assert.equal(fs.readFileSync(path.join(root, 'etc/herald/herald.json'), 'utf8'),
    fs.readFileSync(`${REPO_ROOT}/etc/herald.json`, 'utf8'));
});

test('the unpacked binary runs: --version, --help, --check-config on the packaged config', () => {
  const bin = path.join(root, 'usr/bin/herald');
  assert.equal(run(bin, ['--version']), run(path.join(BUILD, 'herald'), ['--version']));
  assert.match(run(bin, ['--help']), /--check-config FILE/);
  assert.equal(run(bin, ['--check-config', path.join(root, 'etc/herald/herald.json')]),
    `${path.join(root, 'etc/herald/herald.json')}: OK\n`);
});

function unitKeys(text) {
  const keys = new Map();
  let section = '';
  for (const line of text.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    const s = line.match(/^\[(.+)\]$/);
    if (s) { section = s[1]; continue; }
    const kv = line.match(/^([A-Za-z]+)=(.*)$/);
    assert.ok(kv, `unit line parses as Key=value: ${line}`);
    const k = `${section}.${kv[1]}`;
    keys.set(k, keys.has(k) ? `${keys.get(k)}\n${kv[2]}` : kv[2]);
  }
  return keys;
}

test('the systemd unit: restart, reload, limits, hardening, check before start', () => {
  const keys = unitKeys(fs.readFileSync(path.join(root, 'usr/lib/systemd/system/herald.service'), 'utf8'));
  const want = {
    'Service.ExecStartPre': '/usr/bin/herald --check-config /etc/herald/herald.json',
    'Service.ExecStart': '/usr/bin/herald --config /etc/herald/herald.json',
    'Service.ExecReload': '/bin/kill -HUP $MAINPID',
    'Service.Restart': 'on-failure',
    'Service.ProtectSystem': 'strict',
    'Service.NoNewPrivileges': 'yes',
    'Service.User': 'herald',
    'Install.WantedBy': 'multi-user.target',
  };
  for (const [k, v] of Object.entries(want)) assert.equal(keys.get(k), v, k);
  assert.ok(Number(keys.get('Service.LimitNOFILE')) >= 65536, 'LimitNOFILE');
  // The postinst creates the user the unit names.
  const postinst = run('sh', ['-c', `dpkg-deb --ctrl-tarfile '${deb}' | tar xO ./postinst`]);
  assert.match(postinst, /adduser --system --group .* herald/);
});

const analyze = spawnSync('systemd-analyze', ['--version']);
test('systemd-analyze verify accepts the unit with no warning',
  { skip: analyze.status !== 0 && 'systemd-analyze is not installed' }, () => {
    // verify checks that ExecStart's binary exists: point the unit at the
    // unpacked one, since /usr/bin/herald is not installed on this host.
    const unit = path.join(work, 'herald.service');
    fs.writeFileSync(unit, fs.readFileSync(path.join(root, 'usr/lib/systemd/system/herald.service'), 'utf8')
      .replaceAll('/usr/bin/herald', path.join(root, 'usr/bin/herald')));
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    // Unknown keys only warn (exit 0), so any output is a failure too.
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, '', 'no warning');
  });
