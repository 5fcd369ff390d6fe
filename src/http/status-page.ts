/**
 * The live status page (`GET /` and `/status`): one self-contained HTML document, built once at
 * start, that polls `/stats` from the browser and draws its own charts on <canvas>. It holds no
 * data itself, so it loads without a token; with STATE_API_TOKEN set, /stats answers 401 until
 * the user enters the token, which the page keeps in sessionStorage and sends as a bearer token.
 *
 * No CDN, fonts or libraries (works offline). The Content-Security-Policy allows exactly the
 * inline <style> and <script> below by their SHA-256, and fetches to this origin only.
 */
import { createHash } from 'node:crypto';

const STYLE = String.raw`
:root{--bg:#f6f7f8;--card:#fff;--fg:#1c2227;--muted:#5b6770;--line:#d9dee2;--s1:#1f63d6;--s2:#b35600;--s3:#207a39;--s4:#8a3fb0;--s5:#b42318;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#101316;--card:#191e23;--fg:#e4e8eb;--muted:#9aa6af;--line:#2d353c;--s1:#74a7ff;--s2:#f0a35e;--s3:#62cc7d;--s4:#c99ae8;--s5:#ff8178}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;flex-wrap:wrap;gap:.3rem 1.5rem;align-items:baseline;padding:.9rem 1.25rem;border-bottom:1px solid var(--line)}
h1{font-size:1.2rem;margin:0}
h2{font-size:1rem;margin:0 0 .6rem}
header p{margin:0;color:var(--muted)}
#conn::before{content:"\25CF  "}
#conn[data-state=live]::before{color:var(--s3)}
#conn[data-state=down]::before,#conn[data-state=locked]::before{color:var(--s5)}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1rem;padding:1rem 1.25rem}
section,form{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.9rem 1rem}
form{max-width:34rem;margin:1.5rem auto}
form input{font:inherit;padding:.35rem .5rem;width:100%;margin:.3rem 0 .6rem;border:1px solid var(--line);border-radius:4px;background:var(--bg);color:var(--fg)}
button{font:inherit;padding:.3rem .8rem;border:1px solid var(--line);border-radius:4px;background:var(--bg);color:var(--fg);cursor:pointer}
.wide{grid-column:1/-1}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(118px,1fr));gap:.6rem;margin:0}
.tiles div{border-left:3px solid var(--line);padding-left:.55rem}
.tiles dt{color:var(--muted);font-size:.8rem}
.tiles dd{margin:0;font-size:1.3rem;font-weight:600;font-variant-numeric:tabular-nums}
dl.kv{display:grid;grid-template-columns:auto 1fr;gap:.15rem 1rem;margin:0}
dl.kv dt{color:var(--muted)}
dl.kv dd{margin:0;text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
#exporterTarget,#exporterLastError{white-space:normal;overflow-wrap:anywhere}
td.n{white-space:nowrap}
canvas{display:block;width:100%;height:130px;margin-top:.7rem}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:.2rem .3rem;border-bottom:1px solid var(--line);font-weight:normal}
thead th{color:var(--muted);font-size:.8rem}
.n{text-align:right}
.bar{height:.65rem;min-width:2rem;background:var(--line);border-radius:3px;overflow:hidden}
.bar i{display:block;height:100%;width:0;background:var(--s1)}
.legend{display:flex;flex-wrap:wrap;gap:.2rem .9rem;margin:.4rem 0 0;padding:0;list-style:none;color:var(--muted);font-size:.8rem}
.legend svg{vertical-align:middle;margin-right:.3rem}
.k1{stroke:var(--s1)}.k2{stroke:var(--s2)}.k3{stroke:var(--s3)}.k4{stroke:var(--s4)}.k5{stroke:var(--s5)}
#auth-error{color:var(--s5);font-weight:600}
.note{color:var(--muted);font-size:.8rem;margin:.4rem 0 0}
[hidden]{display:none!important}
`;

