// Writes a synthetic dashboard event stream (NDJSON, ../../plugins/web-dashboard/EVENTS.md) to
// stdout: for driving the page where no run is wanted, e.g. a stream of many endpoints.
//   node fixture.mjs [--periods N] [--endpoints N] [--top N] [--failing]
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const periods = opt('periods', 12);
const endpoints = opt('endpoints', 30);
const topN = opt('top', 20);
const failing = args.includes('--failing');
const periodMs = 1000;
const t0 = 1_765_000_000_000;

const out = [];
const emit = (event, data) => out.push(JSON.stringify({ event, data }));
const trend = (base, n) => ({ count: n, avg: base, min: base / 4, med: base * 0.9, max: base * 4, p90: base * 1.8, p95: base * 2.2, p99: base * 3 });

emit('config', {
  version: '0.1.0', testId: 'fixture', plan: 'fixture plan', started: t0, periodMs,
  plannedMs: periods * periodMs, maxVus: 10,
  scenarios: [{ name: 'default', executor: 'constant-vus', plannedMs: periods * periodMs }],
  thresholds: [
    { metric: 'http_req_duration', expressions: [failing ? 'p(95)<0.001' : 'p(95)<500'], abortOnFail: false },
    { metric: 'http_req_failed', expressions: ['rate<0.5'], abortOnFail: false },
  ],
  tags: {}, groupBy: ['name', 'status', 'scenario', 'group', 'error_code'], topN,
});
const kinds = { counter: ['http_reqs', 'iterations', 'data_received', 'data_sent'], gauge: ['vus', 'vus_max'], rate: ['http_req_failed', 'checks'] };
const metricDecl = {};
for (const [type, names] of Object.entries(kinds)) for (const n of names) metricDecl[n] = { type, contains: n.startsWith('data_') ? 'data' : 'default' };
for (const p of ['duration', 'blocked', 'connecting', 'tls_handshaking', 'sending', 'waiting', 'receiving']) metricDecl[`http_req_${p}`] = { type: 'trend', contains: 'time' };
metricDecl.iteration_duration = { type: 'trend', contains: 'time' };
emit('metric', metricDecl);
emit('start', { time: t0 });

