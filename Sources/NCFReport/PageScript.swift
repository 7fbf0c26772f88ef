// The sweep page's script: it reads the page's data (`SweepReport.pageData`, embedded as
// `<script type="application/json" id="ncf-data">`) and draws the interactive views from it:
// parallel coordinates (brush an axis to filter, drag a name to reorder, log/linear per axis,
// hover for the run, click to tick it), the runs table (sorted, paged, following the filters,
// CSV export with exact values), the comparison of ticked runs (config differences highlighted,
// their metric per epoch overlaid), a scatter per parameter, the metric's empirical distribution
// and a two-parameter view. With `window.ncfLiveURL` set it polls that URL every 2 s and redraws
// in place, keeping the filters and ticks. Plain ES5-style JavaScript, no library, no network
// but the live URL. Numbers are rounded to 4 significant digits for reading; titles and the
// export carry the exact values.

enum PageScript {
    static let source = #"""
(function () {
  'use strict';
  var dataEl = document.getElementById('ncf-data');
  if (!dataEl) { return; }
  var D = JSON.parse(dataEl.textContent);
  var NS = 'http://www.w3.org/2000/svg';
  // Okabe–Ito: distinguishable with every common colour-vision deficiency (yellow last: faint on white).
  var OKABE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#D55E00', '#56B4E9', '#000000', '#F0E442'];
  // Viridis stops, best run darkest (stops past 0.9 are too light on white).
  var VIRIDIS = ['#440154', '#482475', '#414487', '#355f8d', '#2a788e', '#21918c', '#22a884', '#44bf70', '#7ad151', '#bddf26'];
  var S = {
    brush: {}, order: null, selected: [], hover: null, group: '', states: {}, scale: {},
    sortKey: 'number', sortDir: 1, page: 0, showAll: false, onlyTicked: false, cx: null, cy: null
  };

  // ---- small helpers -------------------------------------------------------------------------

  /** A number for reading: 4 significant digits; the exact value goes in a title. */
  function fmt(v) {
    if (v === null || v === undefined || typeof v !== 'number' || !isFinite(v)) { return '—'; }
    if (v === 0) { return '0'; }
    var a = Math.abs(v);
    if (a >= 1e-3 && a < 1e5) {
      var t = v.toPrecision(4);
      if (t.indexOf('e') < 0 && t.indexOf('.') >= 0) { t = t.replace(/0+$/, '').replace(/\.$/, ''); }
      return t;
    }
    return v.toExponential(3).replace(/\.?0+e/, 'e');
  }
  function exact(v) { return v === null || v === undefined ? '' : String(v); }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function $(id) { return document.getElementById(id); }
  function svgEl(tag, attrs, parent, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) { if (attrs[k] !== null && attrs[k] !== undefined) { e.setAttribute(k, attrs[k]); } }
    if (text !== undefined) { e.textContent = text; }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function title(e, text) { svgEl('title', {}, e, text); return e; }
  function newSVG(w, h, cls, label) {
    return svgEl('svg', { 'class': 'chart ' + (cls || ''), viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img', 'aria-label': label || '' });
  }
  function hashJitter(id, salt) {
    var x = Math.sin(id * 12.9898 + (salt || 0) * 78.233) * 43758.5453;
    return (x - Math.floor(x)) * 2 - 1;
  }
  function quantile(sorted, q) {
    if (!sorted.length) { return null; }
    var p = (sorted.length - 1) * q, i = Math.floor(p), f = p - i;
    return i + 1 < sorted.length ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i];
  }
  /** The range drawn for values: [min, max], or, with 8 or more, cut 3 IQRs outside the quartiles. */
  function robust(values) {
    var v = values.filter(function (x) { return typeof x === 'number' && isFinite(x); }).sort(function (a, b) { return a - b; });
    if (!v.length) { return null; }
    var lo = v[0], hi = v[v.length - 1];
    if (v.length >= 8) {
      var q1 = quantile(v, 0.25), q3 = quantile(v, 0.75), k = 3 * (q3 - q1);
      if (k > 0) { lo = Math.max(lo, q1 - k); hi = Math.min(hi, q3 + k); }
    }
    return [lo, hi];
  }
  function niceStep(span, target) {
    var raw = span / Math.max(1, target), p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
  }

  // ---- parameters, axes and scales -----------------------------------------------------------

  var goal = D.metric ? D.metric.goal : 'minimize';
  function better(a, b) { return goal === 'maximize' ? a > b : a < b; }
  function runById(id) { for (var i = 0; i < D.runs.length; i++) { if (D.runs[i].id === id) { return D.runs[i]; } } return null; }
  var positive = {};
  /** Whether every value of parameter i is positive (a log axis is possible); cached per drawing. */
  function allPositive(i) {
    if (!(i in positive)) { positive[i] = D.runs.every(function (r) { return r.values[i] === null || r.values[i] > 0; }); }
    return positive[i];
  }
  function isLog(i) {
    var p = D.parameters[i];
    if (p.axis === 'categorical' || !allPositive(i)) { return false; }
    var s = S.scale['p' + i];
    return s ? s === 'log' : p.axis === 'log';
  }
  /** The axes drawn: every parameter that varies, then the metric; in the user's order. */
  function axes() {
    var list = [];
    D.parameters.forEach(function (p, i) {
      if (!p.varies) { return; }
      list.push({ key: 'p' + i, i: i, name: p.name, cat: p.axis === 'categorical', cats: p.categories || [], log: isLog(i),
                  canLog: p.axis !== 'categorical' && allPositive(i) });
    });
    if (D.metric) { list.push(axisByKey('metric')); }
    if (S.order) {
      var rank = {};
      S.order.forEach(function (k, n) { rank[k] = n; });
      list.sort(function (a, b) {
        var ra = a.key in rank ? rank[a.key] : 1e6, rb = b.key in rank ? rank[b.key] : 1e6;
        return ra - rb;
      });
    }
    return list;
  }
  function val(r, ax) { return ax.metric ? r.metric : r.values[ax.i]; }
  function axisByKey(key) {
    if (key === 'metric') {
      var canLog = D.runs.some(function (r) { return r.metric !== null; }) && D.runs.every(function (r) { return r.metric === null || r.metric > 0; });
      return { key: 'metric', metric: true, name: D.metric ? D.metric.name : 'metric', cat: false, log: canLog && S.scale.metric === 'log', canLog: canLog };
    }
    var i = +key.slice(1), p = D.parameters[i];
    return { key: key, i: i, name: p.name, cat: p.axis === 'categorical', cats: p.categories || [], log: isLog(i), canLog: p.axis !== 'categorical' && allPositive(i) };
  }

  /** A scale for `ax` over every run's value, from pixel `a` (low values) to `b` (high values). */
  function makeScale(ax, a, b) {
    if (ax.cat) {
      var n = Math.max(1, ax.cats.length);
      return {
        cat: true, band: Math.abs(b - a) / n,
        pos: function (v) { return v === null ? null : a + (v + 0.5) / n * (b - a); },
        inv: function (px) { return (px - a) / (b - a) * n - 0.5; },
        ticks: function () { return ax.cats.map(function (c, k) { return { v: k, label: c, exact: c }; }); },
        domain: [-0.5, n - 0.5]
      };
    }
    var values = D.runs.map(function (r) { return val(r, ax); }).filter(function (v) { return v !== null && (!ax.log || v > 0); });
    var range = ax.metric ? robust(values) : (values.length ? [Math.min.apply(null, values), Math.max.apply(null, values)] : null);
    if (!range) { range = ax.log ? [1, 10] : [0, 1]; }
    var lo = range[0], hi = range[1];
    var f = ax.log ? function (v) { return Math.log10(v); } : function (v) { return v; };
    var g = ax.log ? function (u) { return Math.pow(10, u); } : function (u) { return u; };
    var ulo = f(lo), uhi = f(hi);
    if (ulo === uhi) { var d = ulo === 0 ? 1 : Math.abs(ulo) * 0.1; ulo -= d; uhi += d; }
    var pad = (uhi - ulo) * 0.04;
    ulo -= pad; uhi += pad;
    function pos(v) {
      if (v === null || (ax.log && v <= 0)) { return null; }
      var u = Math.min(uhi, Math.max(ulo, f(v)));
      return a + (u - ulo) / (uhi - ulo) * (b - a);
    }
    return {
      cat: false, log: ax.log, lo: g(ulo), hi: g(uhi),
      pos: pos,
      off: function (v) { var u = f(v); return u < ulo || u > uhi; },
      inv: function (px) { return g(ulo + (px - a) / (b - a) * (uhi - ulo)); },
      ticks: function (target) {
        var out = [];
        if (ax.log && uhi - ulo > 0.9) {
          var step = Math.max(1, Math.ceil((uhi - ulo) / (target || 5)));
          for (var e = Math.ceil(ulo); e <= uhi; e += step) { out.push({ v: Math.pow(10, e), label: fmt(Math.pow(10, e)) }); }
          if (out.length < 3) {
            [2, 5].forEach(function (m) {
              for (var e2 = Math.floor(ulo); e2 <= uhi; e2++) {
                var t = m * Math.pow(10, e2);
                if (f(t) >= ulo && f(t) <= uhi) { out.push({ v: t, label: fmt(t) }); }
              }
            });
          }
          return out.sort(function (x, y) { return x.v - y.v; });
        }
        var l = g(ulo), h = g(uhi), st = niceStep(h - l, target || 5);
        for (var t2 = Math.ceil(l / st) * st; t2 <= h + st * 1e-9; t2 += st) {
          var t3 = Math.abs(t2) < st * 1e-9 ? 0 : t2;
          out.push({ v: t3, label: fmt(+t3.toPrecision(12)) });
        }
        return out;
      },
      domain: [g(ulo), g(uhi)]
    };
  }

  // ---- selection, groups, colours ----------------------------------------------------------

  var brushAxes = {};
  function brushPasses(r, key, range) {
    var ax = brushAxes[key] || (brushAxes[key] = axisByKey(key)), v = val(r, ax);
    if (v === null) { return false; }
    if (ax.cat) { return v + 0.5 > range[0] && v - 0.5 < range[1]; }
    return v >= range[0] && v <= range[1];
  }
  function passes(r) {
    if (S.states[r.state] === false) { return false; }
    for (var key in S.brush) {
      if (!brushPasses(r, key, S.brush[key])) { return false; }
    }
    return true;
  }
  function filtered() { return D.runs.filter(passes); }
  function filtersActive() {
    return Object.keys(S.brush).length > 0 || Object.keys(S.states).some(function (k) { return S.states[k] === false; });
  }
  function isSelected(id) { return S.selected.indexOf(id) >= 0; }
  function toggleSelected(id) {
    var k = S.selected.indexOf(id);
    if (k >= 0) { S.selected.splice(k, 1); } else { S.selected.push(id); }
    update();
  }

  /** Groups for `S.group`: the state, a category, or a numeric parameter cut at its quartiles. */
  function grouping() {
    if (!S.group) { return null; }
    if (S.group === 'state') {
      var states = [];
      D.runs.forEach(function (r) { if (states.indexOf(r.state) < 0) { states.push(r.state); } });
      return { labels: states, of: function (r) { return states.indexOf(r.state); } };
    }
    var i = +S.group.slice(1), p = D.parameters[i];
    if (!p) { return null; }
    var distinct = [];
    D.runs.forEach(function (r) { if (r.values[i] !== null && distinct.indexOf(r.values[i]) < 0) { distinct.push(r.values[i]); } });
    if (p.axis === 'categorical' || distinct.length <= 6) {
      distinct.sort(function (a, b) { return a - b; });
      var labels = distinct.map(function (v) {
        var r = D.runs.find(function (x) { return x.values[i] === v; });
        return p.name + ' ' + (r ? r.labels[i] : fmt(v));
      });
      return { labels: labels, of: function (r) { return r.values[i] === null ? -1 : distinct.indexOf(r.values[i]); } };
    }
    var sorted = distinct.slice().sort(function (a, b) { return a - b; });
    var cuts = [quantile(sorted, 0.25), quantile(sorted, 0.5), quantile(sorted, 0.75)];
    var edges = [sorted[0]].concat(cuts).concat([sorted[sorted.length - 1]]);
    var names = [0, 1, 2, 3].map(function (k) { return p.name + ' ' + fmt(edges[k]) + '–' + fmt(edges[k + 1]); });
    return {
      labels: names,
      of: function (r) {
        var v = r.values[i];
        if (v === null) { return -1; }
        return v <= cuts[0] ? 0 : v <= cuts[1] ? 1 : v <= cuts[2] ? 2 : 3;
      }
    };
  }
  function viridis(t) {
    t = Math.max(0, Math.min(1, t));
    var x = t * (VIRIDIS.length - 1), i = Math.min(VIRIDIS.length - 2, Math.floor(x)), f = x - i;
    function c(h, k) { return parseInt(h.substr(1 + 2 * k, 2), 16); }
    var rgb = [0, 1, 2].map(function (k) { return Math.round(c(VIRIDIS[i], k) * (1 - f) + c(VIRIDIS[i + 1], k) * f); });
    return 'rgb(' + rgb.join(',') + ')';
  }
  var ranked = [];
  /** The run's rank among the runs with a metric, as 0 (the best) … 1 (the worst); ties share a rank. */
  function badness(v) {
    if (v === null || !ranked.length) { return 1; }
    if (ranked.length === 1) { return 0; }
    var lo = 0, hi = ranked.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (better(ranked[mid], v)) { lo = mid + 1; } else { hi = mid; } }
    return Math.min(1, lo / (ranked.length - 1));
  }
  function colourOf(r, groups) {
    if (groups) { var g = groups.of(r); return g < 0 ? '#98a2b3' : OKABE[g % OKABE.length]; }
    return viridis(badness(r.metric));
  }

  // ---- tooltip ---------------------------------------------------------------------------------

  function runSummaryHTML(r) {
    var rows = '<tr><th>state</th><td>' + esc(r.state) + (r.givenBack ? ' (given back)' : '') + '</td></tr>';
    if (D.metric) { rows += '<tr><th>' + esc(D.metric.name) + '</th><td><b>' + esc(fmt(r.metric)) + '</b></td></tr>'; }
    D.parameters.forEach(function (p, i) { rows += '<tr><th>' + esc(p.name) + '</th><td>' + esc(r.labels[i]) + '</td></tr>'; });
    rows += '<tr><th>epochs</th><td>' + r.epochs + '</td></tr>';
    Object.keys(r.test).forEach(function (k) { rows += '<tr><th>' + esc(k) + '</th><td>' + esc(fmt(r.test[k])) + '</td></tr>'; });
    if (r.reason) { rows += '<tr><th>reason</th><td>' + esc(r.reason.length > 120 ? r.reason.slice(0, 119) + '…' : r.reason) + '</td></tr>'; }
    return '<b>run ' + r.id + '</b> (#' + r.number + (r.id === D.best ? ', the best' : '') + ')' +
      (isSelected(r.id) ? ' · ticked' : ' · click to tick') + '<table>' + rows + '</table>';
  }
  function showTip(html, x, y) {
    var t = $('tooltip');
    if (!t) { return; }
    t.innerHTML = html;
    t.hidden = false;
    var w = t.offsetWidth, h = t.offsetHeight;
    t.style.left = Math.max(4, Math.min(window.innerWidth - w - 8, x + 14)) + 'px';
    t.style.top = Math.max(4, (y + 14 + h > window.innerHeight ? y - h - 10 : y + 14)) + 'px';
  }
  function hideTip() { var t = $('tooltip'); if (t) { t.hidden = true; } }

  // ---- parallel coordinates --------------------------------------------------------------------

  var pcState = null;

  function renderPC() {
    var host = $('pc');
    if (!host) { return; }
    host.innerHTML = '';
    var list = axes();
    var lines = D.runs.filter(function (r) { return r.metric !== null || !D.metric; });
    if (!D.metric) { host.innerHTML = '<p class="note">The sweep has no metric: the runs are listed in the table, not drawn.</p>'; return; }
    if (!lines.length) { host.innerHTML = '<p class="note">No run has a ' + esc(D.metric.name) + ' yet.</p>'; return; }
    var W = Math.max(720, Math.min(1400, host.clientWidth || 1100)), H = 400;
    var top = 60, bottom = H - 26, left = 80, right = W - 70;
    var n = list.length, spacing = n > 1 ? (right - left) / (n - 1) : 0;
    var xs = list.map(function (_, k) { return n > 1 ? left + k * spacing : (left + right) / 2; });
    var scales = list.map(function (ax) { return makeScale(ax, bottom, top); });
    var svg = newSVG(W, H, 'pc', 'Parallel coordinates of the parameters and ' + D.metric.name);
    svg.style.maxWidth = 'none';
    host.appendChild(svg);
    var groups = grouping();
    var gLines = svgEl('g', { 'class': 'lines' }, svg);
    var inSel = {}, pts = {};
    lines.forEach(function (r) {
      inSel[r.id] = passes(r);
      pts[r.id] = list.map(function (ax, k) {
        var v = val(r, ax), y = scales[k].pos(v);
        if (y !== null && scales[k].cat) { y += hashJitter(r.id, k) * scales[k].band * 0.18; }
        return y;
      });
    });
    function pathOf(id) {
      var d = '', pen = false;
      pts[id].forEach(function (y, k) {
        if (y === null) { pen = false; return; }
        d += (pen ? 'L' : 'M') + xs[k].toFixed(1) + ' ' + y.toFixed(1);
        pen = true;
      });
      return d;
    }
    var order = lines.slice().sort(function (a, b) {
      if (inSel[a.id] !== inSel[b.id]) { return inSel[a.id] ? 1 : -1; }
      return better(a.metric, b.metric) ? 1 : better(b.metric, a.metric) ? -1 : b.id - a.id;
    });
    var opacity = lines.length <= 60 ? 0.85 : lines.length <= 400 ? 0.55 : 0.3;
    var paths = {};
    order.forEach(function (r) {
      var cls = 'pcl' + (inSel[r.id] ? '' : ' out');
      var attrs = { d: pathOf(r.id), 'class': cls, 'data-run': r.id };
      if (inSel[r.id]) { attrs.stroke = colourOf(r, groups); attrs['stroke-opacity'] = opacity; }
      paths[r.id] = svgEl('path', attrs, gLines);
      if (r.id === D.best && inSel[r.id]) { paths[r.id].setAttribute('stroke-width', '2.4'); }
    });
    S.selected.forEach(function (id) {
      if (!paths[id]) { return; }
      var r = runById(id);
      svgEl('path', { d: pathOf(id), 'class': 'pcl selhalo' }, gLines);
      svgEl('path', { d: pathOf(id), 'class': 'pcl sel', stroke: colourOf(r, groups), 'data-run': id }, gLines);
    });

    // Axes, ticks, brushes, titles over the lines.
    list.forEach(function (ax, k) {
      var x = xs[k], sc = scales[k];
      var g = svgEl('g', { 'class': 'pc-axis-g', 'data-axis': ax.key, transform: 'translate(' + x + ',0)' }, svg);
      svgEl('line', { x1: 0, y1: top, x2: 0, y2: bottom, 'class': 'axis pc-axis' }, g);
      var ticks = sc.ticks(sc.cat ? 12 : 6), last = null;
      ticks.forEach(function (t) {
        var y = sc.pos(t.v);
        if (y === null || (last !== null && Math.abs(last - y) < 12)) { return; }
        last = y;
        svgEl('line', { x1: -3, y1: y, x2: 3, y2: y, 'class': 'axis' }, g);
        var label = t.label.length > 14 ? t.label.slice(0, 13) + '…' : t.label;
        title(svgEl('text', { x: -5, y: y + 4, 'class': 'tick halo', 'text-anchor': 'end' }, g, label), t.exact || String(t.v));
      });
      var b = S.brush[ax.key];
      if (b) {
        var y0 = sc.pos(b[0]), y1 = sc.pos(b[1]);
        var yy0 = Math.max(top - 2, Math.min(y0, y1)), yy1 = Math.min(bottom + 2, Math.max(y0, y1));
        title(svgEl('rect', { x: -9, y: yy0, width: 18, height: Math.max(2, yy1 - yy0), 'class': 'brush' }, g),
              ax.name + ': ' + (ax.cat ? 'selected categories' : exact(b[0]) + ' … ' + exact(b[1])) + ' (click the axis to clear)');
      }
      var hit = svgEl('rect', { x: -12, y: top - 4, width: 24, height: bottom - top + 8, 'class': 'hit', 'data-axis': ax.key }, g);
      title(hit, 'drag up or down to filter ' + ax.name + '; click to clear');
      hit.addEventListener('pointerdown', function (ev) { startBrush(ev, ax, sc, g, top, bottom); });
      var name = ax.name.length > Math.max(8, spacing / 7) ? ax.name.slice(0, Math.max(7, Math.floor(spacing / 7) - 1)) + '…' : ax.name;
      var tt = svgEl('text', { x: 0, y: 16, 'class': 'axis-title drag' + (ax.metric ? ' strong' : ''), 'text-anchor': 'middle', 'data-axis': ax.key }, g, name);
      title(tt, ax.name + ' (drag sideways to move the axis)');
      tt.addEventListener('pointerdown', function (ev) { startMove(ev, ax, g, x, xs, list); });
      if (ax.metric) {
        svgEl('text', { x: 0, y: 31, 'class': 'tick', 'text-anchor': 'middle' }, g, goal === 'minimize' ? 'lower is better' : 'higher is better');
        if (ax.canLog) {
          var mt = svgEl('text', { x: 0, y: 44, 'class': 'toggle', 'text-anchor': 'middle', 'data-toggle': 'metric' }, g, ax.log ? 'log' : 'linear');
          title(mt, 'click for a ' + (ax.log ? 'linear' : 'log') + ' axis');
          mt.addEventListener('click', function () { S.scale.metric = ax.log ? 'linear' : 'log'; update(); });
        }
      } else if (ax.canLog) {
        var tog = svgEl('text', { x: 0, y: 31, 'class': 'toggle', 'text-anchor': 'middle', 'data-toggle': ax.key }, g, ax.log ? 'log' : 'linear');
        title(tog, 'click for a ' + (ax.log ? 'linear' : 'log') + ' axis');
        tog.addEventListener('click', function () { S.scale[ax.key] = ax.log ? 'linear' : 'log'; update(); });
      } else if (ax.cat) {
        svgEl('text', { x: 0, y: 31, 'class': 'tick', 'text-anchor': 'middle' }, g, 'categories');
      }
    });
    pcState = { svg: svg, xs: xs, pts: pts, paths: paths, inSel: inSel, top: top, bottom: bottom };

    svg.addEventListener('mousemove', function (ev) {
      if (dragging) { return; }
      var id = nearestLine(ev);
      setHover(id, ev);
    });
    svg.addEventListener('mouseleave', function () { setHover(null); });
    svg.addEventListener('click', function (ev) {
      if (ev.target.closest && ev.target.closest('.hit, .drag, .toggle')) { return; }
      var id = nearestLine(ev);
      if (id !== null) { toggleSelected(id); }
    });

    var legend = $('pc-legend');
    if (legend) {
      var text = '';
      if (groups) {
        groups.labels.forEach(function (l, k) { text += '<span><i class="sw" style="background:' + OKABE[k % OKABE.length] + ';height:3px"></i>' + esc(l) + '</span>'; });
      } else if (ranked.length) {
        var stops = [0, 0.25, 0.5, 0.75, 1].map(function (t) { return viridis(t) + ' ' + (t * 100) + '%'; }).join(',');
        var bestV = ranked[0], worstV = ranked[ranked.length - 1];
        text += '<span>colour: rank by ' + esc(D.metric.name) + ', best <span title="' + esc(exact(bestV)) + '">' + esc(fmt(bestV)) + '</span>' +
          '<i class="gradbar" style="background:linear-gradient(90deg,' + stops + ')"></i>worst <span title="' + esc(exact(worstV)) + '">' + esc(fmt(worstV)) + '</span>' +
          ' (' + ranked.length + ' run' + (ranked.length === 1 ? '' : 's') + ')</span>';
      }
      text += '<span><i class="sw" style="background:#d0d5dd;height:3px"></i>outside the filters</span><span><i class="sw" style="background:#1d2330;height:4px"></i>ticked for comparison</span>';
      var hidden = D.parameters.filter(function (p) { return !p.varies; }).map(function (p) { return p.name; });
      if (hidden.length) { text += '<span class="dim">no axis (one value so far): ' + esc(hidden.join(', ')) + '</span>'; }
      legend.innerHTML = text;
    }
  }

  function svgPoint(svg, ev) {
    var m = svg.getScreenCTM();
    if (!m) { return { x: 0, y: 0 }; }
    var p = svg.createSVGPoint();
    p.x = ev.clientX; p.y = ev.clientY;
    var q = p.matrixTransform(m.inverse());
    return { x: q.x, y: q.y };
  }
  /** The run whose line passes nearest the pointer (within 10 px), or null. */
  function nearestLine(ev) {
    if (!pcState) { return null; }
    var p = svgPoint(pcState.svg, ev), xs = pcState.xs, best = null, bestD = 10;
    var k = 0;
    while (k < xs.length - 2 && p.x > xs[k + 1]) { k++; }
    for (var id in pcState.pts) {
      var ys = pcState.pts[id], y;
      if (xs.length === 1) { y = ys[0]; } else {
        if (ys[k] === null || ys[k + 1] === null) { continue; }
        var f = Math.max(0, Math.min(1, (p.x - xs[k]) / (xs[k + 1] - xs[k])));
        y = ys[k] * (1 - f) + ys[k + 1] * f;
      }
      if (y === null) { continue; }
      var d = Math.abs(y - p.y);
      if (!pcState.inSel[id]) { d += 4; }
      if (d < bestD) { bestD = d; best = +id; }
    }
    return best;
  }
  function setHover(id, ev) {
    if (pcState) {
      var old = pcState.svg.querySelector('.pcl.hot');
      if (old) { old.parentNode.removeChild(old); }
    }
    S.hover = id;
    document.querySelectorAll('#runs-table tr.hot, [data-part] .hot-run').forEach(function (e) { e.classList.remove('hot', 'hot-run'); });
    if (id === null || id === undefined) { hideTip(); return; }
    var r = runById(id);
    if (!r) { return; }
    if (pcState && pcState.paths[id]) {
      var hot = pcState.paths[id].cloneNode(false);
      hot.setAttribute('class', 'pcl hot');
      hot.setAttribute('stroke', colourOf(r, grouping()));
      hot.style.pointerEvents = 'none';
      pcState.paths[id].parentNode.appendChild(hot);
    }
    var tr = document.querySelector('#runs-table tr[data-run="' + id + '"]');
    if (tr) { tr.classList.add('hot'); }
    document.querySelectorAll('[data-part] [data-run="' + id + '"]').forEach(function (e) {
      e.classList.add('hot-run');
      if (e.tagName.toLowerCase() === 'path') { e.parentNode.appendChild(e); }
    });
    if (ev) { showTip(runSummaryHTML(r), ev.clientX, ev.clientY); }
  }

  var dragging = false;
  function startBrush(ev, ax, sc, g, top, bottom) {
    ev.preventDefault();
    var svg = g.ownerSVGElement, y0 = svgPoint(svg, ev).y, moved = false;
    var rect = svgEl('rect', { x: -9, y: y0, width: 18, height: 0, 'class': 'brush' }, g);
    dragging = true;
    hideTip();
    function move(e) {
      var y = Math.max(top, Math.min(bottom, svgPoint(svg, e).y));
      if (Math.abs(y - y0) > 3) { moved = true; }
      rect.setAttribute('y', Math.min(y, y0));
      rect.setAttribute('height', Math.abs(y - y0));
    }
    function up(e) {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      dragging = false;
      var y = Math.max(top, Math.min(bottom, svgPoint(svg, e).y));
      if (!moved || Math.abs(y - y0) <= 3) {
        delete S.brush[ax.key];
      } else {
        var a = sc.inv(Math.min(y, y0)), b = sc.inv(Math.max(y, y0));
        S.brush[ax.key] = [Math.min(a, b), Math.max(a, b)];
      }
      S.page = 0;
      update();
    }
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  }
  function startMove(ev, ax, g, x0, xs, list) {
    ev.preventDefault();
    var svg = g.ownerSVGElement, p0 = svgPoint(svg, ev).x;
    dragging = true;
    hideTip();
    function move(e) { g.setAttribute('transform', 'translate(' + (x0 + svgPoint(svg, e).x - p0) + ',0)'); }
    function up(e) {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      dragging = false;
      var x = x0 + svgPoint(svg, e).x - p0;
      var keys = [], at = 0;
      list.forEach(function (a, j) {
        if (a.key === ax.key) { return; }
        keys.push(a.key);
        if (xs[j] < x) { at++; }
      });
      keys.splice(at, 0, ax.key);
      S.order = keys;
      update();
    }
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  }

  // ---- controls ------------------------------------------------------------------------------

  function renderControls() {
    var host = $('explore-controls');
    if (!host) { return; }
    var states = Object.keys(D.counts);
    var html = '<label>group and colour by <select id="group-by"><option value="">' + (D.metric ? esc(D.metric.name) + ' (colour)' : 'nothing') + '</option><option value="state">state</option>';
    D.parameters.forEach(function (p, i) { html += '<option value="p' + i + '">' + esc(p.name) + '</option>'; });
    html += '</select></label> <span class="statebox">states:';
    states.forEach(function (s) {
      html += ' <label><input type="checkbox" data-state="' + esc(s) + '"' + (S.states[s] === false ? '' : ' checked') + '> ' + esc(s) + ' (' + D.counts[s] + ')</label>';
    });
    html += '</span> <button type="button" id="reset-filters">clear filters</button> <span id="filter-info" class="dim"></span>';
    host.innerHTML = html;
    var sel = $('group-by');
    sel.value = S.group;
    sel.addEventListener('change', function () { S.group = sel.value; update(); });
    host.querySelectorAll('input[data-state]').forEach(function (box) {
      box.addEventListener('change', function () { S.states[box.getAttribute('data-state')] = box.checked; S.page = 0; update(); });
    });
    $('reset-filters').addEventListener('click', function () { S.brush = {}; S.states = {}; S.page = 0; update(); });
    var info = $('filter-info'), n = filtered().length;
    if (info) {
      var parts = Object.keys(S.brush).map(function (k) {
        var ax = axisByKey(k), b = S.brush[k];
        if (ax.cat) {
          var names = ax.cats.filter(function (_, c) { return c + 0.5 > b[0] && c - 0.5 < b[1]; });
          return ax.name + ' ∈ {' + names.join(', ') + '}';
        }
        return ax.name + ' ' + fmt(b[0]) + '…' + fmt(b[1]);
      });
      info.textContent = filtersActive() ? n + ' of ' + D.runs.length + ' runs match' + (parts.length ? ': ' + parts.join('; ') : '') : '';
    }
  }

  // ---- runs table ------------------------------------------------------------------------------

  function renderTable() {
    var table = $('runs-table');
    if (!table) { return; }
    var shown = D.parameters.map(function (p, i) { return i; }).filter(function (i) { return D.parameters[i].varies || D.runs.length === 1; });
    var cols = [{ key: 'sel', label: '✓', title: 'tick runs to compare them' }, { key: 'number', label: '#', num: true }, { key: 'id', label: 'run', num: true },
                { key: 'state', label: 'state' }];
    shown.forEach(function (i) {
      var p = D.parameters[i];
      cols.push({ key: 'p' + i, label: p.name, num: p.axis !== 'categorical', title: p.distribution });
    });
    cols.push({ key: 'metric', label: D.metric ? D.metric.name : 'metric', num: true });
    cols.push({ key: 'epochs', label: 'epochs', num: true, title: 'epochs trained (a run from pre-trained parts also logs its start)' });
    cols.push({ key: 'duration', label: 'duration', num: true });
    cols.push({ key: 'reason', label: 'reason' });
    function key(r, k) {
      if (k === 'sel') { return isSelected(r.id) ? 0 : 1; }
      if (k[0] === 'p' && k !== 'p') { var i = +k.slice(1); return r.values[i] === null ? null : r.values[i]; }
      return r[k] === undefined ? null : r[k];
    }
    var rows = D.runs.filter(function (r) { return passes(r) && (!S.onlyTicked || isSelected(r.id)); });
    var sk = S.sortKey, sd = S.sortDir;
    rows.sort(function (a, b) {
      var x = key(a, sk), y = key(b, sk);
      if (x === null && y !== null) { return 1; }
      if (y === null && x !== null) { return -1; }
      if (x === y) { return a.number - b.number; }
      return (x < y ? -1 : 1) * sd;
    });
    var size = 50, pages = S.showAll ? 1 : Math.max(1, Math.ceil(rows.length / size));
    if (S.page >= pages) { S.page = pages - 1; }
    var slice = S.showAll ? rows : rows.slice(S.page * size, (S.page + 1) * size);
    var head = '<tr>' + cols.map(function (c) {
      return '<th data-key="' + c.key + '"' + (c.title ? ' title="' + esc(c.title) + '"' : '') + (S.sortKey === c.key ? ' data-sort="' + (S.sortDir > 0 ? 'asc' : 'desc') + '"' : '') + '>' + esc(c.label) + '</th>';
    }).join('') + '</tr>';
    var body = slice.map(function (r) {
      var cls = (r.id === D.best ? 'best-row ' : '') + (isSelected(r.id) ? 'sel' : '');
      var h = '<tr data-run="' + r.id + '" data-state="' + esc(r.state) + '"' + (cls ? ' class="' + cls + '"' : '') + '>';
      h += '<td><input type="checkbox" class="pick" data-run="' + r.id + '"' + (isSelected(r.id) ? ' checked' : '') + ' aria-label="tick run ' + r.id + '"></td>';
      h += '<td class="num">' + r.number + '</td><td class="num">' + r.id + (r.id === D.best ? ' ★' : '') + '</td>';
      h += '<td><span class="st ' + esc(r.state) + '">' + esc(r.state) + '</span>' + (r.givenBack ? ' <span class="dim">(given back)</span>' : '') + '</td>';
      shown.forEach(function (i) {
        var p = D.parameters[i], raw = r.config[p.name], ex = raw === undefined ? r.labels[i] : (typeof raw === 'object' ? JSON.stringify(raw) : String(raw));
        h += '<td' + (p.axis !== 'categorical' ? ' class="num"' : '') + ' title="' + esc(ex) + '">' + esc(r.labels[i]) + '</td>';
      });
      h += '<td class="num" title="' + esc(exact(r.metric)) + '">' + (r.metric === null ? '<span class="dim">—</span>' : '<b>' + esc(fmt(r.metric)) + '</b>') + '</td>';
      h += '<td class="num">' + r.epochs + '</td><td class="num" title="' + esc(exact(r.duration)) + ' s">' + esc(dur(r.duration)) + '</td>';
      var note = r.reason || '';
      h += '<td class="reason" title="' + esc(note) + '">' + esc(note.length > 60 ? note.slice(0, 59) + '…' : note) + '</td></tr>';
      return h;
    }).join('');
    table.innerHTML = '<thead>' + head + '</thead><tbody>' + body + '</tbody>';
    table.tHead.querySelectorAll('th').forEach(function (th) {
      th.addEventListener('click', function () {
        var k = th.getAttribute('data-key');
        S.sortDir = S.sortKey === k ? -S.sortDir : (k === 'metric' && goal === 'maximize' ? -1 : 1);
        S.sortKey = k;
        S.page = 0;
        renderTable();
      });
    });
    table.querySelectorAll('input.pick').forEach(function (box) {
      box.addEventListener('click', function (ev) { ev.stopPropagation(); toggleSelected(+box.getAttribute('data-run')); });
    });
    table.tBodies[0].querySelectorAll('tr').forEach(function (tr) {
      var id = +tr.getAttribute('data-run');
      tr.addEventListener('mouseenter', function () { setHover(id); });
      tr.addEventListener('mouseleave', function () { setHover(null); });
    });
    // Controls: page info, paging, ticked only, export.
    var c = $('table-controls');
    if (c) {
      var total = D.runs.length;
      var info = (rows.length === total ? total + ' runs' : rows.length + ' of ' + total + ' runs') +
        (pages > 1 ? ' · page ' + (S.page + 1) + ' of ' + pages : '');
      c.innerHTML = '<span id="page-info">' + esc(info) + '</span> ' +
        (pages > 1 || S.showAll ? '<button type="button" id="prev">‹ previous</button> <button type="button" id="next">next ›</button> <button type="button" id="all">' + (S.showAll ? 'pages of 50' : 'show all') + '</button> ' : '') +
        '<label><input type="checkbox" id="only-ticked"' + (S.onlyTicked ? ' checked' : '') + '> ticked only (' + S.selected.length + ')</label> ' +
        '<button type="button" id="export-csv" title="the runs shown, with exact values">export CSV</button>';
      var prev = $('prev'), next = $('next'), all = $('all');
      if (prev) { prev.addEventListener('click', function () { if (S.page > 0) { S.page--; renderTable(); } }); }
      if (next) { next.addEventListener('click', function () { if (S.page < pages - 1) { S.page++; renderTable(); } }); }
      if (all) { all.addEventListener('click', function () { S.showAll = !S.showAll; S.page = 0; renderTable(); }); }
      $('only-ticked').addEventListener('change', function (e) { S.onlyTicked = e.target.checked; S.page = 0; renderTable(); });
      $('export-csv').addEventListener('click', function () { exportCSV(rows); });
    }
  }
  function dur(s) {
    if (s === null || !isFinite(s) || s < 0) { return '?'; }
    if (s < 60) { return s.toFixed(1) + 's'; }
    if (s < 3600) { return Math.floor(s / 60) + 'm' + ('0' + Math.floor(s % 60)).slice(-2) + 's'; }
    return Math.floor(s / 3600) + 'h' + ('0' + Math.floor((s % 3600) / 60)).slice(-2) + 'm';
  }
  function csvCell(v) {
    var s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function exportCSV(rows) {
    var testNames = [];
    rows.forEach(function (r) { Object.keys(r.test).forEach(function (k) { if (testNames.indexOf(k) < 0) { testNames.push(k); } }); });
    var names = D.parameters.map(function (p) { return p.name; });
    var lines = [['run', 'number', 'state', 'seed'].concat(names).concat([D.metric ? D.metric.name : 'metric', 'epochs', 'duration_seconds', 'reason']).concat(testNames).map(csvCell).join(',')];
    rows.forEach(function (r) {
      var cells = [r.id, r.number, r.state, r.seed].concat(names.map(function (n) { return r.config[n]; }))
        .concat([r.metric, r.epochs, r.duration, r.reason]).concat(testNames.map(function (k) { return r.test[k]; }));
      lines.push(cells.map(csvCell).join(','));
    });
    var blob = new Blob([lines.join('\n') + '\n'], { type: 'text/csv' });
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'sweep-' + D.sweep.id + '-runs.csv';
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  // ---- a line chart (comparison, EDF) ------------------------------------------------------

  function lineChart(series, opts) {
    var W = opts.width || 540, H = opts.height || 300, L = 64, R = 14, T = 16, B = 42;
    var svg = newSVG(W, H, '', opts.label || '');
    var xsAll = [], ysAll = [];
    series.forEach(function (s) { s.points.forEach(function (p) { xsAll.push(p[0]); ysAll.push(p[1]); }); });
    if (!xsAll.length) { return null; }
    var xr = opts.xRange || [Math.min.apply(null, xsAll), Math.max.apply(null, xsAll)];
    var yr = opts.yRange || robust(ysAll);
    var xs = fixedScale(xr, L, W - R, !opts.xRange), ys = fixedScale(yr, H - B, T, !opts.yRange);
    axesFor(svg, xs, ys, L, W - R, T, H - B, opts.xTitle, opts.yTitle, opts.xInt);
    var clipId = 'clip-' + Math.random().toString(36).slice(2);
    var defs = svgEl('defs', {}, svg), cp = svgEl('clipPath', { id: clipId }, defs);
    svgEl('rect', { x: L, y: T - 2, width: W - R - L, height: H - B - T + 4 }, cp);
    var g = svgEl('g', { 'clip-path': 'url(#' + clipId + ')' }, svg);
    series.forEach(function (s) {
      var d = '';
      s.points.forEach(function (p, k) {
        var x = xs.pos(p[0]), y = ys.pos(p[1]);
        if (s.step && k > 0) { d += 'H' + x.toFixed(1) + 'V' + y.toFixed(1); } else { d += (k ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1); }
      });
      var path = svgEl('path', { d: d, fill: 'none', stroke: s.colour, 'stroke-width': s.width || 2, 'stroke-dasharray': s.dash || null, 'class': s.cls || null }, g);
      title(path, s.label);
      if (s.dots) {
        s.points.forEach(function (p) {
          title(svgEl('circle', { cx: xs.pos(p[0]), cy: ys.pos(p[1]), r: 2.6, fill: s.colour }, g), s.label + ': ' + fmt(p[0]) + ', ' + exact(p[1]));
        });
      }
    });
    return svg;
  }
  function fixedScale(range, a, b, pad) {
    var lo = range[0], hi = range[1];
    if (lo === hi) { var d = lo === 0 ? 1 : Math.abs(lo) * 0.1; lo -= d; hi += d; }
    if (pad) { var p = (hi - lo) * 0.04; lo -= p; hi += p; }
    return {
      pos: function (v) { return a + (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo) * (b - a); },
      ticks: function (target) {
        var st = niceStep(hi - lo, target || 5), out = [];
        for (var t = Math.ceil(lo / st) * st; t <= hi + st * 1e-9; t += st) { out.push(Math.abs(t) < st * 1e-9 ? 0 : +t.toPrecision(12)); }
        return out;
      }
    };
  }
  function axesFor(svg, xs, ys, x0, x1, y0, y1, xTitle, yTitle, xInt) {
    ys.ticks(5).forEach(function (t) {
      var y = ys.pos(t);
      svgEl('line', { x1: x0, y1: y, x2: x1, y2: y, 'class': 'gridline' }, svg);
      title(svgEl('text', { x: x0 - 5, y: y + 4, 'class': 'tick', 'text-anchor': 'end' }, svg, fmt(t)), String(t));
    });
    xs.ticks(6).forEach(function (t) {
      if (xInt && t !== Math.round(t)) { return; }
      var x = xs.pos(t);
      svgEl('line', { x1: x, y1: y1, x2: x, y2: y1 + 4, 'class': 'axis' }, svg);
      title(svgEl('text', { x: x, y: y1 + 16, 'class': 'tick', 'text-anchor': 'middle' }, svg, fmt(t)), String(t));
    });
    svgEl('line', { x1: x0, y1: y1, x2: x1, y2: y1, 'class': 'axis' }, svg);
    svgEl('line', { x1: x0, y1: y0, x2: x0, y2: y1, 'class': 'axis' }, svg);
    if (xTitle) { svgEl('text', { x: (x0 + x1) / 2, y: y1 + 34, 'class': 'axis-title', 'text-anchor': 'middle' }, svg, xTitle); }
    if (yTitle) { svgEl('text', { x: 14, y: (y0 + y1) / 2, 'class': 'axis-title', 'text-anchor': 'middle', transform: 'rotate(-90 14 ' + (y0 + y1) / 2 + ')' }, svg, yTitle); }
  }

  // ---- comparison ------------------------------------------------------------------------------

  function renderCompare() {
    var host = $('compare-body');
    if (!host) { return; }
    var runs = S.selected.map(runById).filter(function (r) { return r; });
    S.selected = runs.map(function (r) { return r.id; });
    if (!runs.length) {
      host.innerHTML = '<p class="note">Tick runs in the table, or click lines in the parallel coordinates, to compare their configs and learning curves.</p>';
      return;
    }
    var colours = runs.map(function (_, k) { return OKABE[k % OKABE.length]; });
    var head = '<tr><th></th>' + runs.map(function (r, k) {
      return '<th><i class="sw" style="background:' + colours[k] + ';height:4px"></i>run ' + r.id + (r.id === D.best ? ' ★' : '') + '</th>';
    }).join('') + '</tr>';
    var rows = [];
    function row(name, cells, exacts, forceSame) {
      var same = forceSame || cells.every(function (c) { return c === cells[0]; });
      rows.push('<tr class="' + (same || runs.length < 2 ? '' : 'diff') + '"><th>' + esc(name) + '</th>' + cells.map(function (c, k) {
        return '<td' + (exacts ? ' title="' + esc(exacts[k]) + '"' : '') + '>' + esc(c) + '</td>';
      }).join('') + '</tr>');
    }
    row('state', runs.map(function (r) { return r.state; }));
    if (D.metric) {
      row(D.metric.name, runs.map(function (r) { return fmt(r.metric); }), runs.map(function (r) { return exact(r.metric); }), true);
    }
    var keys = [];
    runs.forEach(function (r) { Object.keys(r.config).forEach(function (k) { if (keys.indexOf(k) < 0) { keys.push(k); } }); });
    keys.sort();
    var differing = 0;
    keys.forEach(function (k) {
      var cells = runs.map(function (r) {
        var v = r.config[k];
        if (v === undefined) { return '—'; }
        return typeof v === 'number' ? fmt(v) : typeof v === 'object' ? JSON.stringify(v) : String(v);
      });
      var ex = runs.map(function (r) { var v = r.config[k]; return v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v); });
      var same = ex.every(function (c) { return c === ex[0]; });
      if (!same) { differing++; }
      row(k, cells, ex, same);
    });
    row('seed', runs.map(function (r) { return String(r.seed); }));
    row('epochs', runs.map(function (r) { return String(r.epochs); }), null, true);
    row('duration', runs.map(function (r) { return dur(r.duration); }), runs.map(function (r) { return exact(r.duration) + ' s'; }), true);
    var tests = [];
    runs.forEach(function (r) { Object.keys(r.test).forEach(function (k) { if (tests.indexOf(k) < 0) { tests.push(k); } }); });
    tests.sort().forEach(function (k) { row(k, runs.map(function (r) { return fmt(r.test[k]); }), runs.map(function (r) { return exact(r.test[k]); }), true); });
    var html = '<p class="sub">' + (runs.length < 2 ? 'Tick another run to compare.' : differing + ' of ' + keys.length + ' parameter' + (keys.length === 1 ? '' : 's') + ' differ (highlighted).') +
      ' <button type="button" id="clear-ticks">untick all</button></p><div class="grid two"><div class="tablewrap"><table class="cmp" id="compare-table"><thead>' + head + '</thead><tbody>' + rows.join('') + '</tbody></table></div><div id="compare-curves"></div></div>';
    host.innerHTML = html;
    $('clear-ticks').addEventListener('click', function () { S.selected = []; update(); });
    var curves = $('compare-curves');
    if (D.metric) {
      var series = runs.map(function (r, k) {
        return { label: 'run ' + r.id, colour: colours[k], points: r.history.map(function (v, e) { return [e + r.first_epoch, v]; }), dots: r.history.length <= 40, width: 2.2 };
      }).filter(function (s) { return s.points.length; });
      var chart = series.length ? lineChart(series, { xTitle: 'epoch', yTitle: D.metric.name, xInt: true, label: D.metric.name + ' per epoch of the ticked runs' }) : null;
      if (chart) {
        chart.id = 'compare-chart';
        curves.appendChild(chart);
        var cap = document.createElement('p');
        cap.className = 'legend';
        cap.innerHTML = esc(D.metric.name) + ' per epoch, overlaid: ' + series.map(function (s) {
          return '<span><i class="sw" style="background:' + s.colour + ';height:3px"></i>' + esc(s.label) + '</span>';
        }).join('');
        curves.appendChild(cap);
      } else {
        curves.innerHTML = '<p class="note">No per-epoch values logged by the ticked runs yet.</p>';
      }
      // The other learning curves (Train Loss, …) where the data has them: the best and stopped runs.
      (D.curveMetrics || []).forEach(function (name) {
        if (name === D.metric.name) { return; }
        var more = [];
        runs.forEach(function (r, k) {
          var c = (D.curves || []).find(function (x) { return x.run === r.id; });
          if (c && c.series[name] && c.series[name].length) {
            more.push({ label: 'run ' + r.id, colour: colours[k], points: c.series[name], dots: c.series[name].length <= 40, width: 2 });
          }
        });
        if (!more.length) { return; }
        var extra = lineChart(more, { xTitle: 'epoch', yTitle: name, xInt: true, label: name + ' per epoch of the ticked runs', height: 240 });
        if (!extra) { return; }
        extra.setAttribute('class', extra.getAttribute('class') + ' compare-extra');
        curves.appendChild(extra);
        var note = document.createElement('p');
        note.className = 'legend';
        note.textContent = name + (more.length < runs.length ? ' (kept for the best and the stopped runs only: ' + more.length + ' of the ' + runs.length + ' ticked)' : '');
        curves.appendChild(note);
      });
    }
  }

  // ---- scatter per parameter -------------------------------------------------------------------

  function renderScatters() {
    var host = $('scatters');
    if (!host || !D.metric) { return; }
    host.innerHTML = '';
    var groups = grouping();
    var metricAx = axisByKey('metric');
    var shown = D.parameters.filter(function (p) { return p.varies; });
    if (!shown.length) { host.innerHTML = '<p class="note">No parameter has taken two values yet.</p>'; return; }
    var inside = {}, colours = {};
    D.runs.forEach(function (r) { inside[r.id] = passes(r); colours[r.id] = colourOf(r, groups); });
    D.parameters.forEach(function (p, i) {
      if (!p.varies) { return; }
      var ax = axisByKey('p' + i);
      var W = 360, H = 240, L = 58, R = 12, T = 12, B = ax.cat ? 52 : 40;
      var svg = newSVG(W, H, 'scatter', D.metric.name + ' against ' + p.name);
      var xs = makeScale(ax, L, W - R), ys = makeScale(metricAx, H - B, T);
      ys.ticks(5).forEach(function (t) {
        var y = ys.pos(t.v);
        svgEl('line', { x1: L, y1: y, x2: W - R, y2: y, 'class': 'gridline' }, svg);
        title(svgEl('text', { x: L - 5, y: y + 4, 'class': 'tick', 'text-anchor': 'end' }, svg, t.label), String(t.v));
      });
      var last = -1e9;
      xs.ticks(ax.cat ? 12 : 4).forEach(function (t) {
        var x = xs.pos(t.v);
        if (x - last < (ax.cat ? 14 : 40)) { return; }
        last = x;
        svgEl('line', { x1: x, y1: H - B, x2: x, y2: H - B + 4, 'class': 'axis' }, svg);
        var label = t.label.length > 10 ? t.label.slice(0, 9) + '…' : t.label;
        var txt = ax.cat ? svgEl('text', { x: x, y: H - B + 14, 'class': 'tick', 'text-anchor': 'end', transform: 'rotate(-30 ' + x + ' ' + (H - B + 14) + ')' }, svg, label)
                         : svgEl('text', { x: x, y: H - B + 16, 'class': 'tick', 'text-anchor': 'middle' }, svg, label);
        title(txt, t.exact || String(t.v));
      });
      svgEl('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, 'class': 'axis' }, svg);
      svgEl('line', { x1: L, y1: T, x2: L, y2: H - B, 'class': 'axis' }, svg);
      svgEl('text', { x: 14, y: (T + H - B) / 2, 'class': 'axis-title', 'text-anchor': 'middle', transform: 'rotate(-90 14 ' + (T + H - B) / 2 + ')' }, svg, D.metric.name);
      var runs = D.runs.filter(function (r) { return r.metric !== null && r.values[i] !== null; });
      runs = runs.filter(function (r) { return !inside[r.id]; }).concat(runs.filter(function (r) { return inside[r.id]; }));
      runs.forEach(function (r) {
        var x = xs.pos(r.values[i]), y = ys.pos(r.metric);
        if (x === null || y === null) { return; }
        if (ax.cat) { x += hashJitter(r.id, 99) * xs.band * 0.3; }
        var c = svgEl('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: runs.length > 400 ? 2.2 : 3.6, 'class': inside[r.id] ? 'pt' : 'pt grey', fill: inside[r.id] ? colours[r.id] : null, 'data-run': r.id, cursor: 'pointer' }, svg);
        title(c, 'run ' + r.id + ': ' + p.name + ' ' + r.labels[i] + ', ' + D.metric.name + ' ' + exact(r.metric));
        if (isSelected(r.id)) { svgEl('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 6.5, 'class': 'ring' }, svg); }
      });
      svg.addEventListener('click', function (ev) {
        var id = ev.target.getAttribute && ev.target.getAttribute('data-run');
        if (id) { toggleSelected(+id); }
      });
      var fig = document.createElement('figure');
      fig.appendChild(svg);
      var cap = document.createElement('figcaption');
      var imp = p.importance !== null && D.importance.runs >= 5 ? ' · importance ' + Math.round(p.importance * 100) + '%' : '';
      var rho = p.spearman !== null && D.importance.runs >= 5 ? ' · ρ ' + (p.spearman >= 0 ? '+' : '') + p.spearman.toFixed(2) : '';
      cap.innerHTML = '<b>' + esc(p.name) + '</b>' + esc(imp + rho) + (ax.canLog ? ' · <a href="#" data-toggle="p' + i + '">' + (ax.log ? 'linear axis' : 'log axis') + '</a>' : '') +
        '<br><span class="dim">' + esc(p.distribution) + '</span>';
      fig.appendChild(cap);
      host.appendChild(fig);
      var a = cap.querySelector('a[data-toggle]');
      if (a) { a.addEventListener('click', function (e) { e.preventDefault(); S.scale['p' + i] = ax.log ? 'linear' : 'log'; update(); }); }
    });
  }

  // ---- EDF -------------------------------------------------------------------------------------

  function renderEDF() {
    var host = $('edf');
    if (!host || !D.metric) { return; }
    host.innerHTML = '';
    var all = D.runs.filter(function (r) { return r.metric !== null; });
    if (!all.length) { host.innerHTML = '<p class="note">No run has a ' + esc(D.metric.name) + ' yet.</p>'; return; }
    function edf(runs) {
      var v = runs.map(function (r) { return r.metric; }).sort(function (a, b) { return goal === 'maximize' ? b - a : a - b; });
      var pts = [];
      v.forEach(function (x, k) { pts.push([x, k / v.length]); pts.push([x, (k + 1) / v.length]); });
      return pts;
    }
    var series = [], groups = grouping();
    if (groups) {
      groups.labels.forEach(function (l, k) {
        var runs = all.filter(function (r) { return passes(r) && groups.of(r) === k; });
        if (runs.length) { series.push({ label: l + ' (' + runs.length + ')', colour: OKABE[k % OKABE.length], points: edf(runs), width: 2 }); }
      });
    } else {
      series.push({ label: 'all runs (' + all.length + ')', colour: '#8a94a3', points: edf(all), width: 2 });
      var sel = all.filter(passes);
      if (filtersActive() && sel.length) { series.push({ label: 'filtered (' + sel.length + ')', colour: '#0072B2', points: edf(sel), width: 2.4 }); }
    }
    var range = robust(all.map(function (r) { return r.metric; }));
    series.forEach(function (s) { s.points = s.points.map(function (p) { return [Math.min(range[1], Math.max(range[0], p[0])), p[1]]; }); });
    var chart = lineChart(series, { xTitle: D.metric.name + ' (' + (goal === 'minimize' ? 'lower' : 'higher') + ' is better)', yTitle: 'fraction of runs at least this good', yRange: [0, 1], label: 'Empirical distribution of ' + D.metric.name });
    if (!chart) { return; }
    chart.id = 'edf-chart';
    host.appendChild(chart);
    var cap = document.createElement('p');
    cap.className = 'legend';
    cap.innerHTML = series.map(function (s) { return '<span><i class="sw" style="background:' + s.colour + ';height:3px"></i>' + esc(s.label) + '</span>'; }).join('');
    host.appendChild(cap);
  }

  // ---- two parameters ---------------------------------------------------------------------------

  function renderContour() {
    var host = $('contour'), ctl = $('contour-controls');
    if (!host || !D.metric) { return; }
    host.innerHTML = '';
    var cand = D.parameters.map(function (p, i) { return i; }).filter(function (i) { return D.parameters[i].varies; });
    if (cand.length < 2) { if (ctl) { ctl.innerHTML = ''; } host.innerHTML = '<p class="note">Needs two parameters that vary.</p>'; return; }
    var byImp = cand.slice().sort(function (a, b) { return (D.parameters[b].importance || 0) - (D.parameters[a].importance || 0); });
    if (S.cx === null || cand.indexOf(S.cx) < 0) { S.cx = byImp[0]; }
    if (S.cy === null || cand.indexOf(S.cy) < 0 || S.cy === S.cx) { S.cy = byImp[0] === S.cx ? byImp[1] : byImp[0]; }
    if (ctl) {
      var opt = function (sel) { return cand.map(function (i) { return '<option value="' + i + '"' + (i === sel ? ' selected' : '') + '>' + esc(D.parameters[i].name) + '</option>'; }).join(''); };
      ctl.innerHTML = '<label>x <select id="contour-x">' + opt(S.cx) + '</select></label><label>y <select id="contour-y">' + opt(S.cy) + '</select></label>';
      $('contour-x').addEventListener('change', function (e) { S.cx = +e.target.value; if (S.cy === S.cx) { S.cy = cand.filter(function (i) { return i !== S.cx; })[0]; } renderContour(); });
      $('contour-y').addEventListener('change', function (e) { S.cy = +e.target.value; if (S.cy === S.cx) { S.cx = cand.filter(function (i) { return i !== S.cy; })[0]; } renderContour(); });
    }
    var ax = axisByKey('p' + S.cx), ay = axisByKey('p' + S.cy);
    var W = 540, H = 340, L = 64, R = 14, T = 12, B = ax.cat ? 56 : 42;
    var svg = newSVG(W, H, 'contour', D.metric.name + ' over ' + ax.name + ' and ' + ay.name);
    svg.id = 'contour-chart';
    var xs = makeScale(ax, L, W - R), ys = makeScale(ay, H - B, T);
    var runs = D.runs.filter(function (r) { return r.metric !== null && r.values[S.cx] !== null && r.values[S.cy] !== null && passes(r); });
    var pts = runs.map(function (r) {
      var x = xs.pos(r.values[S.cx]), y = ys.pos(r.values[S.cy]);
      if (ax.cat) { x += hashJitter(r.id, 5) * xs.band * 0.25; }
      if (ay.cat) { y += hashJitter(r.id, 6) * ys.band * 0.25; }
      return { r: r, x: x, y: y, b: badness(r.metric) };
    }).filter(function (p) { return p.x !== null && p.y !== null; });
    if (pts.length >= 3) {
      var nx = 36, ny = 24, cw = (W - R - L) / nx, ch = (H - B - T) / ny, sx = W - R - L, sy = H - B - T;
      var g = svgEl('g', { 'class': 'heat', opacity: 0.55 }, svg);
      for (var gx = 0; gx < nx; gx++) {
        for (var gy = 0; gy < ny; gy++) {
          var cx = L + (gx + 0.5) * cw, cy = T + (gy + 0.5) * ch, num = 0, den = 0, hit = null;
          for (var k = 0; k < pts.length; k++) {
            var dx = (pts[k].x - cx) / sx, dy = (pts[k].y - cy) / sy, d2 = dx * dx + dy * dy;
            if (d2 < 1e-10) { hit = pts[k].b; break; }
            var w = 1 / (d2 * d2);
            num += w * pts[k].b; den += w;
          }
          svgEl('rect', { x: (L + gx * cw).toFixed(1), y: (T + gy * ch).toFixed(1), width: (cw + 0.6).toFixed(1), height: (ch + 0.6).toFixed(1), fill: viridis(hit !== null ? hit : num / den) }, g);
        }
      }
    }
    var tx = xs.ticks(ax.cat ? 12 : 5), lastX = -1e9;
    tx.forEach(function (t) {
      var x = xs.pos(t.v);
      if (x - lastX < (ax.cat ? 14 : 40)) { return; }
      lastX = x;
      svgEl('line', { x1: x, y1: H - B, x2: x, y2: H - B + 4, 'class': 'axis' }, svg);
      title(svgEl('text', { x: x, y: H - B + 16, 'class': 'tick', 'text-anchor': 'middle' }, svg, t.label.length > 10 ? t.label.slice(0, 9) + '…' : t.label), t.exact || String(t.v));
    });
    var lastY = 1e9;
    ys.ticks(ay.cat ? 12 : 5).forEach(function (t) {
      var y = ys.pos(t.v);
      if (lastY - y < 12) { return; }
      lastY = y;
      svgEl('line', { x1: L - 4, y1: y, x2: L, y2: y, 'class': 'axis' }, svg);
      title(svgEl('text', { x: L - 6, y: y + 4, 'class': 'tick', 'text-anchor': 'end' }, svg, t.label.length > 9 ? t.label.slice(0, 8) + '…' : t.label), t.exact || String(t.v));
    });
    svgEl('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, 'class': 'axis' }, svg);
    svgEl('line', { x1: L, y1: T, x2: L, y2: H - B, 'class': 'axis' }, svg);
    svgEl('text', { x: (L + W - R) / 2, y: H - 6, 'class': 'axis-title', 'text-anchor': 'middle' }, svg, ax.name + (ax.log ? ' (log)' : ''));
    svgEl('text', { x: 14, y: (T + H - B) / 2, 'class': 'axis-title', 'text-anchor': 'middle', transform: 'rotate(-90 14 ' + (T + H - B) / 2 + ')' }, svg, ay.name + (ay.log ? ' (log)' : ''));
    pts.forEach(function (p) {
      var c = svgEl('circle', { cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: 4.2, fill: viridis(badness(p.r.metric)), stroke: '#fff', 'stroke-width': 1.2, 'data-run': p.r.id, cursor: 'pointer' }, svg);
      title(c, 'run ' + p.r.id + ': ' + ax.name + ' ' + p.r.labels[S.cx] + ', ' + ay.name + ' ' + p.r.labels[S.cy] + ', ' + D.metric.name + ' ' + exact(p.r.metric));
      c.addEventListener('click', function () { toggleSelected(p.r.id); });
      if (isSelected(p.r.id)) { svgEl('circle', { cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: 7, 'class': 'ring' }, svg); }
    });
    if (!pts.length) { svgEl('text', { x: (L + W - R) / 2, y: (T + H - B) / 2, 'class': 'note', 'text-anchor': 'middle' }, svg, 'no run in the filters has both values'); }
    host.appendChild(svg);
  }

  // ---- header and server-drawn parts -----------------------------------------------------------

  function renderHeader() {
    var st = $('sweep-state');
    if (st) { st.textContent = D.sweep.stateText; st.className = 'sweep-' + D.sweep.state; }
    var none = $('no-runs'), has = $('has-runs');
    if (none) { none.hidden = D.runs.length > 0; }
    if (has) { has.hidden = D.runs.length === 0; }
    var note = $('live-note');
    if (note && window.ncfLiveURL) {
      var running = D.counts.running || 0;
      note.textContent = D.live ? 'Live: ' + running + ' run' + (running === 1 ? '' : 's') + ' running; the page checks every 2 s and redraws in place (last data ' + new Date(D.generated * 1000).toLocaleTimeString() + ').'
        : 'Live: the sweep is ' + D.sweep.stateText + '; the page still checks every 2 s (last data ' + new Date(D.generated * 1000).toLocaleTimeString() + ').';
    }
  }
  var swapped = {};
  /** The live data's server-drawn sections replace the page's, each only when it changed. */
  function swapParts() {
    document.querySelectorAll('[data-part]').forEach(function (e) {
      var k = e.getAttribute('data-part');
      if (D.html && typeof D.html[k] === 'string' && swapped[k] !== D.html[k]) { e.innerHTML = D.html[k]; swapped[k] = D.html[k]; }
    });
  }

  /** The server-drawn charts (metric of every run, learning curves) follow the filters and ticks. */
  function markParts() {
    var active = filtersActive(), byId = {};
    D.runs.forEach(function (r) { byId[r.id] = r; });
    document.querySelectorAll('[data-part] [data-run]').forEach(function (e) {
      var r = byId[+e.getAttribute('data-run')];
      if (!r) { return; }
      e.classList.toggle('faded', active && !passes(r) && !isSelected(r.id));
      e.classList.toggle('ticked', isSelected(r.id));
    });
  }

  var timings = {}, later = null;
  /** After a click or a drag: the parallel coordinates, the table and the comparison at once, the
   * other charts right after (so a brush answers at once on thousands of runs). */
  function update() {
    renderAll(true);
  }
  function renderAll(deferRest) {
    positive = {};
    brushAxes = {};
    // A view from the address or from before a live update may name axes this data does not have.
    Object.keys(S.brush).forEach(function (k) {
      var b = S.brush[k], known = k === 'metric' ? !!D.metric : /^p\d+$/.test(k) && !!D.parameters[+k.slice(1)];
      if (!known || !Array.isArray(b) || b.length !== 2 || typeof b[0] !== 'number' || typeof b[1] !== 'number') { delete S.brush[k]; }
    });
    if (S.group && S.group !== 'state' && !(/^p\d+$/.test(S.group) && D.parameters[+S.group.slice(1)])) { S.group = ''; }
    S.selected = S.selected.filter(function (id) { return typeof id === 'number'; });
    ranked = D.runs.map(function (r) { return r.metric; }).filter(function (v) { return v !== null; })
      .sort(function (a, b) { return better(a, b) ? -1 : better(b, a) ? 1 : 0; });
    function run(steps) {
      steps.forEach(function (step) {
        var t = performance.now();
        step[1]();
        timings[step[0]] = Math.round(performance.now() - t);
      });
    }
    run([['header', renderHeader], ['controls', renderControls], ['pc', renderPC], ['table', renderTable], ['compare', renderCompare]]);
    var rest = [['scatters', renderScatters], ['edf', renderEDF], ['contour', renderContour], ['parts', markParts]];
    if (later !== null) { clearTimeout(later); later = null; }
    if (deferRest) {
      later = setTimeout(function () { later = null; run(rest); if (S.hover !== null) { setHover(S.hover); } }, 0);
    } else {
      run(rest);
    }
    if (S.hover !== null) { setHover(S.hover); }
    saveView();
  }

  // ---- the view in the address (kept across --watch reloads, and shareable) ----------------------

  var VIEW_KEYS = ['brush', 'order', 'selected', 'group', 'states', 'scale', 'cx', 'cy', 'sortKey', 'sortDir', 'onlyTicked'];
  function saveView() {
    var v = {};
    VIEW_KEYS.forEach(function (k) { v[k] = S[k]; });
    var text = JSON.stringify(v), hash = '#view=' + encodeURIComponent(text);
    try { sessionStorage.setItem('ncf-view-' + D.sweep.id, text); } catch (e) { /* storage off: the address keeps it */ }
    if (location.hash !== hash && (location.hash === '' || location.hash.indexOf('#view=') === 0) && history.replaceState) {
      try { history.replaceState(null, '', hash); } catch (e) { /* a page without history (sandboxed): the view is not kept */ }
    }
  }
  function loadView() {
    var text = null;
    if (location.hash.indexOf('#view=') === 0) {
      try { text = decodeURIComponent(location.hash.slice(6)); } catch (e) { text = null; }
    } else {
      // A page that reloads itself (--watch) comes back without the address's view.
      try { text = sessionStorage.getItem('ncf-view-' + D.sweep.id); } catch (e) { text = null; }
    }
    if (!text) { return; }
    try {
      var v = JSON.parse(text);
      var kinds = { brush: 'object', order: 'array', selected: 'array', group: 'string', states: 'object', scale: 'object',
                    cx: 'number', cy: 'number', sortKey: 'string', sortDir: 'number', onlyTicked: 'boolean' };
      VIEW_KEYS.forEach(function (k) {
        var x = v[k], kind = Array.isArray(x) ? 'array' : x === null ? 'null' : typeof x;
        if (kind === kinds[k]) { S[k] = x; }
      });
    } catch (e) { /* an edited or cut address: start from the default view */ }
  }

  // ---- live ------------------------------------------------------------------------------------

  if (window.ncfLiveURL) {
    var lastText = null, busy = false;
    var poll = function () {
      if (busy) { return; }
      busy = true;
      fetch(window.ncfLiveURL, { cache: 'no-store' }).then(function (r) {
        if (!r.ok) { throw new Error('HTTP ' + r.status); }
        return r.text();
      }).then(function (text) {
        busy = false;
        if (text === lastText) { return; }
        lastText = text;
        var next = JSON.parse(text);
        if (!next || !next.sweep || !Array.isArray(next.runs)) { throw new Error('not sweep data'); }
        var y = window.scrollY;
        D = next;
        goal = D.metric ? D.metric.goal : 'minimize';
        swapParts();
        renderAll();
        window.scrollTo(0, y);
      }).catch(function (e) {
        busy = false;
        var note = $('live-note');
        if (note) { note.textContent = 'Live: could not read the sweep\'s data (' + e.message + '); trying again every 2 s.'; }
      });
    };
    window.ncfPoll = poll;
    setInterval(poll, 2000);
  }

  window.ncfPage = { state: S, data: function () { return D; }, render: function () { renderAll(false); }, timings: timings };
  loadView();
  renderAll();
  var drawnWidth = ($('pc') || {}).clientWidth;
  window.addEventListener('resize', function () {
    clearTimeout(window.__ncfResize);
    window.__ncfResize = setTimeout(function () {
      var w = ($('pc') || {}).clientWidth;
      if (w !== drawnWidth) { drawnWidth = w; renderPC(); }
    }, 150);
  });
})();
"""#
}
