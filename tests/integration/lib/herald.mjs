// Integration harness: starts the real herald binary on free loopback ports and
// talks to it over plain HTTP with Node built-ins only.
//
// Every test goes through htest(), which tracks the servers and subscribers the
// test creates, kills and closes them when the test ends (pass, fail or time-out),
// prints the servers' output when the test fails, and fails the test if any
// es-web subscriber saw a framing error during it.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..', '..');
export const HERALD_BIN = process.env.HERALD_BIN
  ? path.resolve(REPO_ROOT, process.env.HERALD_BIN)
  : path.join(REPO_ROOT, 'build', 'herald');

// ---------------------------------------------------------------------------
// Per-test tracking.

const allProcs = new Set();
let scope = null;

export function track(kind, obj) {
  if (scope) scope[kind].push(obj);
}

function killAll() {
  for (const p of allProcs) {
    try { p.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
// Last line of defence when a test times out and its own clean-up never runs:
// a live child would keep the test process from exiting.
after(killAll);
process.on('exit', killAll);

function tail(s, n = 4000) {
  return s.length > n ? '…' + s.slice(-n) : s;
}

async function cleanupScope(sc) {
  if (!sc || sc.cleaned) return;
  sc.cleaned = true;
  for (const s of sc.subs) {
    try { s.close(); } catch { /* ignore */ }
  }
  for (const h of sc.heralds) {
    try { await h.kill(); } catch { /* ignore */ }
  }
}

function dumpScope(sc, err) {
  const lines = [`\n==== failure context: ${err && err.message ? err.message.split('\n')[0] : err}`];
  for (const h of sc.heralds) {
    lines.push(`---- herald ${h.args.join(' ')} (exit: ${JSON.stringify(h.exitInfo)})`);
    lines.push(`---- stdout:\n${tail(h.stdout)}`);
    lines.push(`---- stderr:\n${tail(h.stderr)}`);
  }
  for (const s of sc.subs) {
    if (s.errors.length) lines.push(`---- subscriber ${s.label} errors: ${s.errors.join(' | ')}`);
  }
  console.error(lines.join('\n'));
}

// htest(name, fn, {timeout}) — a node:test test with tracking and clean-up.
export function htest(name, fn, { timeout = 60000 } = {}) {
  return test(name, { timeout }, async (t) => {
    const sc = { heralds: [], subs: [], cleaned: false };
    scope = sc;
    t.after(() => cleanupScope(sc));
    try {
      await fn(t);
      const bad = sc.subs.filter((s) => s.errors.length);
      assert.equal(bad.length, 0,
        'es-web framing errors: ' + bad.map((s) => `${s.label}: ${s.errors.join(' | ')}`).join('; '));
    } catch (e) {
      dumpScope(sc, e);
      throw e;
    } finally {
      await cleanupScope(sc);
      if (scope === sc) scope = null;
    }
  });
}

// ---------------------------------------------------------------------------
// Small utilities.

export function delay(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Polls fn() until it returns a truthy value (returned) or the deadline passes
// (throws with the last value seen / last error).
export async function waitFor(fn, { timeout = 5000, interval = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastErr;
  for (let i = 0; i < 100000; i++) {
    try {
      last = await fn();
      lastErr = undefined;
      if (last) return last;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) break;
    await delay(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}; last value: ` +
    `${JSON.stringify(last)}${lastErr ? '; last error: ' + lastErr.message : ''}`);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

let uniq = 0;
// A unique, topic-safe name for this test run.
export function uid(prefix = 'u') {
  uniq += 1;
  return `${prefix}${process.pid}x${uniq}`;
}

// ---------------------------------------------------------------------------
// HTTP.

// request(url, {method, headers, body, timeoutMs}) → {status, statusMessage, headers, text, json}
// body: string / Buffer sent as is, anything else JSON-encoded. json is undefined
// when the body does not parse.
export function request(url, { method = 'GET', headers = {}, body, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    let data = body;
    if (data !== undefined && typeof data !== 'string' && !Buffer.isBuffer(data)) {
      data = JSON.stringify(data);
    }
    const h = { ...headers };
    const lower = Object.keys(h).map((k) => k.toLowerCase());
    if (data !== undefined) {
      if (!lower.includes('content-type')) h['Content-Type'] = 'application/json';
      if (!lower.includes('content-length') && !lower.includes('transfer-encoding')) {
        h['Content-Length'] = Buffer.byteLength(data);
      }
    }
    let settled = false;
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h, agent: false,
    });
    const timer = setTimeout(() => {
      if (!settled) {
        settled = true;
        req.destroy();
        reject(new Error(`${method} ${url}: no complete response within ${timeoutMs} ms`));
      }
    }, timeoutMs);
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, statusMessage: res.statusMessage, headers: res.headers, text, json });
      });
      res.on('error', (e) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(e);
      });
    });
    req.on('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${method} ${url}: ${e.message}`));
    });
    req.end(data);
  });
}