const cum = { reqs: 0, fails: 0, iters: 0, rx: 0, tx: 0, checksP: 0, checksF: 0, perKey: new Map() };
const group = (key, reqs, fails, dur, elapsedS) => ({
  key,
  metrics: {
    http_reqs: { count: reqs, rate: reqs / elapsedS },
    http_req_failed: { rate: reqs ? fails / reqs : 0, passes: fails, fails: reqs - fails },
    http_req_duration: trend(dur, reqs),
  },
});
const topPlusOther = (entries, elapsedS) => {
  entries.sort((a, b) => b[1].reqs - a[1].reqs);
  const list = entries.slice(0, topN).map(([k, v]) => group(k, v.reqs, v.fails, v.dur, elapsedS));
  const rest = entries.slice(topN);
  if (rest.length) {
    const r = rest.reduce((a, [, v]) => ({ reqs: a.reqs + v.reqs, fails: a.fails + v.fails }), { reqs: 0, fails: 0 });
    list.push(group('other', r.reqs, r.fails, 5, elapsedS));
  }
  return list;
};
for (let i = 1; i <= periods; i += 1) {
  const time = t0 + i * periodMs;
  const perKey = new Map();
  let reqs = 0;
  let fails = 0;
  for (let e = 0; e < endpoints; e += 1) {
    const n = 1 + ((e * 7 + i * 3) % 50);
    const f = e % 5 === 0 ? Math.floor(n / 4) : 0;
    perKey.set(`GET http://127.0.0.1/api/item/${e}`, { reqs: n, fails: f, dur: 2 + (e % 9) });
    const c = cum.perKey.get(`GET http://127.0.0.1/api/item/${e}`) || { reqs: 0, fails: 0, dur: 2 + (e % 9) };
    c.reqs += n; c.fails += f;
    cum.perKey.set(`GET http://127.0.0.1/api/item/${e}`, c);
    reqs += n; fails += f;
  }
  const iters = reqs;
  cum.reqs += reqs; cum.fails += fails; cum.iters += iters; cum.rx += reqs * 300; cum.tx += reqs * 80;
  cum.checksP += reqs - fails; cum.checksF += fails;
  const elapsedS = (i * periodMs) / 1000;
  const metrics = (n, nf, it, rx, tx, cp, cf, secs) => ({
    http_reqs: { count: n, rate: n / secs }, iterations: { count: it, rate: it / secs },
    data_received: { count: rx, rate: rx / secs }, data_sent: { count: tx, rate: tx / secs },
    vus: { value: 10, min: 10, max: 10 }, vus_max: { value: 10, min: 10, max: 10 },
    http_req_failed: { rate: nf / n, passes: nf, fails: n - nf },
    checks: { rate: cp / (cp + cf), passes: cp, fails: cf },
    http_req_duration: trend(4 + (i % 3), n), http_req_blocked: trend(0.01, n), http_req_connecting: trend(0.005, n),
    http_req_tls_handshaking: trend(0, n), http_req_sending: trend(0.02, n), http_req_waiting: trend(3.5, n),
    http_req_receiving: trend(0.05, n), iteration_duration: trend(5, it),
  });
  const groups = (m, secs) => ({
    name: topPlusOther([...m.entries()], secs),
    status: [group('200', [...m.values()].reduce((a, v) => a + v.reqs - v.fails, 0), 0, 3, secs),
      group('503', [...m.values()].reduce((a, v) => a + v.fails, 0), [...m.values()].reduce((a, v) => a + v.fails, 0), 9, secs)],
    scenario: [group('default', [...m.values()].reduce((a, v) => a + v.reqs, 0), [...m.values()].reduce((a, v) => a + v.fails, 0), 4, secs)],
    group: [group('', [...m.values()].reduce((a, v) => a + v.reqs, 0), [...m.values()].reduce((a, v) => a + v.fails, 0), 4, secs)],
    error_code: [group('1503', [...m.values()].reduce((a, v) => a + v.fails, 0), [...m.values()].reduce((a, v) => a + v.fails, 0), 9, secs)],
  });
  emit('snapshot', { time, periodMs, metrics: metrics(reqs, fails, iters, reqs * 300, reqs * 80, reqs - fails, fails, periodMs / 1000), groups: groups(perKey, periodMs / 1000) });
  emit('cumulative', { time, periodMs, metrics: metrics(cum.reqs, cum.fails, cum.iters, cum.rx, cum.tx, cum.checksP, cum.checksF, elapsedS), groups: groups(cum.perKey, elapsedS) });
  const p95 = 2.2 * (4 + (i % 3));
  emit('threshold', [
    { metric: 'http_req_duration', expression: failing ? 'p(95)<0.001' : 'p(95)<500', value: p95, ok: !failing },
    { metric: 'http_req_failed', expression: 'rate<0.5', value: cum.fails / cum.reqs, ok: true },
  ]);
  emit('health', [
    { output: 'web-dashboard', state: 'ok', received: cum.reqs * 12, written: cum.reqs * 12, dropped: { queue_full: 0, retries_exhausted: 0, rejected: 0, lost: 0, fatal: 0, shutdown: 0 } },
    { output: 'json', state: 'ok', received: cum.reqs * 12, written: cum.reqs * 12 - i * 5, queued: 0, retries: i, dropped: { queue_full: i * 5, retries_exhausted: 0, rejected: 0, lost: 0, fatal: 0, shutdown: 0 } },
  ]);
}
emit('stop', {
  time: t0 + periods * periodMs, passed: !failing, reason: failing ? 'threshold' : 'completed', durationMs: periods * periodMs,
  summary: {
    metrics: {
      http_reqs: { count: cum.reqs, rate: cum.reqs / periods },
      http_req_duration: { avg: 5, min: 1, med: 4.5, max: 20, 'p(90)': 9, 'p(95)': 11, thresholds: { [failing ? 'p(95)<0.001' : 'p(95)<500']: failing } },
      http_req_failed: { passes: cum.fails, fails: cum.reqs - cum.fails, value: cum.fails / cum.reqs, thresholds: { 'rate<0.5': false } },
      data_received: { count: cum.rx, rate: cum.rx / periods },
    },
    root_group: { name: '', path: '', id: 'd41d8cd98f00b204e9800998ecf8427e', groups: {}, checks: {} },
    text: `  http_reqs......: ${cum.reqs}\n  http_req_duration: avg=5ms\n`,
  },
});
process.stdout.write(`${out.join('\n')}\n`);
