// Opens the dashboard in Debian's headless Chromium and reports, as one JSON document on stdout,
// what the page shows: status, request count, charts with their points and threshold lines,
// the threshold table, every request the browser made, page errors; screenshots of every tab.
//   node inspect.mjs --url http://127.0.0.1:PORT/ui/ --shots DIR --prefix live
//   node inspect.mjs --url - ...      (the URL is read from stdin once the browser is up)
//   node inspect.mjs --file /path/report.html --shots DIR --prefix report
// --width PX sets the viewport's width (default 1280).
// With --file every request that is not file: or data: is blocked and listed in "blocked".
// Exit 0 when the page was read (the caller judges it), 2 on a usage error, 1 when the browser or
// the page failed.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
// --url - : the URL is the first line of stdin, read once the browser is up, so a short run
// is not over before the browser has started.
const urlFromStdin = opt('url') === '-';
let url = opt('url');
const file = opt('file');
const shots = opt('shots');
const prefix = opt('prefix') || 'page';
// How long the run may take to end (a bound on waiting, not a speed check).
const waitMs = Number(opt('wait-ms') || 120000);
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!url === !file) {
  process.stderr.write('inspect.mjs: give exactly one of --url URL or --file PATH\n');
  process.exit(2);
}

function firstLine(stream) {
  return new Promise((resolve, reject) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) { stream.pause(); resolve(buf.slice(0, i)); }
    });
    stream.on('end', () => (buf ? resolve(buf) : reject(new Error('no URL on stdin'))));
    stream.on('error', reject);
  });
}

const profile = mkdtempSync(join(tmpdir(), 'loadrun-chromium-'));
const result = { requests: [], blocked: [], pageErrors: [], consoleErrors: [], screenshots: [] };
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: Number(opt('width') || 1280), height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  if (urlFromStdin) {
    process.stderr.write('inspect.mjs: browser ready\n');
    url = (await firstLine(process.stdin)).trim();
  }
  const target = url || pathToFileURL(file).href;
  const origin = url ? new URL(url).origin : 'file://';
  await context.route('**/*', (route) => {
    const u = route.request().url();
    const local = u.startsWith('data:') || (file ? u.startsWith('file:') : u.startsWith(origin));
    if (local) return route.continue();
    result.blocked.push(u);
    return route.abort();
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('request', (r) => result.requests.push(r.url()));
  page.on('pageerror', (e) => result.pageErrors.push(String(e && e.message)));
  page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
  await page.goto(target);
  await page.waitForFunction(() => window.loadrunDashboard !== undefined, null, { timeout: 30000 });
  const inspect = () => page.evaluate(() => window.loadrunDashboard.inspect());
  if (url) {
    // Seen while the test still runs: the live page draws points before the end. A page opened
    // after the end (a lingering server) has no such moment: duringRun stays null.
    result.duringRun = await page.waitForFunction(() => {
      const s = window.loadrunDashboard.inspect();
      if (s.loaded) return { ended: true };
      return s.status === 'running' && s.charts.some((c) => c.series.some((x) => x.points > 0)) ? s : false;
    }, null, { timeout: waitMs, polling: 100 }).then((h) => h.jsonValue());
    if (result.duringRun && result.duringRun.ended) result.duringRun = null;
  }
  await page.waitForFunction(() => window.loadrunDashboard.inspect().loaded, null, { timeout: waitMs, polling: 100 });
  if (shots) mkdirSync(shots, { recursive: true });
  const tabs = await page.evaluate(() => window.loadrunDashboard.tabs);
  result.tabs = {};
  for (const tab of tabs) {
    await page.click(`#tabs button[data-tab="${tab}"]`);
    const subtabs = await page.$$eval('.tab:not([hidden]) nav.subtabs button', (bs) => bs.map((b) => b.dataset.subtab));
    for (const sub of (subtabs.length ? subtabs : [null])) {
      if (sub) await page.click(`.tab:not([hidden]) nav.subtabs button[data-subtab="${sub}"]`);
      // Let uPlot lay out before the picture.
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const name = sub ? `${tab}-${sub}` : tab;
      result.tabs[name] = await page.evaluate(() => ({
        // Wider than the viewport means a sideways scroll on a phone.
        pageWidth: document.documentElement.scrollWidth,
        notes: [...document.querySelectorAll('.tab:not([hidden]) .note')].map((n) => n.textContent),
        tables: [...document.querySelectorAll('.tab:not([hidden]) table.grid')].map((t) => ({
          id: t.dataset.table,
          rows: [...t.querySelectorAll('tbody tr')].map((tr) => ({
            data: { ...tr.dataset },
            cells: [...tr.querySelectorAll('td')].map((td) => td.textContent),
          })),
        })),
      }));
      if (shots) {
        const path = join(shots, `${prefix}-${name.replace(/[^\w-]/g, '_')}.png`);
        await page.screenshot({ path, fullPage: true });
        result.screenshots.push(path);
      }
    }
  }
  result.final = await inspect();
  result.headerRequests = await page.textContent('#requests');
  result.download = await page.evaluate(async () => {
    const a = document.getElementById('download');
    const out = { hidden: a.hidden, href: a.getAttribute('href'), fetched: null };
    // Where the link leads, while the server still answers (a lingering one does).
    if (!a.hidden && a.href) {
      try {
        const r = await fetch(a.href);
        const text = await r.text();
        out.fetched = { status: r.status, type: r.headers.get('content-type'), embedsEvents: text.includes('window.LOADRUN_EVENTS') };
      } catch (e) {
        out.fetched = { error: String(e && e.message) };
      }
    }
    return out;
  });
  await context.close();
  context = null;
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (e) {
  process.stderr.write(`inspect.mjs: ${e && e.stack ? e.stack : e}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