// Raw HTTP over a socket, for requests http.request will not send (oversized
// headers, a Content-Length with no body behind it). Resolves with the status line
// and headers once they arrive, or {closed:true} if the server closes first.
export function rawRequest(port, payload, { timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    let done = false;
    const finish = (v, err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err); else resolve(v);
    };
    const timer = setTimeout(() => finish(null, new Error(`raw request: no response within ${timeoutMs} ms`)), timeoutMs);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const lines = buf.slice(0, end).split('\r\n');
        const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
        const headers = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        finish({ status: m ? Number(m[1]) : NaN, statusMessage: m ? m[2] : '', headers, head: buf.slice(0, end) });
      }
    });
    sock.on('error', (e) => {
      if (buf.length === 0) finish({ closed: true, error: e.message });
    });
    sock.on('close', () => finish({ closed: true, partial: buf }));
    sock.write(payload);
  });
}

// Asserts an error answer: status, {"error": reason} body (or the reason as a
// text/plain body on the es-web endpoints) and (unless
// phrase: false) the same reason as the status line's reason phrase.
// reason may be a string (exact) or a RegExp.
export function assertError(res, status, reason, where = '', { phrase = true } = {}) {
  const ctx = `${where} → ${res.status} ${JSON.stringify(res.statusMessage)} ${res.text.slice(0, 200)}`;
  assert.equal(res.status, status, `status; ${ctx}`);
  if (reason !== undefined) {
    // The es-web endpoints (/, /alive, /event, /connections) answer the reason
    // as text/plain, as the original does; herald's own ones as {"error"}.
    const plain = /^text\/plain/.test(res.headers?.['content-type'] || '');
    if (plain) res = { ...res, json: { error: res.text } };
    assert.ok(res.json && typeof res.json === 'object', `JSON error body; ${ctx}`);
    if (reason instanceof RegExp) {
      assert.match(String(res.json.error), reason, `body error; ${ctx}`);
      if (phrase) assert.match(String(res.statusMessage), reason, `reason phrase; ${ctx}`);
    } else {
      assert.equal(res.json.error, reason, `body error; ${ctx}`);
      if (phrase) assert.equal(res.statusMessage, reason, `reason phrase; ${ctx}`);
    }
  }
}

// ---------------------------------------------------------------------------
// Running the binary.

function deepMerge(a, b) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object') {
      out[k] = deepMerge(a[k], v);
    } else {
      out[k] = v;
    }
  }
  return out;
}
export { deepMerge };

let tmpDir;
export function tmpFile(name, content) {
  if (!tmpDir) {
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-it-'));
    process.on('exit', () => { try { fs.rmSync(tmpDir, { recursive: true, force: true }); } catch { /* ignore */ } });
  }
  const f = path.join(tmpDir, `${uid('f')}-${name}`);
  fs.writeFileSync(f, content);
  return f;
}