// The script avoids template-literal syntax: it lives inside one.
const SCRIPT = String.raw`
(function () {
  'use strict';
  var POLL_MS = 1000, KEEP = 120, KEY = 'cxone-dedup.token';
  var LAT = [['p50Us', 'p50'], ['p90Us', 'p90'], ['p99Us', 'p99'], ['p999Us', 'p99.9'], ['maxUs', 'max']];
  var DASH = [[], [6, 3], [2, 3], [8, 3, 2, 3], [1, 5]];
  var hist = [], prev = null, timer = 0, delivery = null;
  var nf = new Intl.NumberFormat('en');
  function $(id) { return document.getElementById(id); }
  function num(v) { return typeof v === 'number' && isFinite(v); }
  function int(v) { return num(v) ? nf.format(Math.round(v)) : '\u2014'; }
  function dec(v) { return !num(v) ? '\u2014' : v >= 100 ? nf.format(Math.round(v)) : String(Math.round(v * 10) / 10); }
  function pct(v) { return !num(v) ? '\u2014' : v > 0 && v < 1e-7 ? (v * 100).toExponential(0) + ' %' : v > 0 && v < 0.001 ? (v * 100).toPrecision(2) + ' %' : (v * 100).toFixed(1) + ' %'; }
  function usec(v) { return !num(v) ? '\u2014' : v >= 1e6 ? (v / 1e6).toFixed(2) + ' s' : v >= 1000 ? (v / 1000).toFixed(2) + ' ms' : Math.round(v) + ' \u00b5s'; }
  function bytes(v) { if (!num(v)) return '\u2014'; var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0; while (v >= 1024 && i < 4) { v /= 1024; i++; } return (i ? v.toFixed(1) : v) + ' ' + u[i]; }
  function secs(s) {
    if (!num(s)) return '\u2014';
    if (s < 60) return (s < 10 ? Math.round(s * 10) / 10 : Math.round(s)) + ' s';
    s = Math.floor(s); var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return d ? d + ' d ' + h + ' h' : h ? h + ' h ' + m + ' min' : m + ' min ' + (s % 60) + ' s';
  }
  function words(k) { return String(k).replace(/_/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase(); }
  function put(id, v, text) { var el = $(id); if (el) { el.textContent = text; el.setAttribute('data-value', num(v) ? String(v) : ''); } }
  function bar(id, frac) { var el = $(id); if (el) el.style.width = (num(frac) ? Math.max(0, Math.min(1, frac)) * 100 : 0) + '%'; }
  function el(tag, attrs, text) { var e = document.createElement(tag); for (var k in attrs) e.setAttribute(k, attrs[k]); if (text != null) e.textContent = text; return e; }
  function token() { try { return sessionStorage.getItem(KEY) || ''; } catch (e) { return ''; } }
  function setToken(t) { try { if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY); } catch (e) { /* storage off: this page view only */ } }
  // A live region: touched only on a change, so screen readers don't repeat 'live' every second.
  function conn(state, text) { var c = $('conn'); if (c.textContent !== text) { c.setAttribute('data-state', state); c.textContent = text; } }

  // A line chart of the history's fields, newest at the right; 'log' for latencies.
  function chart(id, keys, fmt, log, fixedMax) {
    var c = $(id), w = c.clientWidth, h = c.clientHeight, dpr = window.devicePixelRatio || 1;
    if (!w || !h) return;
    if (c.width !== Math.round(w * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
    var g = c.getContext('2d'), cs = getComputedStyle(document.documentElement);
    g.setTransform(dpr, 0, 0, dpr, 0, 0); g.clearRect(0, 0, w, h);
    var tf = log ? function (v) { return Math.log10(Math.max(v, 1)); } : function (v) { return v; };
    var max = 0, lo = Infinity;
    hist.forEach(function (p) { keys.forEach(function (k) { if (num(p[k])) { max = Math.max(max, tf(p[k])); lo = Math.min(lo, tf(p[k])); } }); });
    lo = log && lo < Infinity ? Math.floor(lo) : 0;
    if (fixedMax) max = fixedMax; else if (log) max = Math.max(lo + 1, Math.ceil(max)); else { var m = Math.pow(10, Math.floor(Math.log10(max || 1))); max = [1, 2, 5, 10].map(function (f) { return f * m; }).filter(function (x) { return x >= (max || 1); })[0]; }
    var top = 8, bot = h - 4, y = function (v) { return bot - ((tf(v) - lo) / (max - lo)) * (bot - top); };
    g.font = '11px system-ui, sans-serif'; g.lineWidth = 1; g.setLineDash([]);
    var ticks = log ? [] : [0, max / 2, max];
    if (log) for (var d = lo; d <= max; d++) ticks.push(Math.pow(10, d));
    ticks.forEach(function (t) {
      var yy = Math.round(y(t)) + 0.5;
      g.strokeStyle = cs.getPropertyValue('--line'); g.beginPath(); g.moveTo(0, yy); g.lineTo(w, yy); g.stroke();
      g.fillStyle = cs.getPropertyValue('--muted'); g.fillText(fmt(t), 2, Math.max(10, yy - 3));
    });
    var step = w / (KEEP - 1), off = KEEP - hist.length;
    keys.forEach(function (k, i) {
      g.strokeStyle = cs.getPropertyValue('--s' + (i + 1)); g.lineWidth = 1.8; g.setLineDash(DASH[i]);
      g.beginPath(); var pen = false;
      hist.forEach(function (p, j) {
        if (!num(p[k])) { pen = false; return; }
        var x = (off + j) * step, yy = y(p[k]);
        if (pen) g.lineTo(x, yy); else g.moveTo(x, yy);
        pen = true;
      });
      g.stroke();
    });
  }

  function draw() {
    chart('chart-rate', ['rate'], dec);
    chart('chart-ratio', ['ratio'], function (v) { return Math.round(v * 100) + ' %'; }, false, 1);
    chart('chart-latency', LAT.map(function (l) { return l[0]; }), function (v) { return v >= 1e6 ? v / 1e6 + ' s' : v >= 1000 ? v / 1000 + ' ms' : v + ' \u00b5s'; }, true);
    if (delivery) chart('chart-lag', ['lag'], secs);
  }

  function rejections(byReason) {
    var body = $('rejections'), total = 0;
    for (var r in byReason) total += byReason[r];
    for (var reason in byReason) {
      if (!$('rej-' + reason)) {
        var tr = el('tr', { 'data-reason': reason });
        tr.appendChild(el('th', { scope: 'row' }, words(reason)));
        var td = el('td', {}); var b = el('div', { class: 'bar' }); b.appendChild(el('i', { id: 'rejbar-' + reason })); td.appendChild(b); tr.appendChild(td);
        tr.appendChild(el('td', { class: 'n', id: 'rej-' + reason }));
        body.appendChild(tr);
      }
      put('rej-' + reason, byReason[reason], int(byReason[reason]));
      bar('rejbar-' + reason, total ? byReason[reason] / total : 0);
    }
  }

  // Numeric fields of an object, one level of nesting flattened ("queue.bytes").
  function numbers(o) {
    var out = [];
    for (var k in o) {
      if (num(o[k])) out.push([k, o[k]]);
      else if (o[k] && typeof o[k] === 'object' && !Array.isArray(o[k])) for (var k2 in o[k]) if (num(o[k][k2])) out.push([k + '.' + k2, o[k][k2]]);
    }
    return out;
  }
  // A field named …Ms is in milliseconds; other ages and lags in seconds.
  function seconds(k, v) { return /Ms$/.test(k) ? v / 1000 : v; }
  function fmtField(k, v) { return /age|lag|seconds|Ms$/i.test(k) ? secs(seconds(k, v)) : /bytes/i.test(k) ? bytes(v) : dec(v); }

  // Rendered from whatever the section carries: top-level numbers, then one row per sink.
  function renderDelivery(dv) {
    var sec = $('delivery');
    if (!dv || typeof dv !== 'object') { sec.hidden = true; return null; }
    sec.hidden = false;
    var top = numbers(Object.assign({}, dv, { sinks: undefined })), dl = $('delivery-fields');
    dl.textContent = '';
    top.forEach(function (f) {
      var d = el('div', {}); d.appendChild(el('dt', {}, words(f[0])));
      var dd = el('dd', { id: 'delivery-' + f[0], 'data-value': String(f[1]) }, fmtField(f[0], f[1])); d.appendChild(dd); dl.appendChild(d);
    });
    var list = Array.isArray(dv.sinks) ? dv.sinks : dv.sinks && typeof dv.sinks === 'object' ? Object.keys(dv.sinks).map(function (n) { return Object.assign({ name: n }, dv.sinks[n]); }) : [];
    var rows = list.map(function (s, i) { return { name: String(s.name || s.sink || s.id || s.kind || 'sink ' + (i + 1)), fields: numbers(s) }; });
    var cols = [];
    rows.forEach(function (r) { r.fields.forEach(function (f) { if (cols.indexOf(f[0]) < 0) cols.push(f[0]); }); });
    var t = $('sinks'); t.textContent = ''; t.hidden = rows.length === 0;
    var hr = el('tr', {}); hr.appendChild(el('th', { scope: 'col' }, 'sink'));
    cols.forEach(function (c) { hr.appendChild(el('th', { scope: 'col', class: 'n' }, words(c))); });
    var th = el('thead', {}); th.appendChild(hr); t.appendChild(th);
    var tb = el('tbody', {}); t.appendChild(tb);
    rows.forEach(function (r) {
      var tr = el('tr', { 'data-sink': r.name }); tr.appendChild(el('th', { scope: 'row' }, r.name));
      cols.forEach(function (c) {
        var f = r.fields.filter(function (x) { return x[0] === c; })[0];
        tr.appendChild(el('td', { class: 'n', 'data-sink': r.name, 'data-field': c, 'data-value': f ? String(f[1]) : '' }, f ? fmtField(c, f[1]) : '\u2014'));
      });
      tb.appendChild(tr);
    });
    // The delivery lag: a top-level age/lag field, else the largest one among the sinks.
    var lag = null;
    top.concat.apply(top, rows.map(function (r) { return r.fields; })).forEach(function (f) { var v = seconds(f[0], f[1]); if (/lag|oldest/i.test(f[0]) && (lag === null || v > lag)) lag = v; });
    $('lag-block').hidden = lag === null;
    return { lag: lag };
  }

  function render(s) {
    var up = s.uptimeSeconds, rate = null, ratio = null;
    if (prev && num(up) && up < prev.uptimeSeconds) { hist = []; prev = null; } // the daemon restarted
    if (prev && up > prev.uptimeSeconds) {
      rate = (s.eventsReceived - prev.eventsReceived) / (up - prev.uptimeSeconds);
      var dp = s.eventsProcessed - prev.eventsProcessed, dd = s.eventsDeduplicated - prev.eventsDeduplicated;
      ratio = dp + dd > 0 ? dd / (dp + dd) : null;
    }
    var valid = s.eventsProcessed + s.eventsDeduplicated, lat = s.latency || {};
    delivery = renderDelivery(s.delivery);
    var point = { rate: rate, ratio: ratio, lag: delivery ? delivery.lag : null };
    LAT.forEach(function (l) { point[l[0]] = lat.count ? lat[l[0]] : null; });
    hist.push(point); if (hist.length > KEEP) hist.shift();
    prev = s;

    put('uptime', up, secs(up));
    put('rate', rate, rate === null ? '\u2014' : dec(rate));
    ['eventsReceived', 'eventsProcessed', 'eventsDeduplicated', 'eventsRejected', 'eventsUnconfirmed', 'inFlight', 'compactions'].forEach(function (k) { put(k, s[k], int(s[k])); });
    put('dedupRatio', valid ? s.eventsDeduplicated / valid : null, valid ? pct(s.eventsDeduplicated / valid) : '\u2014');
    put('dedupRatioRecent', ratio, pct(ratio));
    rejections(s.rejectedByReason || {});
    LAT.forEach(function (l) { put('lat-' + l[1], lat[l[0]], lat.count ? usec(lat[l[0]]) : '\u2014'); });
    put('lat-count', lat.count, int(lat.count));

    var f = s.filter || {}, gens = f.generations || {};
    put('filterKind', null, String(f.kind || '\u2014'));
    put('filterCapacity', f.capacity, int(f.capacity));
    put('filterErrorRate', f.errorRate, pct(f.errorRate));
    put('filterHashes', f.hashCount, int(f.hashCount));
    ['active', 'previous'].forEach(function (name) {
      var g = gens[name] || {};
      put('gen-' + name + '-fill', g.fillRatio, pct(g.fillRatio)); bar('genbar-' + name, g.fillRatio);
      put('gen-' + name + '-fpr', g.estimatedFalsePositiveRate, pct(g.estimatedFalsePositiveRate));
      put('gen-' + name + '-keys', g.estimatedCardinality, int(g.estimatedCardinality));
      put('gen-' + name + '-age', g.ageSeconds, secs(g.ageSeconds));
    });

    var c = s.stateCache || {};
    put('cacheSize', c.size, int(c.size) + ' of ' + int(c.capacity)); bar('cachebar-size', c.capacity ? c.size / c.capacity : 0);
    put('cacheBytes', c.bytes, bytes(c.bytes) + ' of ' + (c.maxBytes == null ? 'unbounded' : bytes(c.maxBytes))); bar('cachebar-bytes', c.maxBytes ? c.bytes / c.maxBytes : 0);
    put('cacheEvictions', c.evictions, int(c.evictions));

    var x = s.exporter || {};
    put('exporterState', null, !x.enabled ? 'off' : x.consecutiveFailures ? 'failing (' + x.consecutiveFailures + ' in a row)' : 'ok');
    put('exporterTarget', null, x.target || '\u2014');
    put('exporterWritten', x.pointsWritten, int(x.pointsWritten));
    put('exporterBuffered', x.pointsBuffered, int(x.pointsBuffered) + ' of ' + int(x.maxBufferLines));
    put('exporterDropped', x.pointsDropped, int(x.pointsDropped));
    put('exporterFailures', x.writeFailures, int(x.writeFailures));
    put('exporterLastError', null, x.lastError ? x.lastError.message + ' (' + x.lastError.at + ')' : 'none');

    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    $('data').hidden = false;
    draw();
  }

  function locked(message) {
    clearTimeout(timer);
    $('data').hidden = true; hist = []; prev = null;
    $('auth').hidden = false; $('forget').hidden = true;
    $('auth-error').textContent = message; $('auth-error').hidden = !message;
    conn('locked', 'token required');
  }

  function poll() {
    clearTimeout(timer);
    var t = token(), headers = t ? { Authorization: 'Bearer ' + t } : {};
    fetch('stats', { headers: headers, cache: 'no-store' }).then(function (r) {
      if (r.status === 401) { setToken(''); locked(t ? 'That token was refused.' : ''); return; }
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json().then(function (s) {
        $('auth').hidden = true; $('forget').hidden = !t;
        render(s); conn('live', 'live');
        timer = setTimeout(poll, POLL_MS);
      });
    }).catch(function (e) {
      conn('down', 'no answer (' + e.message + '), retrying');
      timer = setTimeout(poll, POLL_MS * 3);
    });
  }

  $('auth').addEventListener('submit', function (e) {
    e.preventDefault();
    setToken($('token').value.trim()); $('token').value = '';
    conn('connecting', 'connecting');
    poll();
  });
  $('forget').addEventListener('click', function () { setToken(''); locked(''); });
  window.addEventListener('resize', draw);
  poll();
})();
`;

