// Shared by the herald-client tests: herald's own integration harness (the
// real binary on free loopback ports), Debian's nginx as a buffering reverse
// proxy, and headless Chromium on pages that load the packed client.
import { spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { freePort, waitFor, request, track, HERALD_BIN } from '../../tests/integration/lib/herald.mjs';

export * from '../../tests/integration/lib/herald.mjs';

// Collects a client's events for assertions.
export function record(client) {
  const r = { messages: [], ids: [], states: [], opens: [], resets: [], disconnects: [], presence: [], errors: [] };
  client.on('message', (m) => { r.messages.push(m); r.ids.push(m.id); });
  client.on('state', (s) => r.states.push(s));
  client.on('open', (o) => r.opens.push(o));
  client.on('reset', (x) => r.resets.push(x));
  client.on('disconnect', (x) => r.disconnects.push(x));
  client.on('presence', (x) => r.presence.push(x));
  client.on('error', (e) => r.errors.push(e));
  track('subs', { close: () => client.close(), errors: [], label: 'herald-client' });
  return r;
}

// nginx on a loopback port in front of herald, with its own config and prefix
// in a temp dir (never the system service). buffering: true makes it hold
// streams back like a corporate proxy: proxy_buffering on, X-Accel-Buffering
// ignored, and gzip, which is what actually holds the bytes (nginx passes
// uncompressed proxied chunks on as they come even with proxy_buffering on).
// failStream: POST / (the es-web stream) answers 502, as a proxy that
// refuses streaming uploads might.
export async function startNginx(upstreamPort, { buffering = true, failStream = false } = {}) {
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
  if (!nginx) throw new Error('nginx is missing: apt-get install -y nginx');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-nginx-'));
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server {
    listen 127.0.0.1:${port};
    location = / {
      ${failStream ? 'if ($request_method = POST) { return 502; }' : ''}
      proxy_pass http://127.0.0.1:${upstreamPort};
    }
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering ${buffering ? 'on' : 'off'};
      ${buffering ? 'proxy_ignore_headers X-Accel-Buffering;' : ''}
      proxy_max_temp_file_size 0;
      ${buffering ? "gzip on; gzip_types *; gzip_min_length 0; gzip_proxied any;" : ""}
      proxy_read_timeout 120s;
    }
  }
}
`);
  const proc = spawn(nginx, ['-c', conf, '-p', dir, '-e', `${dir}/error.log`, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => proc.on('exit', r));
  const n = {
    port,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  track('heralds', { kill: n.stop, args: ['nginx', conf], stdout: '', get stderr() { return stderr; }, exitInfo: null });
  await waitFor(async () => (await request(`${n.url}/`, { method: 'OPTIONS', timeoutMs: 1000 })).status < 500,
    { timeout: 5000, what: `nginx up (${stderr})` });
  return n;
}

// The installed package (from the tarball: see run.sh).
const require = createRequire(import.meta.url);
export const PKG_DIR = path.dirname(require.resolve('herald-client/package.json'));
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// A page server on loopback: `/` and `/tab2` serve html, `/herald-client.js`
// the installed package's browser bundle.
export async function servePages(html) {
  const bundle = fs.readFileSync(path.join(PKG_DIR, 'dist', 'herald-client.min.js'));
  const compat = fs.readFileSync(path.join(PKG_DIR, 'dist', 'herald-compat.min.js'));
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/herald-client.js') || req.url.startsWith('/herald-compat.js')) {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(req.url.startsWith('/herald-client') ? bundle : compat);
    } else {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(html);
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

// A fresh headless Chromium profile; pages share one origin's storage, locks
// and BroadcastChannel, as tabs of one browser do.
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-client-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const close = async () => {
    await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  track('heralds', { kill: close, args: ['chromium'], stdout: '', stderr: '', exitInfo: null });
  return { context, close };
}

// Starts herald again with the arguments of a stopped one, so on the same
// ports and config: what a client sees as a server restart.
export async function restartHerald(old) {
  assert.ok(!old.alive(), 'stop the old herald first');
  const proc = spawn(HERALD_BIN, old.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const h = { ...old, proc, stdout: '', stderr: '', exitInfo: null };
  proc.stdout.on('data', (d) => { h.stdout += d; });
  proc.stderr.on('data', (d) => { h.stderr += d; });
  h.exited = new Promise((r) => proc.on('exit', (code, signal) => { h.exitInfo = { code, signal }; r(h.exitInfo); }));
  h.alive = () => h.exitInfo === null;
  h.stop = async (signal = 'SIGTERM') => { if (h.alive()) proc.kill(signal); const i = await h.exited; return i.code ?? i.signal; };
  h.kill = async () => { if (h.alive()) proc.kill('SIGKILL'); await h.exited; };
  track('heralds', h);
  await waitFor(async () => (await request(`${h.pub}/`, { method: 'OPTIONS', timeoutMs: 1000 })).status === 204,
    { timeout: 10000, what: 'restarted herald' });
  return h;
}
