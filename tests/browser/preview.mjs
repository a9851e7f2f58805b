// Serves the page from plugins/web-dashboard/assets with a recorded or synthetic event stream,
// for working on the page without a run:
//   node fixture.mjs > /tmp/events.ndjson && node preview.mjs /tmp/events.ndjson [--delay MS] [--port N]
//   node preview.mjs /tmp/events.ndjson --report OUT.html [--plain]   (writes the report and exits)
// GET /ui/ (the page), /ui/ASSET, /events (SSE: the file's events, MS apart, then the stream
// ends), /report (the report assembled from the same files as assets/README.md describes).
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

const assets = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'plugins', 'web-dashboard', 'assets');
const args = process.argv.slice(2);
const file = args[0];
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const delay = opt('delay', 20);
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
const events = lines.map((l, i) => {
  try {
    return JSON.parse(l);
  } catch (e) {
    throw new Error(`${file}:${i + 1}: ${e.message}`);
  }
});

// The report as the contract in assets/README.md assembles it.
function assemble(eventLines, gzip) {
  const read = (f) => readFileSync(join(assets, f), 'utf8');
  const script = (t) => `<script>${t.replace(/<\/script/gi, '<\\/script')}</script>`;
  const data = gzip
    ? JSON.stringify(gzipSync(Buffer.from(eventLines.join('\n'))).toString('base64'))
    : `[${eventLines.join(',')}]`.replace(/</g, '\\u003c');
  const subs = {
    '<link rel="stylesheet" href="./uPlot.min.css">': `<style>${read('uPlot.min.css')}</style>`,
    '<link rel="stylesheet" href="./dashboard.css">': `<style>${read('dashboard.css')}</style>`,
    '<!-- loadrun:events -->': `<script>window.LOADRUN_EVENTS = ${data};</script>`,
    '<script src="./uPlot.iife.min.js"></script>': script(read('uPlot.iife.min.js')),
    '<script src="./dashboard.js"></script>': script(read('dashboard.js')),
  };
  return read('index.html').split('\n').map((l) => subs[l.trim()] ?? l).join('\n');
}

const reportTo = args.indexOf('--report');
if (reportTo >= 0) {
  writeFileSync(args[reportTo + 1], assemble(lines, !args.includes('--plain')));
  process.exit(0);
}

const types = { html: 'text/html; charset=utf-8', js: 'text/javascript', css: 'text/css' };
const server = createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/') { res.writeHead(302, { location: '/ui/' }); res.end(); return; }
  if (path === '/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let i = 0;
    const next = () => {
      if (i >= events.length) { res.end(); return; }
      const e = events[i];
      i += 1;
      res.write(`${e.event === 'stop' ? 'retry: 2147483647\n' : ''}event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
      setTimeout(next, delay);
    };
    next();
    return;
  }
  if (path === '/report') {
    res.writeHead(200, { 'content-type': types.html });
    res.end(assemble(lines, true));
    return;
  }
  const name = path === '/ui/' ? 'index.html' : path.startsWith('/ui/') ? path.slice(4) : null;
  if (name && /^[\w.-]+$/.test(name)) {
    try {
      const body = readFileSync(join(assets, name));
      res.writeHead(200, { 'content-type': types[name.split('.').pop()] || 'application/octet-stream' });
      res.end(body);
      return;
    } catch { /* 404 below */ }
  }
  res.writeHead(404);
  res.end('not found');
});
server.listen(opt('port', 0), '127.0.0.1', () => {
  process.stderr.write(`web dashboard: http://127.0.0.1:${server.address().port}/ui/\n`);
});
