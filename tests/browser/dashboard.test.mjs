// The live dashboard in a real browser: headless Chromium opens
// GET /dashboard with the token in the URL fragment, the page connects to
// /state/stream (fetch + Authorization header), and the "Events per second"
// chart's series grows when events are published. A screenshot is kept as
// a test artifact (HERALD_ARTIFACTS, or docs/dashboard.png with
// HERALD_DASHBOARD_SCREENSHOT=docs).
//
// Run from the repo root: npm ci --prefix tests/browser && node --test tests/browser/
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM } from './lib/browser.mjs';
import { htest, startHerald, publishOk, request, delay, uid, waitFor, REPO_ROOT } from '../integration/lib/herald.mjs';
import { sseOpen } from '../integration/lib/sse_client.mjs';

function screenshotPaths() {
  const out = [];
  const dir = process.env.HERALD_ARTIFACTS || path.join(os.tmpdir(), 'herald-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  out.push(path.join(dir, 'dashboard.png'));
  if (process.env.HERALD_DASHBOARD_SCREENSHOT === 'docs') out.push(path.join(REPO_ROOT, 'docs', 'dashboard.png'));
  return out;
}

htest('browser: /dashboard connects with the token from the fragment and its charts grow as events are published', async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  const h = await startHerald();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const subs = [];
  try {
    const tab = await context.newPage();
    const requested = [];
    tab.on('request', (r) => requested.push(r.url()));
    await tab.goto(`${h.priv}/dashboard#token=${h.token}`);
    const get = (expr) => tab.evaluate(expr);
    await waitFor(() => get('window.heraldDashboard.connected && window.heraldDashboard.snapshots >= 2'),
      { timeout: 15000, what: 'dashboard connected and fed' });
    // The token left the address bar and never went into a URL.
    assert.equal(new URL(tab.url()).hash, '');
    for (const u of requested) assert.ok(!u.includes(h.token), `token in a request URL: ${u}`);

    // Subscribers and publishes for the charts to show.
    const topic = `dash/${uid('t')}`;
    for (let i = 0; i < 3; i++) subs.push(await sseOpen(h, { topic }));
    const before = await get('window.heraldDashboard.series.published.slice(-1)[0]');
    const lenBefore = await get('window.heraldDashboard.series.published_per_s.length');
    let n = 0;
    await waitFor(async () => {
      for (let i = 0; i < 20; i++) await publishOk(h, topic, 'tick', { n: n++ });
      const s = await get('window.heraldDashboard.series');
      return s.published.slice(-1)[0] >= before + 20 && s.published_per_s.some((v) => v > 0)
        && s['latency.p50_ms'].some((v) => v !== null);
    }, { timeout: 20000, interval: 300, what: 'the events-per-second series grows' });
    const series = await get('window.heraldDashboard.series');
    assert.ok(series.published_per_s.length > lenBefore, 'new points were added');
    assert.ok(Math.max(...series.deliveries_per_s.filter((v) => v !== null)) > 0, 'deliveries drawn');
    assert.equal(series['conn.sse'].slice(-1)[0], 3);
    // The top-topics chart lists the topic.
    const last = await get('window.heraldDashboard.last');
    // The page asks for nothing the server lacks (no favicon.ico 404).
    assert.equal(last.rejections.not_found, 0);
    assert.equal(last.top_topics.by_subscribers[0].filter, topic);
    assert.equal(last.top_topics.by_events[0].topic, topic);
    // Something was drawn on the canvases (not a blank page).
    const painted = await get(`[...document.querySelectorAll('canvas')].filter((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i]) return true;
      return false;
    }).length`);
    assert.equal(painted, await get("document.querySelectorAll('canvas').length"));
    // A few more seconds of varied traffic (and a refusal) for the screenshot.
    const until = (await get('window.heraldDashboard.snapshots')) + 8;
    for (let k = 0; (await get('window.heraldDashboard.snapshots')) < until; k++) {
      for (let i = 0; i < 5 + (k % 7) * 4; i++) await publishOk(h, k % 3 ? topic : `${topic}/b`, 'tick', { k });
      if (k % 5 === 0) await request(h.priv + '/state');  // 401: rejections.unauthorized
      await delay(200);
    }
    for (const p of screenshotPaths()) {
      await tab.screenshot({ path: p, fullPage: true });
      console.log(`# dashboard screenshot: ${p}`);
    }
  } finally {
    for (const s of subs) s.close();
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
});

htest('browser: /dashboard without a token asks for one, and the login form connects', async () => {
  const h = await startHerald();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    const tab = await context.newPage();
    await tab.goto(`${h.priv}/dashboard`);
    await tab.waitForSelector('#login.shown', { timeout: 10000 });
    await tab.fill('#token', 'wrong');
    await tab.click('#login button');
    // Polled with evaluate (CDP): the page's CSP forbids the eval that
    // waitForFunction's polling needs.
    const get = (expr) => tab.evaluate(expr);
    await waitFor(() => get("document.getElementById('login-error').textContent.includes('refused')"),
      { timeout: 10000, what: 'the wrong token refused' });
    await tab.fill('#token', h.token);
    await tab.click('#login button');
    await waitFor(() => get('window.heraldDashboard.snapshots >= 1'), { timeout: 10000, what: 'a snapshot' });
    assert.equal(await tab.evaluate("document.getElementById('status').textContent"), 'live');
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
});
