// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) on
// a page served from loopback: what every browser test starts with.
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// openPage(html) → { tab, get(expr), close() }: serves `html` on a loopback
// port, launches a fresh headless Chromium profile and opens the page.
// close() stops the browser and the server and removes the profile.
// `args`: extra Chromium flags (the TLS test pins its certificates with one).
export async function openPage(html, { args = [] } = {}) {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-chromium-'));
  const close = async (context) => {
    if (context) await context.close();
    server.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args],
    });
    const tab = await context.newPage();
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    return { tab, context, get: (expr) => tab.evaluate(expr), close: () => close(context) };
  } catch (e) {
    await close(context);
    throw e;
  }
}