// runHerald(args, {timeoutMs}) — runs the binary to completion (for --help and
// start-up errors). Kills it at the deadline and reports timedOut.
export function runHerald(args, { timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(HERALD_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    allProcs.add(proc);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; proc.kill('SIGKILL'); }, timeoutMs);
    proc.on('error', (e) => { clearTimeout(timer); allProcs.delete(proc); reject(e); });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      allProcs.delete(proc);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function startOnce({ workers, config, configFile, tokens, extraArgs }) {
  const pubPort = await freePort();
  let privPort = await freePort();
  for (let i = 0; i < 5 && privPort === pubPort; i++) privPort = await freePort();
  const cfgFile = configFile || tmpFile('config.json', JSON.stringify(config, null, 2));
  const args = ['--config', cfgFile, '--listen', `127.0.0.1:${pubPort}`,
    '--private-listen', `127.0.0.1:${privPort}`];
  if (workers !== undefined && workers !== null) args.push('--workers', String(workers));
  for (const t of tokens) args.push('--token', t);
  args.push(...extraArgs);

  const proc = spawn(HERALD_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  allProcs.add(proc);
  const h = {
    args,
    proc,
    pubPort,
    privPort,
    pub: `http://127.0.0.1:${pubPort}`,
    priv: `http://127.0.0.1:${privPort}`,
    token: tokens[0],
    tokens,
    config,
    configFile: cfgFile,
    stdout: '',
    stderr: '',
    exitInfo: null,
  };
  proc.stdout.on('data', (d) => { h.stdout += d; });
  proc.stderr.on('data', (d) => { h.stderr += d; });
  h.exited = new Promise((resolve) => {
    proc.on('error', (e) => { h.exitInfo = { error: e.message }; allProcs.delete(proc); resolve(h.exitInfo); });
    proc.on('exit', (code, signal) => {
      h.exitInfo = { code, signal };
      allProcs.delete(proc);
      resolve(h.exitInfo);
    });
  });
  h.alive = () => h.exitInfo === null;
  // stop(signal) → exit code (number), or the signal's name if killed by one.
  h.stop = async (signal = 'SIGTERM') => {
    if (h.alive()) proc.kill(signal);
    const info = await h.exited;
    return info.code !== null && info.code !== undefined ? info.code : info.signal;
  };
  h.kill = async () => {
    if (h.alive()) proc.kill('SIGKILL');
    await h.exited;
  };
  h.privGet = async (p, { token = h.token } = {}) => request(h.priv + p, { headers: authHeaders(token) });
  const okJson = async (p) => {
    const r = await h.privGet(p);
    assert.equal(r.status, 200, `GET ${p} → ${r.status} ${r.text.slice(0, 200)}`);
    assert.ok(r.json && typeof r.json === 'object', `GET ${p} body is JSON: ${r.text.slice(0, 200)}`);
    return r.json;
  };
  h.state = () => okJson('/state');
  h.memory = () => okJson('/memory');
  // herald's view of /connections (view=herald); h.privGet('/connections...') for the original's.
  h.connections = (query = '') => okJson('/connections?view=herald' + (query ? `&${query}` : ''));
  track('heralds', h);

  // Ready when the private API answers /state and the public listener answers.
  const deadline = Date.now() + 10000;
  for (let i = 0; i < 1000; i++) {
    if (!h.alive()) return h;
    try {
      // Any HTTP answer means the listener is up (401 when the test configures
      // tokens some other way).
      await request(h.priv + '/state', { headers: authHeaders(h.token), timeoutMs: 2000 });
      await request(h.pub + '/', { method: 'OPTIONS', timeoutMs: 2000 });
      h.ready = true;
      return h;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) break;
    await delay(50);
  }
  return h;
}

// startHerald({workers=2, config={}, tokens=['test-token'], extraArgs=[], configFile})
//   configFile: use this existing file instead of writing `config` to a temp file.
export async function startHerald({ workers = 2, config = {}, configFile, tokens = ['test-token'], extraArgs = [] } = {}) {
  if (!fs.existsSync(HERALD_BIN)) {
    throw new Error(`herald binary not found at ${HERALD_BIN} (build it, or set HERALD_BIN)`);
  }
  let h;
  for (let attempt = 0; attempt < 3; attempt++) {
    h = await startOnce({ workers, config, configFile, tokens, extraArgs });
    if (h.alive()) break;
    // A port picked as free may have been taken before herald bound it: retry
    // with fresh ports, but only for that reason.
    if (!/in use|bind|listen/i.test(h.stderr)) break;
  }
  if (!h.alive()) {
    throw new Error(`herald exited during start-up (${JSON.stringify(h.exitInfo)}); stderr:\n${tail(h.stderr)}`);
  }
  if (!h.ready) {
    await h.kill();
    throw new Error(`herald not answering HTTP within 10 s; stderr:\n${tail(h.stderr)}`);
  }
  return h;
}

// publish(h, body, {token, base}) → POST /event on the private API.
export async function publish(h, body, { token = h.token, base = h.priv, headers = {} } = {}) {
  const r = await request(base + '/event', { method: 'POST', headers: { ...authHeaders(token), ...headers }, body });
  return { status: r.status, statusMessage: r.statusMessage, json: r.json, text: r.text, headers: r.headers };
}

// Publishes and asserts 200; returns the reply JSON.
export async function publishOk(h, topics, type, detail, opts) {
  const ep = Array.isArray(topics) ? topics : [topics];
  const e = detail === undefined ? { type } : { type, detail };
  const r = await publish(h, { ep, e }, opts);
  assert.equal(r.status, 200, `publish ${JSON.stringify(ep)} ${type} → ${r.status} ${r.text}`);
  return r.json;
}

export const ID_RE = /^[0-9a-f]+-\d+$/;
export const SECRET_RE = /^[A-Za-z0-9_-]{22}$/;