function legend(labels: string[]): string {
  const dashes = ['', '6 3', '2 3', '8 3 2 3', '1 5'];
  const items = labels.map(
    (l, i) => `<li><svg width="26" height="8" aria-hidden="true"><line x1="0" y1="4" x2="26" y2="4" class="k${i + 1}" stroke-width="2" stroke-dasharray="${dashes[i]}"/></svg>${l}</li>`,
  );
  return `<ul class="legend">${items.join('')}</ul>`;
}

const tile = (id: string, label: string) => `<div><dt>${label}</dt><dd id="${id}" data-value="">\u2014</dd></div>`;
const kv = (id: string, label: string) => `<dt>${label}</dt><dd id="${id}" data-value="">\u2014</dd>`;
const generationRow = (name: string) =>
  `<tr><th scope="row">${name}</th><td><div class="bar"><i id="genbar-${name}"></i></div></td>` +
  ['fill', 'fpr', 'keys', 'age'].map((f) => `<td class="n" id="gen-${name}-${f}" data-value="">\u2014</td>`).join('') +
  '</tr>';

const BODY = `
<header>
  <h1>cxone-dedup</h1>
  <p id="conn" role="status" data-state="connecting">connecting</p>
  <p>up <span id="uptime" data-value="">\u2014</span></p>
  <p id="updated"></p>
  <button id="forget" type="button" hidden>Forget token</button>
</header>
<form id="auth" hidden>
  <h2>Token required</h2>
  <p>This daemon has <code>STATE_API_TOKEN</code> set: its statistics are shown only with that token. The page keeps it in this tab (sessionStorage) and sends it to <code>/stats</code> as a bearer token.</p>
  <p id="auth-error" role="alert" hidden></p>
  <label for="token">Token</label>
  <input id="token" type="password" autocomplete="off" spellcheck="false" required>
  <button type="submit">Show statistics</button>
</form>
<main id="data" hidden>
  <section class="wide" aria-labelledby="h-traffic">
    <h2 id="h-traffic">Traffic</h2>
    <dl class="tiles">
      ${tile('rate', 'requests/s')}${tile('eventsReceived', 'received')}${tile('eventsProcessed', 'processed')}${tile('eventsDeduplicated', 'deduplicated')}
      ${tile('eventsRejected', 'rejected')}${tile('eventsUnconfirmed', 'unconfirmed')}${tile('inFlight', 'in flight')}${tile('compactions', 'compactions')}
    </dl>
    <canvas id="chart-rate" role="img" aria-label="Webhook requests per second over the last two minutes; the current value is under requests/s above"></canvas>
  </section>
  <section aria-labelledby="h-ratio">
    <h2 id="h-ratio">Dedup ratio</h2>
    <dl class="kv">${kv('dedupRatio', 'duplicates among valid events, since start')}${kv('dedupRatioRecent', 'over the last second')}</dl>
    <canvas id="chart-ratio" role="img" aria-label="Share of duplicates among valid events, per poll, over the last two minutes"></canvas>
  </section>
  <section aria-labelledby="h-latency">
    <h2 id="h-latency">Latency</h2>
    <dl class="kv">${kv('lat-p50', 'p50')}${kv('lat-p90', 'p90')}${kv('lat-p99', 'p99')}${kv('lat-p99.9', 'p99.9')}${kv('lat-max', 'max')}${kv('lat-count', 'requests in the window')}</dl>
    <canvas id="chart-latency" role="img" aria-label="Latency quantiles over the last two minutes, logarithmic scale; current values listed above"></canvas>
    ${legend(['p50', 'p90', 'p99', 'p99.9', 'max'])}
  </section>
  <section aria-labelledby="h-rejections">
    <h2 id="h-rejections">Rejections by reason</h2>
    <table><thead><tr><th scope="col">reason</th><th scope="col">share</th><th scope="col" class="n">count</th></tr></thead><tbody id="rejections"></tbody></table>
  </section>
  <section aria-labelledby="h-filter">
    <h2 id="h-filter">Bloom filter</h2>
    <dl class="kv">${kv('filterKind', 'implementation')}${kv('filterCapacity', 'capacity per generation')}${kv('filterErrorRate', 'target false-positive rate')}${kv('filterHashes', 'hash functions')}</dl>
    <table><thead><tr><th scope="col">generation</th><th scope="col" colspan="2">fill</th><th scope="col" class="n">FPR</th><th scope="col" class="n">keys</th><th scope="col" class="n">age</th></tr></thead>
    <tbody>${generationRow('active')}${generationRow('previous')}</tbody></table>
    <p class="note">False-positive rate and keys are estimated from each generation's fill.</p>
  </section>
  <section aria-labelledby="h-cache">
    <h2 id="h-cache">State cache</h2>
    <dl class="kv">${kv('cacheSize', 'interactions')}</dl><div class="bar"><i id="cachebar-size"></i></div>
    <dl class="kv">${kv('cacheBytes', 'body bytes')}</dl><div class="bar"><i id="cachebar-bytes"></i></div>
    <dl class="kv">${kv('cacheEvictions', 'evictions')}</dl>
  </section>
  <section aria-labelledby="h-exporter">
    <h2 id="h-exporter">InfluxDB exporter</h2>
    <dl class="kv">${kv('exporterState', 'status')}${kv('exporterTarget', 'target')}${kv('exporterWritten', 'points written')}${kv('exporterBuffered', 'buffered')}${kv('exporterDropped', 'dropped')}${kv('exporterFailures', 'write failures')}${kv('exporterLastError', 'last error')}</dl>
  </section>
  <section id="delivery" class="wide" aria-labelledby="h-delivery" hidden>
    <h2 id="h-delivery">Delivery</h2>
    <dl class="tiles" id="delivery-fields"></dl>
    <div id="lag-block"><canvas id="chart-lag" role="img" aria-label="Delivery lag (age of the oldest undelivered record) over the last two minutes"></canvas></div>
    <table id="sinks"></table>
  </section>
</main>`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The page and its response headers, built once. */
export const STATUS_PAGE = {
  html:
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>cxone-dedup status</title><link rel="icon" href="data:,">' +
    `<style>${STYLE}</style></head><body>${BODY}<script>${SCRIPT}</script></body></html>\n`,
  contentType: 'text/html; charset=utf-8',
  headers: {
    'Content-Security-Policy':
      `default-src 'none'; script-src ${sha256(SCRIPT)}; style-src ${sha256(STYLE)}; connect-src 'self'; img-src data:; ` +
      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  } as Readonly<Record<string, string>>,
} as const;
