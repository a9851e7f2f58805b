// loadrun dashboard: one page for the live view (Server-Sent Events from ../events) and the
// report (events embedded as window.LOADRUN_EVENTS). Plain ES2020 on purpose: the file is served
// and inlined as it is, with no build step. The event format is ../EVENTS.md.
(() => {
  'use strict';

  // Breakdown charts draw this many keys (plus "other"); more lines than this are unreadable,
  // the tables below the charts list the rest.
  const CHART_KEYS = 10;
  // Table rows shown before "showing N of M": the server already caps keys at top-N per tag,
  // this guards the page against a server configured with a huge top-N.
  const TABLE_ROWS = 100;
  const CHART_HEIGHT = 220;
  const EVENT_NAMES = ['config', 'metric', 'start', 'snapshot', 'cumulative', 'threshold', 'health', 'stop'];
  const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
    '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#ad494a'];
  const PHASES = ['blocked', 'connecting', 'tls_handshaking', 'sending', 'waiting', 'receiving'];
  const DROP_REASONS = ['queue_full', 'retries_exhausted', 'rejected', 'lost', 'fatal', 'shutdown'];
  // k6's error codes (k6 docs, "Error codes"); ranges stand for their unnamed members.
  const ERROR_CODES = {
    1000: 'generic error', 1010: 'non-TCP network error', 1020: 'invalid URL',
    1050: 'request timeout', 1100: 'generic DNS error', 1101: 'no IP for the host',
    1110: 'blacklisted IP', 1111: 'blocked hostname', 1200: 'generic TCP error',
    1201: 'broken pipe', 1202: 'unknown TCP error', 1210: 'dial error', 1211: 'dial timeout',
    1212: 'connection refused', 1213: 'unknown dial error', 1220: 'connection reset by peer',
    1300: 'generic TLS error', 1310: 'unknown certificate authority',
    1311: 'certificate host name mismatch', 1400: 'HTTP 4xx', 1500: 'HTTP 5xx',
    1600: 'generic HTTP/2 error',
  };

  // ---------------------------------------------------------------- formatting

  const num = (v, digits) => {
    if (v == null || !Number.isFinite(v)) return '–';
    return v.toLocaleString('en-US', { maximumFractionDigits: digits });
  };
  // Axis ticks: short enough for the axis (300k, 1.2M).
  const compact = (v) => {
    const a = Math.abs(v);
    if (a >= 1e6) return `${num(v / 1e6, 1)}M`;
    if (a >= 1e4) return `${num(v / 1e3, 0)}k`;
    return num(v, 2);
  };
  const fmt = {
    count: (v) => num(v, 0),
    plain: (v) => num(v, Math.abs(v) < 10 ? 2 : 1),
    rate: (v) => (v == null ? '–' : `${num(v, v < 10 ? 2 : 1)}/s`),
    pct: (v) => (v == null ? '–' : `${num(v * 100, 2)}%`),
    ms: (v) => {
      if (v == null || !Number.isFinite(v)) return '–';
      const a = Math.abs(v);
      if (a === 0) return '0';
      if (a < 1) return `${num(v * 1000, a < 0.01 ? 2 : 0)}µs`;
      if (a < 1000) return `${num(v, a < 10 ? 2 : 1)}ms`;
      if (a < 60000) return `${num(v / 1000, 2)}s`;
      return `${Math.floor(v / 60000)}m${num((v % 60000) / 1000, 0)}s`;
    },
    bytes: (v) => {
      if (v == null || !Number.isFinite(v)) return '–';
      const units = ['B', 'kB', 'MB', 'GB', 'TB'];
      let i = 0;
      let x = v;
      while (Math.abs(x) >= 1000 && i < units.length - 1) { x /= 1000; i += 1; }
      return `${num(x, i === 0 ? 0 : 1)} ${units[i]}`;
    },
    byteRate: (v) => (v == null ? '–' : `${fmt.bytes(v)}/s`),
    duration: (ms) => {
      if (ms == null || !Number.isFinite(ms)) return '–';
      const s = Math.max(0, Math.round(ms / 1000));
      const h = Math.floor(s / 3600);
      const m = Math.floor((s % 3600) / 60);
      const sec = s % 60;
      return h ? `${h}h${String(m).padStart(2, '0')}m${String(sec).padStart(2, '0')}s`
        : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
    },
  };

  // A metric's value formatter from its declared `contains`.
  const unitOf = (name) => {
    const base = name.split('{')[0];
    const m = state.metrics[name] || state.metrics[base];
    if (!m) return 'plain';
    if (m.type === 'rate') return 'pct';
    if (m.contains === 'time') return 'ms';
    if (m.contains === 'data') return 'bytes';
    return m.type === 'counter' ? 'count' : 'plain';
  };

  const stripAnsi = (s) => String(s).replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

  // ---------------------------------------------------------------- state

  const state = {
    mode: window.LOADRUN_EVENTS === undefined ? 'live' : 'report',
    connection: 'connecting',
    events: 0,
    config: null,
    metrics: {},
    startTime: null,
    startSeen: false,
    snapshots: [],
    cumulatives: [],
    thresholds: [], // [{time, list}]
    health: [], // [{time, list}]
    stop: null,
    problems: [],
  };

  const lastCumulative = () => state.cumulatives[state.cumulatives.length - 1] || null;
  const lastTime = () => {
    const c = lastCumulative();
    return c ? c.time : state.startTime;
  };

  function reset() {
    state.events = 0;
    state.config = null;
    state.metrics = {};
    state.startTime = null;
    state.startSeen = false;
    state.snapshots = [];
    state.cumulatives = [];
    state.thresholds = [];
    state.health = [];
    state.stop = null;
    state.problems = [];
  }

  function problem(text) {
    state.problems.push(text);
    console.warn(`loadrun dashboard: ${text}`);
  }

  const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

  // Takes one event; a malformed one is reported by name and position, and skipped.
  function ingest(name, data) {
    const at = state.events + 1;
    if (name === 'config' && state.config) {
      // A reconnecting EventSource gets the whole run replayed from the start.
      reset();
    }
    state.events += 1;
    switch (name) {
      case 'config':
        if (!isObj(data)) return problem(`event ${at} (config): not an object`);
        state.config = data;
        if (state.startTime == null && Number.isFinite(data.started)) state.startTime = data.started;
        break;
      case 'metric':
        if (!isObj(data)) return problem(`event ${at} (metric): not an object`);
        Object.assign(state.metrics, data);
        break;
      case 'start':
        state.startSeen = true;
        if (isObj(data) && Number.isFinite(data.time)) state.startTime = data.time;
        break;
      case 'snapshot':
      case 'cumulative':
        if (!isObj(data) || !Number.isFinite(data.time) || !isObj(data.metrics)) {
          return problem(`event ${at} (${name}): no time or metrics`);
        }
        (name === 'snapshot' ? state.snapshots : state.cumulatives).push(data);
        break;
      case 'threshold':
        if (!Array.isArray(data)) return problem(`event ${at} (threshold): not a list`);
        state.thresholds.push({ time: lastTime(), list: data });
        break;
      case 'health':
        if (!Array.isArray(data)) return problem(`event ${at} (health): not a list`);
        state.health.push({ time: lastTime(), list: data });
        break;
      case 'stop':
        if (!isObj(data)) return problem(`event ${at} (stop): not an object`);
        state.stop = data;
        break;
      default:
        // Unknown events are ignored: the format only grows.
        break;
    }
    scheduleRender();
    return undefined;
  }

  // ---------------------------------------------------------------- values over time

  const mval = (snap, metric, field) => {
    const m = snap && snap.metrics[metric];
    return m && Number.isFinite(m[field]) ? m[field] : null;
  };
  // A counter absent from a period had no samples in it: zero, not a gap.
  const counterRate = (snap, metric) => {
    const m = snap.metrics[metric];
    return m && Number.isFinite(m.rate) ? m.rate : 0;
  };
  const groupOf = (snap, tag, key) => {
    const list = snap && snap.groups && snap.groups[tag];
    if (!Array.isArray(list)) return null;
    return list.find((g) => g && g.key === key) || null;
  };
  const gval = (snap, tag, key, metric, field) => {
    const g = groupOf(snap, tag, key);
    const m = g && g.metrics && g.metrics[metric];
    return m && Number.isFinite(m[field]) ? m[field] : null;
  };
  // Trend percentiles arrive as p90/p95/p99; threshold expressions write p(95).
  const fieldOfAgg = (agg) => {
    const p = /^p\((\d+(?:\.\d+)?)\)$/.exec(agg);
    return p ? `p${p[1].replace('.', '_')}` : agg;
  };

  // `p(95)<200` → {agg:'p(95)', field:'p95', op:'<', limit:200}; null for what a line cannot show.
  function parseExpression(expr) {
    const m = /^\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/i.exec(expr);
    if (!m) return null;
    return { agg: m[1], field: fieldOfAgg(m[1]), op: m[2], limit: Number(m[3]) };
  }

  const latestThresholds = () => {
    const last = state.thresholds[state.thresholds.length - 1];
    return last ? last.list : [];
  };

  // Every declared threshold with its latest verdict (config declares, threshold events judge).
  function thresholdRows() {
    const rows = [];
    const verdicts = latestThresholds();
    const declared = (state.config && Array.isArray(state.config.thresholds)) ? state.config.thresholds : [];
    const seen = new Set();
    for (const t of declared) {
      for (const expression of (t.expressions || [])) {
        const v = verdicts.find((x) => x.metric === t.metric && x.expression === expression);
        rows.push({ metric: t.metric, expression, abortOnFail: !!t.abortOnFail, value: v ? v.value : null, ok: v ? v.ok : null });
        seen.add(`${t.metric}\u0000${expression}`);
      }
    }
    for (const v of verdicts) {
      if (!seen.has(`${v.metric}\u0000${v.expression}`)) {
        rows.push({ metric: v.metric, expression: v.expression, abortOnFail: false, value: v.value, ok: v.ok });
      }
    }
    // The final verdict is the summary's when the run has ended.
    const sm = state.stop && state.stop.summary && state.stop.summary.metrics;
    if (sm) {
      for (const r of rows) {
        const th = sm[r.metric] && sm[r.metric].thresholds;
        if (th && typeof th[r.expression] === 'boolean') r.ok = !th[r.expression];
      }
    }
    return rows;
  }

  // Threshold lines for a chart of `metric` whose series show the given aggregations.
  function linesFor(metric, aggs) {
    if (!metric) return [];
    return thresholdRows()
      .map((r) => ({ r, p: r.metric === metric ? parseExpression(r.expression) : null }))
      .filter(({ p }) => p && aggs.includes(p.field))
      .map(({ r, p }) => ({ value: p.limit, label: `${r.expression}`, ok: r.ok }));
  }

  // ---------------------------------------------------------------- chart panels

  const charts = new Map(); // id → {uplot, sig, panel, spec}
  const dpr = () => window.devicePixelRatio || 1;

  function thresholdPlugin(entry) {
    return {
      hooks: {
        draw: [(u) => {
          const lines = entry.lines || [];
          if (!lines.length) return;
          const { ctx } = u;
          const { left, top, width, height } = u.bbox;
          for (const l of lines) {
            let y = Math.round(u.valToPos(l.value, 'y', true));
            const above = y < top - 1;
            if (y > top + height + 1) continue;
            if (above) y = top + 1;
            const color = l.ok === false ? '#d32f2f' : l.ok === true ? '#2e7d32' : '#777';
            ctx.save();
            ctx.strokeStyle = color;
            ctx.fillStyle = color;
            ctx.lineWidth = 2 * dpr();
            ctx.setLineDash(above ? [2 * dpr(), 4 * dpr()] : [6 * dpr(), 4 * dpr()]);
            ctx.beginPath();
            ctx.moveTo(left, y);
            ctx.lineTo(left + width, y);
            ctx.stroke();
            ctx.font = `${11 * dpr()}px system-ui, sans-serif`;
            ctx.textAlign = 'right';
            ctx.textBaseline = 'bottom';
            const mark = l.ok === false ? '✗' : l.ok === true ? '✓' : '?';
            ctx.textBaseline = above ? 'top' : 'bottom';
            ctx.fillText(`${mark} ${l.label}${above ? ' (above the chart)' : ''}`, left + width - 4 * dpr(), above ? y + 3 * dpr() : y - 2 * dpr());
            ctx.restore();
          }
        }],
      },
    };
  }

  function panelElement(container, spec) {
    const panel = document.createElement('section');
    panel.className = 'panel';
    panel.dataset.chart = spec.id;
    const h = document.createElement('h3');
    h.textContent = spec.title;
    const chips = document.createElement('span');
    chips.className = 'chips';
    h.appendChild(chips);
    panel.appendChild(h);
    const body = document.createElement('div');
    body.className = 'chart';
    panel.appendChild(body);
    const empty = document.createElement('div');
    empty.className = 'empty';
    empty.textContent = 'no data yet';
    panel.appendChild(empty);
    container.appendChild(panel);
    return panel;
  }

  // spec: {id, title, unit, metric?, aggs?, series:[{label, values: number|null[]}], xs, lines?}
  function drawChart(container, spec) {
    let entry = charts.get(spec.id);
    if (entry && !entry.panel.isConnected) {
      entry.uplot.destroy();
      charts.delete(spec.id);
      entry = null;
    }
    if (!entry) {
      entry = { panel: panelElement(container, spec), uplot: null, sig: '', lines: [], spec };
      charts.set(spec.id, entry);
    }
    entry.spec = spec;
    entry.lines = spec.lines || linesFor(spec.metric, spec.aggs || []);
    const chips = entry.panel.querySelector('.chips');
    chips.textContent = '';
    for (const l of entry.lines) {
      const c = document.createElement('span');
      c.className = `chip ${l.ok === false ? 'fail' : l.ok === true ? 'pass' : ''}`;
      c.dataset.ok = String(l.ok);
      c.textContent = `${l.ok === false ? '✗' : l.ok === true ? '✓' : '?'} ${l.label}`;
      chips.appendChild(c);
    }
    entry.panel.dataset.thresholds = entry.lines.map((l) => `${l.label}:${l.ok}`).join(';');
    const hasData = spec.xs.length > 0 && spec.series.some((s) => s.values.some((v) => v != null));
    entry.panel.classList.toggle('nodata', !hasData);
    const data = [spec.xs, ...spec.series.map((s) => s.values)];
    const sig = `${spec.unit}|${spec.series.map((s) => s.label).join('\u0000')}`;
    const body = entry.panel.querySelector('.chart');
    const width = Math.max(240, Math.floor(body.clientWidth || container.clientWidth || 600));
    if (entry.uplot && entry.sig === sig) {
      if (entry.uplot.width !== width) entry.uplot.setSize({ width, height: CHART_HEIGHT });
      entry.uplot.setData(data);
      return entry;
    }
    if (entry.uplot) entry.uplot.destroy();
    const f = fmt[spec.unit] || fmt.plain;
    // Canvas colours follow the page's light or dark scheme (dashboard.css).
    const css = getComputedStyle(document.documentElement);
    const theme = {
      axis: css.getPropertyValue('--axis').trim() || '#555',
      grid: css.getPropertyValue('--grid').trim() || '#eee',
    };
    // Axis ticks of a count may fall between integers (2.5 VUs): never rounded into a lie.
    const tick = spec.unit === 'count' || spec.unit === 'plain' ? compact
      : spec.unit === 'rate' ? (v) => `${compact(v)}/s` : f;
    const opts = {
      width,
      height: CHART_HEIGHT,
      cursor: { drag: { x: true, y: false } },
      scales: {
        x: { time: true },
        y: {
          range: (u, min, max) => {
            let lo = Math.min(0, min == null ? 0 : min);
            let hi = max == null ? 1 : max;
            // A limit far above the data would flatten it: such a line is drawn as a marker
            // at the top edge instead (thresholdPlugin).
            for (const l of entry.lines) {
              if (l.value <= Math.max(hi, 0) * 3 || hi <= 0) { lo = Math.min(lo, l.value); hi = Math.max(hi, l.value); }
            }
            if (spec.unit === 'pct') hi = Math.max(hi, 0.01);
            if (hi <= lo) hi = lo + 1;
            return [lo, hi + (hi - lo) * 0.08];
          },
        },
      },
      axes: [
        { stroke: theme.axis, grid: { stroke: theme.grid }, ticks: { stroke: theme.grid } },
        { stroke: theme.axis, grid: { stroke: theme.grid }, ticks: { stroke: theme.grid }, size: 72, values: (u, splits) => splits.map((v) => tick(v)) },
      ],
      series: [
        { value: (u, v) => (v == null ? '–' : new Date(v * 1000).toLocaleTimeString()) },
        ...spec.series.map((s, i) => ({
          label: s.label,
          stroke: s.color || PALETTE[i % PALETTE.length],
          width: 1.5,
          spanGaps: false,
          value: (u, v) => f(v),
        })),
      ],
      plugins: [thresholdPlugin(entry)],
    };
    entry.uplot = new uPlot(opts, data, body);
    entry.sig = sig;
    return entry;
  }

  const xsOf = (list) => list.map((s) => s.time / 1000);

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('data-')) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }

  // A sortable table, capped at TABLE_ROWS. cols: [{key, title, fmt?, num?}]
  const sorts = {};
  function table(id, cols, rows, defaultSort) {
    const sort = sorts[id] || (sorts[id] = { key: defaultSort || cols[0].key, desc: !!defaultSort });
    const sorted = rows.slice().sort((a, b) => {
      // "other" folds many keys together: it stays last whatever the order.
      if ((a.rowClass === 'other') !== (b.rowClass === 'other')) return a.rowClass === 'other' ? 1 : -1;
      const x = a[sort.key];
      const y = b[sort.key];
      const c = (typeof x === 'number' || typeof y === 'number')
        ? (x == null ? -Infinity : x) - (y == null ? -Infinity : y)
        : String(x).localeCompare(String(y));
      return sort.desc ? -c : c;
    });
    const t = el('table', { class: 'grid', 'data-table': id });
    const head = el('tr');
    for (const c of cols) {
      const th = el('th', { text: c.title + (sort.key === c.key ? (sort.desc ? ' ▾' : ' ▴') : ''), class: c.num ? 'num' : '' });
      th.addEventListener('click', () => {
        if (sort.key === c.key) sort.desc = !sort.desc; else { sort.key = c.key; sort.desc = !!c.num; }
        renderNow();
      });
      head.append(th);
    }
    t.append(el('thead', {}, head));
    const body = el('tbody');
    for (const r of sorted.slice(0, TABLE_ROWS)) {
      const tr = el('tr', { class: r.rowClass || '' });
      if (r.rowData) for (const [k, v] of Object.entries(r.rowData)) tr.setAttribute(`data-${k}`, v);
      for (const c of cols) {
        const v = r[c.key];
        tr.append(el('td', { class: `${c.num ? 'num' : ''} ${(c.cls && c.cls(r)) || ''}`, text: c.fmt ? c.fmt(v, r) : (v == null ? '–' : String(v)) }));
      }
      body.append(tr);
    }
    t.append(body);
    const wrap = el('div', { class: 'tablewrap' }, t);
    if (sorted.length > TABLE_ROWS) wrap.append(el('p', { class: 'note', text: `showing ${TABLE_ROWS} of ${sorted.length} rows` }));
    if (!sorted.length) wrap.append(el('p', { class: 'note', text: 'nothing yet' }));
    return wrap;
  }

  // A section whose charts persist across renders and whose other content is rebuilt.
  function section(root, id, title) {
    let s = root.querySelector(`section.block[data-block="${id}"]`);
    if (!s) {
      s = el('section', { class: 'block', 'data-block': id });
      if (title) s.append(el('h2', { text: title }));
      s.append(el('div', { class: 'charts' }), el('div', { class: 'content' }));
      root.append(s);
    }
    return { charts: s.querySelector('.charts'), content: s.querySelector('.content') };
  }

  const setContent = (node, ...children) => { node.replaceChildren(...children.filter((c) => c != null)); };

  // ---------------------------------------------------------------- tabs

  const trendSeries = (list, metric, fields) => fields.map((f) => ({
    label: f === 'avg' ? 'avg' : f.replace(/^p(\d+)$/, 'p($1)'),
    values: list.map((s) => mval(s, metric, f)),
  }));

  function renderOverview(root) {
    const s = state.snapshots;
    const xs = xsOf(s);
    const { charts: c, content } = section(root, 'overview');
    const scenarios = (state.config && Array.isArray(state.config.scenarios)) ? state.config.scenarios : [];
    const perScenario = groupRows('scenario');
    setContent(content, scenarios.length ? el('h2', { text: 'Scenarios' }) : null, scenarios.length ? table('scenarios', [
      { key: 'name', title: 'scenario' },
      { key: 'executor', title: 'executor' },
      { key: 'planned', title: 'planned', num: true, fmt: fmt.duration },
      { key: 'count', title: 'requests', num: true, fmt: fmt.count },
      { key: 'iterations', title: 'iterations', num: true, fmt: fmt.count },
    ], scenarios.filter(isObj).map((sc) => {
      const g = perScenario.find((r) => r.key === sc.name) || {};
      return { name: String(sc.name), executor: String(sc.executor || ''), planned: Number.isFinite(sc.plannedMs) ? sc.plannedMs : null, count: g.count ?? null, iterations: g.iterations ?? null, rowData: { scenario: String(sc.name) } };
    })) : null);
    drawChart(c, { id: 'reqs', title: 'Requests and iterations per second', unit: 'rate', metric: 'http_reqs', aggs: ['rate'], xs,
      series: [
        { label: 'http_reqs', values: s.map((x) => counterRate(x, 'http_reqs')) },
        { label: 'iterations', values: s.map((x) => counterRate(x, 'iterations')) },
      ] });
    drawChart(c, { id: 'vus', title: 'Virtual users', unit: 'count', metric: 'vus', aggs: ['value'], xs,
      series: [
        { label: 'vus', values: s.map((x) => mval(x, 'vus', 'value')) },
        { label: 'vus_max', values: s.map((x) => mval(x, 'vus_max', 'value')) },
      ] });
    drawChart(c, { id: 'duration', title: 'Request duration (http_req_duration)', unit: 'ms', metric: 'http_req_duration',
      aggs: ['avg', 'p90', 'p95', 'p99', 'med', 'min', 'max'], xs,
      series: trendSeries(s, 'http_req_duration', ['avg', 'p90', 'p95', 'p99']) });
    drawChart(c, { id: 'failed', title: 'Failed requests (http_req_failed)', unit: 'pct', metric: 'http_req_failed', aggs: ['rate'], xs,
      series: [{ label: 'failed', color: '#d62728', values: s.map((x) => mval(x, 'http_req_failed', 'rate')) }] });
    drawChart(c, { id: 'data', title: 'Data received and sent', unit: 'byteRate', xs,
      series: [
        { label: 'data_received', values: s.map((x) => counterRate(x, 'data_received')) },
        { label: 'data_sent', values: s.map((x) => counterRate(x, 'data_sent')) },
      ] });
    const checkRate = (x, field) => {
      const m = x.metrics.checks;
      const secs = (x.periodMs || (state.config && state.config.periodMs) || 1000) / 1000;
      return m && Number.isFinite(m[field]) ? m[field] / secs : 0;
    };
    drawChart(c, { id: 'checks', title: 'Checks per second', unit: 'rate', metric: 'checks', aggs: [], xs,
      series: [
        { label: 'passed', color: '#2ca02c', values: s.map((x) => checkRate(x, 'passes')) },
        { label: 'failed', color: '#d62728', values: s.map((x) => checkRate(x, 'fails')) },
      ] });
  }

  function renderTimings(root) {
    const s = state.snapshots;
    const xs = xsOf(s);
    const { charts: c } = section(root, 'timings');
    drawChart(c, { id: 'phases-avg', title: 'HTTP timing phases (avg)', unit: 'ms', xs,
      series: PHASES.map((p) => ({ label: p, values: s.map((x) => mval(x, `http_req_${p}`, 'avg')) })) });
    for (const p of PHASES) {
      const metric = `http_req_${p}`;
      drawChart(c, { id: `phase-${p}`, title: metric, unit: 'ms', metric, aggs: ['avg', 'p90', 'p95', 'p99', 'med', 'min', 'max'], xs,
        series: trendSeries(s, metric, ['avg', 'p95', 'p99']) });
    }
    drawChart(c, { id: 'iteration-duration', title: 'iteration_duration', unit: 'ms', metric: 'iteration_duration',
      aggs: ['avg', 'p90', 'p95', 'p99', 'med', 'min', 'max'], xs,
      series: trendSeries(s, 'iteration_duration', ['avg', 'p95', 'p99']) });
  }

  // The keys of a tag in the latest cumulative, busiest first.
  function groupRows(tag) {
    const c = lastCumulative();
    const list = c && c.groups && Array.isArray(c.groups[tag]) ? c.groups[tag] : [];
    return list.filter((g) => g && typeof g.key === 'string').map((g) => {
      const m = g.metrics || {};
      const reqs = m.http_reqs || {};
      const dur = m.http_req_duration || {};
      const failed = m.http_req_failed || {};
      const checks = m.checks || {};
      const iters = m.iterations || {};
      return {
        key: keyLabel(tag, g.key),
        count: Number.isFinite(reqs.count) ? reqs.count : null,
        rate: Number.isFinite(reqs.rate) ? reqs.rate : null,
        failed: Number.isFinite(failed.rate) ? failed.rate : null,
        avg: Number.isFinite(dur.avg) ? dur.avg : null,
        p95: Number.isFinite(dur.p95) ? dur.p95 : null,
        p99: Number.isFinite(dur.p99) ? dur.p99 : null,
        checks: Number.isFinite(checks.rate) ? checks.rate : null,
        iterations: Number.isFinite(iters.count) ? iters.count : null,
        rowClass: g.key === 'other' ? 'other' : '',
        rowData: { key: g.key },
      };
    }).sort((a, b) => (b.count || 0) - (a.count || 0));
  }

  // The root group and an untagged request have an empty key.
  const keyLabel = (tag, key) => (key === '' ? (tag === 'group' ? '(root group)' : '(none)') : key);

  function chartKeys(tag) {
    const rows = groupRows(tag);
    const keys = rows.filter((r) => r.key !== 'other').slice(0, CHART_KEYS).map((r) => r.key);
    if (rows.some((r) => r.key === 'other')) keys.push('other');
    return keys;
  }

  function groupCharts(container, tag, idPrefix) {
    const s = state.snapshots;
    const xs = xsOf(s);
    const keys = chartKeys(tag);
    const perKey = (metric, field, zero) => keys.map((k) => ({
      label: keyLabel(tag, k),
      values: s.map((x) => {
        const v = gval(x, tag, k, metric, field);
        return v == null && zero ? 0 : v;
      }),
    }));
    drawChart(container, { id: `${idPrefix}-reqs`, title: `Requests per second by ${tag}`, unit: 'rate', xs, series: perKey('http_reqs', 'rate', true) });
    drawChart(container, { id: `${idPrefix}-p95`, title: `http_req_duration p(95) by ${tag}`, unit: 'ms', xs, series: perKey('http_req_duration', 'p95', false) });
    drawChart(container, { id: `${idPrefix}-failed`, title: `Failed requests by ${tag}`, unit: 'pct', xs, series: perKey('http_req_failed', 'rate', false) });
  }

  const GROUP_COLS = [
    { key: 'key', title: 'key' },
    { key: 'count', title: 'requests', num: true, fmt: fmt.count },
    { key: 'rate', title: 'rate', num: true, fmt: fmt.rate },
    { key: 'failed', title: 'failed', num: true, fmt: fmt.pct, cls: (r) => (r.failed > 0 ? 'bad' : '') },
    { key: 'avg', title: 'avg', num: true, fmt: fmt.ms },
    { key: 'p95', title: 'p(95)', num: true, fmt: fmt.ms },
    { key: 'p99', title: 'p(99)', num: true, fmt: fmt.ms },
    { key: 'checks', title: 'checks', num: true, fmt: fmt.pct },
  ];

  let breakdownTag = null;
  function breakdownTags() {
    const tags = (state.config && Array.isArray(state.config.groupBy)) ? state.config.groupBy.slice() : [];
    const c = lastCumulative();
    if (c && c.groups) for (const t of Object.keys(c.groups)) if (!tags.includes(t)) tags.push(t);
    return tags.filter((t) => t !== 'error_code');
  }

  function renderBreakdown(root) {
    const tags = breakdownTags();
    if (!tags.includes(breakdownTag)) breakdownTag = tags[0] || null;
    let nav = root.querySelector('nav.subtabs');
    if (!nav) { nav = el('nav', { class: 'subtabs' }); root.append(nav); }
    setContent(nav, ...tags.map((t) => {
      const b = el('button', { type: 'button', text: t === 'name' ? 'name / url' : t, class: t === breakdownTag ? 'active' : '', 'data-subtab': t });
      b.addEventListener('click', () => { breakdownTag = t; renderNow(); });
      return b;
    }));
    for (const s of root.querySelectorAll('section.block')) {
      s.hidden = s.dataset.block !== `by-${breakdownTag}`;
    }
    if (!breakdownTag) return;
    const sec = section(root, `by-${breakdownTag}`);
    groupCharts(sec.charts, breakdownTag, `by-${breakdownTag}`);
    setContent(sec.content, el('h2', { text: `Per ${breakdownTag === 'name' ? 'endpoint' : breakdownTag} (since the start)` }),
      table(`by-${breakdownTag}`, GROUP_COLS, groupRows(breakdownTag), 'count'));
  }

  function renderThresholds(root) {
    const rows = thresholdRows();
    const { charts: c, content } = section(root, 'thresholds');
    setContent(content, el('h2', { text: 'Thresholds' }), table('thresholds', [
      { key: 'metric', title: 'metric' },
      { key: 'expression', title: 'expression' },
      { key: 'value', title: 'current', num: true, fmt: (v, r) => (v == null ? '–' : (fmt[unitOfAgg(r)] || fmt.plain)(v)) },
      { key: 'verdict', title: 'result', cls: (r) => (r.ok === false ? 'bad' : r.ok === true ? 'good' : '') },
      { key: 'abort', title: 'abortOnFail' },
    ], rows.map((r) => ({ ...r, verdict: r.ok === false ? 'failed' : r.ok === true ? 'passed' : 'pending', abort: r.abortOnFail ? 'yes' : '', rowClass: r.ok === false ? 'fail' : r.ok === true ? 'pass' : '', rowData: { ok: String(r.ok), metric: r.metric, expression: r.expression } }))));
    // One chart per threshold: its judged value over time against its limit.
    rows.forEach((r, i) => {
      const p = parseExpression(r.expression);
      const xs = state.thresholds.map((t) => t.time / 1000);
      const values = state.thresholds.map((t) => {
        const v = t.list.find((x) => x.metric === r.metric && x.expression === r.expression);
        return v && Number.isFinite(v.value) ? v.value : null;
      });
      drawChart(c, { id: `threshold-${i}`, title: `${r.metric}: ${r.expression}`, unit: unitOfAgg(r), xs,
        series: [{ label: p ? p.agg : 'value', values }],
        lines: p ? [{ value: p.limit, label: r.expression, ok: r.ok }] : [] });
    });
    if (!rows.length) setContent(content, el('h2', { text: 'Thresholds' }), el('p', { class: 'note', text: 'This test declares no thresholds.' }));
  }

  function unitOfAgg(r) {
    const p = parseExpression(r.expression);
    if (p && p.agg === 'count') return unitOf(r.metric) === 'bytes' ? 'bytes' : 'count';
    if (p && p.agg === 'rate') {
      const m = state.metrics[r.metric] || state.metrics[r.metric.split('{')[0]];
      if (m && m.type === 'counter') return m.contains === 'data' ? 'byteRate' : 'rate';
    }
    return unitOf(r.metric);
  }

  function renderErrors(root) {
    const statusRows = groupRows('status');
    const total = statusRows.reduce((a, r) => a + (r.count || 0), 0);
    const st = section(root, 'status', 'HTTP status codes');
    groupCharts(st.charts, 'status', 'status');
    setContent(st.content, table('status', [
      { key: 'key', title: 'status' },
      { key: 'count', title: 'requests', num: true, fmt: fmt.count },
      { key: 'share', title: 'share', num: true, fmt: fmt.pct },
      { key: 'p95', title: 'p(95)', num: true, fmt: fmt.ms },
    ], statusRows.map((r) => ({ ...r, share: total ? (r.count || 0) / total : null, rowClass: /^[45]/.test(r.key) || r.key === '0' ? 'bad' : r.rowClass })), 'count'));
    const codes = groupRows('error_code');
    const ec = section(root, 'error-codes', 'k6 error codes');
    if (codes.length) groupCharts(ec.charts, 'error_code', 'error-code');
    setContent(ec.content, codes.length ? table('error-codes', [
      { key: 'key', title: 'code' },
      { key: 'meaning', title: 'meaning' },
      { key: 'count', title: 'requests', num: true, fmt: fmt.count },
      { key: 'rate', title: 'rate', num: true, fmt: fmt.rate },
    ], codes.map((r) => ({ ...r, meaning: errorMeaning(r.key) })), 'count') : el('p', { class: 'note', text: 'No request carried an error code.' }));
  }

  function errorMeaning(code) {
    const n = Number(code);
    if (ERROR_CODES[n]) return ERROR_CODES[n];
    if (n > 1400 && n < 1500) return 'HTTP 4xx';
    if (n > 1500 && n < 1600) return 'HTTP 5xx';
    if (n >= 1600 && n < 1700) return 'HTTP/2 error';
    return '';
  }

  function renderOutputs(root) {
    const latest = state.health[state.health.length - 1];
    const list = latest ? latest.list : [];
    const dropped = (o) => DROP_REASONS.reduce((a, k) => a + (o.dropped && Number.isFinite(o.dropped[k]) ? o.dropped[k] : 0), 0);
    const t = section(root, 'outputs-table', 'Outputs');
    setContent(t.content, el('p', { class: 'note', text: 'Every output of the run: samples received, written, queued and dropped by reason (received = written + queued + dropped), and retries. The charts show the same counts per second.' }),
      table('outputs', [
        { key: 'output', title: 'output' },
        { key: 'state', title: 'state', cls: (r) => (r.state === 'ok' ? 'good' : 'bad') },
        { key: 'received', title: 'received', num: true, fmt: fmt.count },
        { key: 'written', title: 'written', num: true, fmt: fmt.count },
        { key: 'queued', title: 'queued', num: true, fmt: fmt.count },
        { key: 'dropped', title: 'dropped', num: true, fmt: fmt.count, cls: (r) => (r.dropped > 0 ? 'bad' : '') },
        { key: 'reasons', title: 'dropped by reason' },
        { key: 'retries', title: 'retries', num: true, fmt: fmt.count },
      ], list.map((o) => ({
        output: String(o.output), state: String(o.state), received: o.received, written: o.written, dropped: dropped(o),
        queued: Number.isFinite(o.queued) ? o.queued : null, retries: Number.isFinite(o.retries) ? o.retries : null,
        reasons: DROP_REASONS.filter((k) => o.dropped && o.dropped[k] > 0).map((k) => `${k}: ${fmt.count(o.dropped[k])}`).join(', ') || '–',
        rowData: { output: String(o.output) },
      }))));
    const xs = state.health.map((h) => h.time / 1000);
    const names = [];
    for (const h of state.health) for (const o of h.list) if (o && !names.includes(o.output)) names.push(o.output);
    const c = section(root, 'outputs-charts', 'Over time');
    for (const name of names) {
      // The counts only grow; their change per second shows when an output falls behind.
      const series = (f) => state.health.map((h, i) => {
        const o = h.list.find((x) => x.output === name);
        const prev = i > 0 ? state.health[i - 1] : null;
        const p = prev ? prev.list.find((x) => x.output === name) : null;
        const since = prev ? prev.time : state.startTime;
        const secs = since != null ? (h.time - since) / 1000 : 0;
        if (!o || !Number.isFinite(f(o)) || secs <= 0) return null;
        const before = p && Number.isFinite(f(p)) ? f(p) : 0;
        return Math.max(0, f(o) - before) / secs;
      });
      const reasons = DROP_REASONS.filter((k) => state.health.some((h) => h.list.some((o) => o.output === name && o.dropped && o.dropped[k] > 0)));
      drawChart(c.charts, { id: `output-${name}`, title: `${name}: samples per second`, unit: 'rate', xs,
        series: [
          { label: 'received', values: series((o) => o.received) },
          { label: 'written', values: series((o) => o.written) },
          ...(state.health.some((h) => h.list.some((o) => o.output === name && o.retries > 0))
            ? [{ label: 'retries', color: '#9467bd', values: series((o) => (Number.isFinite(o.retries) ? o.retries : NaN)) }] : []),
          ...reasons.map((k, i) => ({ label: `dropped: ${k}`, color: ['#d62728', '#ff7f0e', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'][i], values: series((o) => (o.dropped ? o.dropped[k] : NaN)) })),
        ] });
    }
  }

  function summaryValues(name, v) {
    const u = unitOf(name);
    const f = fmt[u] || fmt.plain;
    const parts = [];
    // The summary's own order (k6's), whatever order the JSON object came in.
    const order = ['count', 'rate', 'value', 'passes', 'fails', 'avg', 'min', 'med', 'max'];
    const rank = (k) => {
      const i = order.indexOf(k);
      if (i >= 0) return i;
      const p = /^p\((\d+(?:\.\d+)?)\)$/.exec(k);
      return p ? order.length + Number(p[1]) / 100 : order.length + 2;
    };
    const entries = Object.entries(v).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
    for (const [k, x] of entries) {
      if (k === 'thresholds' || typeof x !== 'number') continue;
      let shown;
      if (k === 'count') shown = u === 'bytes' ? fmt.bytes(x) : fmt.count(x);
      else if (k === 'rate') shown = u === 'bytes' ? fmt.byteRate(x) : fmt.rate(x);
      else if (k === 'passes' || k === 'fails') shown = fmt.count(x);
      else if (k === 'value' && u === 'pct') shown = fmt.pct(x);
      else shown = f(x);
      parts.push(`${k}=${shown}`);
    }
    return parts.join('  ');
  }

  function renderSummary(root) {
    const sec = section(root, 'summary');
    const stop = state.stop;
    if (!stop) {
      setContent(sec.content, el('p', { class: 'note', text: 'The end-of-test summary appears here when the test ends.' }));
      return;
    }
    const summary = isObj(stop.summary) ? stop.summary : {};
    const metrics = isObj(summary.metrics) ? summary.metrics : {};
    const rows = Object.keys(metrics).sort().map((name) => {
      const v = isObj(metrics[name]) ? metrics[name] : {};
      const th = isObj(v.thresholds) ? Object.entries(v.thresholds) : [];
      return {
        name,
        values: summaryValues(name, v),
        thresholds: th.map(([e, failed]) => `${failed ? '✗' : '✓'} ${e}`).join('  ') || '',
        rowClass: th.some(([, failed]) => failed) ? 'fail' : '',
        rowData: { metric: name },
      };
    });
    // Every check of every group (k6's root_group tree), named by its group path.
    const checks = [];
    const walk = (g, depth) => {
      if (!isObj(g) || depth > 64) return;
      for (const c of Object.values(isObj(g.checks) ? g.checks : {})) {
        if (!isObj(c)) continue;
        const passes = Number.isFinite(c.passes) ? c.passes : 0;
        const fails = Number.isFinite(c.fails) ? c.fails : 0;
        const path = g.path ? `${g.path} › ${c.name}` : String(c.name);
        checks.push({ path, passes, fails, rate: passes + fails ? passes / (passes + fails) : null, rowClass: fails ? 'fail' : '', rowData: { check: path } });
      }
      for (const sub of Object.values(isObj(g.groups) ? g.groups : {})) walk(sub, depth + 1);
    };
    walk(summary.root_group, 0);
    setContent(sec.content,
      el('p', { class: `verdict ${stop.passed ? 'good' : 'bad'}`, text: `${stop.passed ? 'Passed' : 'Failed'} (${stop.reason || 'ended'}) after ${fmt.duration(stop.durationMs)}` }),
      el('h2', { text: 'Metrics' }),
      table('summary', [
        { key: 'name', title: 'metric' },
        { key: 'values', title: 'values' },
        { key: 'thresholds', title: 'thresholds', cls: (r) => (r.rowClass === 'fail' ? 'bad' : '') },
      ], rows),
      checks.length ? el('h2', { text: 'Checks' }) : null,
      checks.length ? table('checks', [
        { key: 'path', title: 'check' },
        { key: 'passes', title: 'passed', num: true, fmt: fmt.count },
        { key: 'fails', title: 'failed', num: true, fmt: fmt.count, cls: (r) => (r.fails > 0 ? 'bad' : '') },
        { key: 'rate', title: 'success', num: true, fmt: fmt.pct },
      ], checks) : null,
      typeof summary.text === 'string' ? el('h2', { text: 'Text summary' }) : null,
      typeof summary.text === 'string' ? el('pre', { class: 'text', text: stripAnsi(summary.text) }) : null);
  }

  const TABS = [
    { id: 'overview', title: 'Overview', render: renderOverview },
    { id: 'timings', title: 'Timings', render: renderTimings },
    { id: 'breakdown', title: 'Breakdown', render: renderBreakdown },
    { id: 'thresholds', title: 'Thresholds', render: renderThresholds },
    { id: 'errors', title: 'Errors', render: renderErrors },
    { id: 'outputs', title: 'Outputs', render: renderOutputs },
    { id: 'summary', title: 'Summary', render: renderSummary },
  ];
  let activeTab = (location.hash || '').replace('#', '');
  if (!TABS.some((t) => t.id === activeTab)) activeTab = 'overview';

  function buildTabs() {
    const nav = document.getElementById('tabs');
    const main = document.getElementById('main');
    for (const t of TABS) {
      const b = el('button', { type: 'button', text: t.title, 'data-tab': t.id, role: 'tab' });
      b.addEventListener('click', () => showTab(t.id));
      nav.append(b);
      main.append(el('div', { class: 'tab', 'data-tab': t.id, hidden: true }));
    }
  }

  function showTab(id) {
    if (!TABS.some((t) => t.id === id)) return;
    activeTab = id;
    if (state.mode === 'live' || location.protocol !== 'file:') history.replaceState(null, '', `#${id}`);
    renderNow();
  }

  // ---------------------------------------------------------------- header and render loop

  function renderHeader() {
    const cfg = state.config || {};
    document.getElementById('plan').textContent = cfg.plan || '–';
    document.getElementById('testid').textContent = cfg.testId ? `test ${cfg.testId}` : '';
    let status = 'waiting';
    if (state.stop) status = state.stop.passed ? 'passed' : 'failed';
    // Until `start` the test may still wait (--start-at): not running yet.
    else if (state.startSeen) status = 'running';
    // A live stream that broke before `stop`: the numbers shown may be stale.
    if (!state.stop && state.connection === 'closed') status = 'disconnected';
    else if (!state.stop && state.connection === 'reconnecting') status = 'reconnecting';
    const st = document.getElementById('status');
    st.dataset.status = status;
    st.textContent = state.stop ? `${status} · ${state.stop.reason || 'finished'}` : status;
    // The scenarios' own durations, not the test's maximum with graceful stops (a 10 s test
    // would otherwise read 10 s / 40 s when it ends).
    const scenarioMs = (Array.isArray(cfg.scenarios) ? cfg.scenarios : [])
      .map((sc) => (isObj(sc) && Number.isFinite(sc.plannedMs)
        ? (Number.isFinite(sc.startMs) ? sc.startMs : 0) + sc.plannedMs : null));
    const planned = scenarioMs.length && scenarioMs.every((v) => v != null) ? Math.max(...scenarioMs)
      : Number.isFinite(cfg.plannedMs) ? cfg.plannedMs : null;
    let elapsed = null;
    if (state.stop && Number.isFinite(state.stop.durationMs)) elapsed = state.stop.durationMs;
    else if (state.startSeen && state.startTime != null) elapsed = (state.mode === 'live' ? Date.now() : lastTime()) - state.startTime;
    document.getElementById('elapsed').textContent = `${fmt.duration(elapsed)}${planned ? ` / ${fmt.duration(planned)}` : ''}`;
    const c = lastCumulative();
    let reqs = mval(c, 'http_reqs', 'count');
    const sm = state.stop && state.stop.summary && state.stop.summary.metrics;
    if (reqs == null && sm && sm.http_reqs && Number.isFinite(sm.http_reqs.count)) reqs = sm.http_reqs.count;
    const r = document.getElementById('requests');
    r.dataset.value = String(reqs || 0);
    r.textContent = fmt.count(reqs || 0);
    document.getElementById('failed').textContent = fmt.pct(mval(c, 'http_req_failed', 'rate'));
    // The link gets its target only on the live page: the report refers to no other file.
    const download = document.getElementById('download');
    download.hidden = state.mode !== 'live';
    if (state.mode === 'live' && !download.getAttribute('href')) download.setAttribute('href', '../report');
    const foot = document.getElementById('foot');
    const bits = [`${state.events} events`, state.mode === 'live' ? `live (${state.connection})` : 'report'];
    if (cfg.version) bits.push(`loadrun ${cfg.version}`);
    setContent(foot, el('span', { text: bits.join(' · ') }),
      ...state.problems.slice(-5).map((p) => el('div', { class: 'problem', text: p })));
  }

  let renderTimer = null;
  function scheduleRender() {
    if (renderTimer != null) return;
    renderTimer = setTimeout(renderNow, 100);
  }

  function renderNow() {
    if (renderTimer != null) { clearTimeout(renderTimer); renderTimer = null; }
    renderHeader();
    for (const b of document.querySelectorAll('#tabs button')) {
      b.classList.toggle('active', b.dataset.tab === activeTab);
      b.setAttribute('aria-selected', String(b.dataset.tab === activeTab));
    }
    for (const t of TABS) {
      const root = document.querySelector(`#main .tab[data-tab="${t.id}"]`);
      root.hidden = t.id !== activeTab;
      if (t.id === activeTab) {
        try {
          t.render(root);
        } catch (e) {
          problem(`drawing the ${t.title} tab: ${e && e.message}`);
        }
      }
    }
    rendered += 1;
  }
  let rendered = 0;

  // ---------------------------------------------------------------- inputs

  function base64Bytes(text) {
    const bin = atob(text.replace(/\s+/g, ''));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
    return out;
  }

  async function embeddedEvents(v) {
    if (Array.isArray(v)) return v;
    if (typeof v !== 'string') throw new Error('window.LOADRUN_EVENTS is neither a list nor a base64 string');
    let bytes = base64Bytes(v);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
      bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    }
    const text = new TextDecoder().decode(bytes).trim();
    if (text.startsWith('[')) return JSON.parse(text);
    return text.split('\n').map((line, i) => {
      try {
        return JSON.parse(line);
      } catch (e) {
        problem(`embedded events, line ${i + 1}: ${e.message}`);
        return null;
      }
    }).filter((x) => x);
  }

  async function loadReport() {
    state.connection = 'report';
    try {
      const list = await embeddedEvents(window.LOADRUN_EVENTS);
      list.forEach((e, i) => {
        if (!isObj(e) || typeof e.event !== 'string') problem(`embedded event ${i + 1}: no "event" name`);
        else ingest(e.event, e.data);
      });
    } catch (e) {
      problem(`reading the embedded events: ${e && e.message}`);
    }
    state.loaded = true;
    renderNow();
  }

  function connect() {
    const es = new EventSource('../events');
    es.onopen = () => { state.connection = 'open'; scheduleRender(); };
    es.onerror = () => {
      state.connection = es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting';
      scheduleRender();
    };
    for (const name of EVENT_NAMES) {
      es.addEventListener(name, (e) => {
        let data;
        try {
          data = JSON.parse(e.data);
        } catch (err) {
          problem(`event ${state.events + 1} (${name}): ${err.message}`);
          return;
        }
        ingest(name, data);
        if (name === 'stop') {
          // The run is over; the server closes the stream and must not be asked again.
          es.close();
          state.connection = 'finished';
          state.loaded = true;
          renderNow();
        }
      });
    }
    // Elapsed time moves on between periods.
    const tick = setInterval(() => {
      if (state.stop) clearInterval(tick);
      renderHeader();
    }, 1000);
  }

  // ---------------------------------------------------------------- start, and what tests read

  window.loadrunDashboard = {
    state,
    showTab,
    tabs: TABS.map((t) => t.id),
    // What is drawn now: every chart made so far, its points per series, its threshold lines.
    inspect() {
      return {
        mode: state.mode,
        loaded: !!state.loaded,
        status: document.getElementById('status').dataset.status,
        events: state.events,
        renders: rendered,
        problems: state.problems.slice(),
        requestsShown: document.getElementById('requests').textContent,
        charts: [...charts.entries()].filter(([, c]) => c.panel.isConnected).map(([id, c]) => ({
          id,
          title: c.spec.title,
          tab: c.panel.closest('.tab') ? c.panel.closest('.tab').dataset.tab : null,
          series: c.uplot ? c.uplot.series.slice(1).map((s, i) => ({
            label: s.label,
            points: (c.uplot.data[i + 1] || []).filter((v) => v != null).length,
          })) : [],
          lines: c.lines.map((l) => ({ label: l.label, value: l.value, ok: l.ok })),
          width: c.uplot ? c.uplot.width : 0,
        })),
      };
    },
  };

  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const c of charts.values()) {
        const body = c.panel.querySelector('.chart');
        if (c.uplot && body.clientWidth) c.uplot.setSize({ width: Math.max(240, body.clientWidth), height: CHART_HEIGHT });
      }
    }, 150);
  });

  buildTabs();
  renderNow();
  if (state.mode === 'report') loadReport(); else connect();
})();
