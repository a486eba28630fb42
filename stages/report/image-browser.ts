/**
 * The report's "Images" section: every evaluated image with its per-method scores, sortable by
 * any column, filterable by ground-truth class and by method, and a detail view with the image's
 * maps (those of the example images, which the report already holds, and every map when the run
 * kept maps). Plain inline JavaScript over an inline JSON block: it works from file:// with no
 * server, no network and no library. The same numbers go to images.csv.
 */
import type { ClassNamer } from './class-names.js';
import { methodLabel } from './method-order.js';
import type { PerImageCollector } from './per-image.js';
import type { ReportTable } from './report-tables.js';
import type { Block } from './sections.js';

export const BROWSER_METRICS = [
  { key: 'drop_gt', title: 'mean drop, gt (avg over p)', metric: 'masking', targetKind: 'gt' },
  { key: 'drop_top2', title: 'mean drop, 2nd class (avg over p)', metric: 'masking', targetKind: 'top2' },
  { key: 'pointing', title: 'pointing accuracy (avg over E)', metric: 'pointing', targetKind: 'gt' },
] as const;

export type BrowserMetric = (typeof BROWSER_METRICS)[number]['key'];

export interface BrowserImage {
  id: string;
  /** Ground-truth class ("3" or "3 tench"), 'unknown' without a label. */
  gt: string;
  top1: string;
  pTop1: number | null;
  second: string;
  pSecond: number | null;
  /** Per metric, one score per method (same order as `methods`); null = no value. */
  scores: Record<BrowserMetric, (number | null)[]>;
  /** Map column key ('input', 'sglrp_gt', …) → image source: a relative file, or '' to take the example table's picture. */
  maps: Record<string, string>;
}

export interface ImageBrowserData {
  methods: string[];
  methodLabels: string[];
  metrics: { key: BrowserMetric; title: string }[];
  images: BrowserImage[];
}

const finiteOrNull = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null);

/** Mean of an image's finite values over the series of one metric, target kind and method. */
function imageScore(data: PerImageCollector, n: number, metric: string, targetKind: string, method: string): number | null {
  let sum = 0;
  let count = 0;
  for (const s of data.allSeries()) {
    if (s.metric !== metric || s.targetKind !== targetKind || s.method !== method) continue;
    const v = s.values[n];
    if (v !== undefined && Number.isFinite(v)) {
      sum += v;
      count++;
    }
  }
  return count ? sum / count : null;
}

/**
 * `exampleKeys`: per image id, the map keys shown in the example tables; `mapFiles`: per image id,
 * map key → relative path of a rendered kept map.
 */
export function imageBrowserData(
  data: PerImageCollector,
  methods: readonly string[],
  names: ClassNamer,
  exampleKeys: ReadonlyMap<string, readonly string[]>,
  mapFiles: ReadonlyMap<string, Record<string, string>> = new Map(),
): ImageBrowserData {
  const images: BrowserImage[] = data.ids.map((id, n) => {
    const f = data.forward[n];
    const scores = Object.fromEntries(
      BROWSER_METRICS.map((m) => [m.key, methods.map((method) => imageScore(data, n, m.metric, m.targetKind, method))]),
    ) as BrowserImage['scores'];
    const maps: Record<string, string> = { ...(mapFiles.get(id) ?? {}) };
    for (const k of exampleKeys.get(id) ?? []) maps[k] = '';
    return {
      id,
      gt: f && f.label >= 0 ? names(f.label) : 'unknown',
      top1: f ? names(f.top[0]!) : 'unknown',
      pTop1: finiteOrNull(f?.pTop[0]),
      second: f ? names(f.top[1]!) : 'unknown',
      pSecond: finiteOrNull(f?.pTop[1]),
      scores,
      maps,
    };
  });
  return {
    methods: [...methods],
    methodLabels: methods.map(methodLabel),
    metrics: BROWSER_METRICS.map((m) => ({ key: m.key, title: m.title })),
    images,
  };
}

export function imagesTable(d: ImageBrowserData): ReportTable {
  const scoreColumns = d.metrics.flatMap((m) => d.methods.map((method) => ({ name: `${m.key}_${method}`, type: 'number' as const })));
  return {
    name: 'images',
    columns: [
      { name: 'image_id', type: 'string' },
      { name: 'gt', type: 'string' },
      { name: 'top1', type: 'string' },
      { name: 'p_top1', type: 'number' },
      { name: 'second', type: 'string' },
      { name: 'p_second', type: 'number' },
      ...scoreColumns,
    ],
    rows: d.images.map((im) => ({
      image_id: im.id,
      gt: im.gt,
      top1: im.top1,
      p_top1: im.pTop1 ?? NaN,
      second: im.second,
      p_second: im.pSecond ?? NaN,
      ...Object.fromEntries(d.metrics.flatMap((m) => d.methods.map((method, i) => [`${m.key}_${method}`, im.scores[m.key][i] ?? NaN]))),
    })),
  };
}

/** JSON inside <script>: `<` escaped so no "</script>" in the data can end the block. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Rows drawn at once; the rest come with "show more" (50,000 rows of DOM would stall the page). */
const PAGE = 200;

/** The browser's script: runs in the page, so it is plain ES2017 with no imports. */
const SCRIPT = String.raw`
(function () {
  var data = JSON.parse(document.getElementById('images-data').textContent);
  var root = document.getElementById('image-browser');
  var q = function (sel) { return root.querySelector(sel); };
  var state = { metric: data.metrics[0].key, method: '', cls: '', search: '', sortKey: 'id', sortDir: 1, shown: ${PAGE} };
  var classes = Array.from(new Set(data.images.map(function (im) { return im.gt; }))).sort(function (a, b) { return a.localeCompare(b, 'en', { numeric: true }); });
  function option(value, text) { var o = document.createElement('option'); o.value = value; o.textContent = text; return o; }
  data.metrics.forEach(function (m) { q('#img-metric').appendChild(option(m.key, m.title)); });
  q('#img-method').appendChild(option('', 'all methods'));
  data.methods.forEach(function (m, i) { q('#img-method').appendChild(option(m, data.methodLabels[i])); });
  q('#img-class').appendChild(option('', 'all classes'));
  classes.forEach(function (c) { q('#img-class').appendChild(option(c, c)); });
  function fmt(v) { return v === null || v === undefined ? '—' : (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2)); }
  function methodIdx() { return state.method ? [data.methods.indexOf(state.method)] : data.methods.map(function (_, i) { return i; }); }
  function value(im, key) {
    if (key === 'id' || key === 'gt' || key === 'top1' || key === 'second') return im[key];
    if (key === 'pTop1' || key === 'pSecond') return im[key];
    return im.scores[state.metric][Number(key.slice(2))];
  }
  function compare(a, b) {
    var va = value(a, state.sortKey), vb = value(b, state.sortKey);
    if (va === null && vb === null) return 0;
    if (va === null) return 1;
    if (vb === null) return -1;
    var c = typeof va === 'string' ? va.localeCompare(vb, 'en', { numeric: true }) : va - vb;
    return c * state.sortDir;
  }
  function columns() {
    var cols = [['id', 'image'], ['gt', 'ground truth'], ['top1', 'top-1'], ['pTop1', 'p(top-1)'], ['second', '2nd class'], ['pSecond', 'p(2nd)']];
    methodIdx().forEach(function (i) { cols.push(['m:' + i, data.methodLabels[i]]); });
    return cols;
  }
  function render() {
    var rows = data.images.filter(function (im) {
      if (state.cls && im.gt !== state.cls) return false;
      if (state.search && im.id.toLowerCase().indexOf(state.search) < 0) return false;
      if (state.method && im.scores[state.metric][data.methods.indexOf(state.method)] === null) return false;
      return true;
    }).sort(compare);
    var head = q('#img-table thead');
    head.innerHTML = '';
    var tr = document.createElement('tr');
    columns().forEach(function (c) {
      var th = document.createElement('th');
      th.textContent = c[1] + (state.sortKey === c[0] ? (state.sortDir > 0 ? ' ▲' : ' ▼') : '');
      th.dataset.key = c[0];
      th.className = 'sortable';
      th.addEventListener('click', function () {
        if (state.sortKey === c[0]) state.sortDir = -state.sortDir; else { state.sortKey = c[0]; state.sortDir = c[0].indexOf('m:') === 0 ? -1 : 1; }
        render();
      });
      tr.appendChild(th);
    });
    head.appendChild(tr);
    var body = q('#img-table tbody');
    body.innerHTML = '';
    rows.slice(0, state.shown).forEach(function (im) {
      var r = document.createElement('tr');
      r.dataset.id = im.id;
      columns().forEach(function (c) {
        var td = document.createElement('td');
        var v = value(im, c[0]);
        td.textContent = typeof v === 'string' ? v : fmt(v);
        if (c[0] === 'id') {
          var a = document.createElement('a');
          a.href = '#images';
          a.textContent = im.id + (Object.keys(im.maps).length ? ' (maps)' : '');
          a.className = 'open-image';
          a.addEventListener('click', function (ev) { ev.preventDefault(); open(im); });
          td.textContent = '';
          td.appendChild(a);
        }
        r.appendChild(td);
      });
      body.appendChild(r);
    });
    q('#img-count').textContent = 'showing ' + Math.min(rows.length, state.shown) + ' of ' + rows.length + ' images (' + data.images.length + ' evaluated)';
    q('#img-more').hidden = rows.length <= state.shown;
  }
  function open(im) {
    var d = q('#img-detail');
    d.innerHTML = '';
    var h = document.createElement('h3');
    h.textContent = im.id + ' — ground truth ' + im.gt + ', top-1 ' + im.top1 + ' (p ' + fmt(im.pTop1) + '), 2nd ' + im.second + ' (p ' + fmt(im.pSecond) + ')';
    d.appendChild(h);
    var t = document.createElement('table');
    var hr = document.createElement('tr');
    ['score'].concat(data.methodLabels).forEach(function (x) { var th = document.createElement('th'); th.textContent = x; hr.appendChild(th); });
    t.appendChild(hr);
    data.metrics.forEach(function (m) {
      var r = document.createElement('tr');
      var td0 = document.createElement('td'); td0.textContent = m.title; r.appendChild(td0);
      im.scores[m.key].forEach(function (v) { var td = document.createElement('td'); td.textContent = fmt(v); r.appendChild(td); });
      t.appendChild(r);
    });
    d.appendChild(t);
    var keys = Object.keys(im.maps);
    if (keys.length === 0) {
      var p = document.createElement('p');
      p.textContent = 'No maps saved for this image (only the example images have maps, unless the run kept every map with keepMaps: true).';
      d.appendChild(p);
    } else {
      var grid = document.createElement('div');
      grid.className = 'img-maps';
      keys.forEach(function (k) {
        var src = im.maps[k];
        if (!src) {
          var ex = document.querySelector('img[data-map="' + CSS.escape(im.id + '|' + k) + '"]');
          src = ex ? ex.getAttribute('src') : '';
        }
        if (!src) return;
        var fig = document.createElement('figure');
        var img = document.createElement('img');
        img.src = src;
        img.alt = k;
        img.className = 'map';
        var cap = document.createElement('figcaption');
        cap.textContent = k;
        fig.appendChild(img);
        fig.appendChild(cap);
        grid.appendChild(fig);
      });
      d.appendChild(grid);
    }
    d.hidden = false;
    d.scrollIntoView({ block: 'nearest' });
  }
  q('#img-metric').addEventListener('change', function (ev) { state.metric = ev.target.value; render(); });
  q('#img-method').addEventListener('change', function (ev) { state.method = ev.target.value; if (state.sortKey.indexOf('m:') === 0) state.sortKey = 'id'; render(); });
  q('#img-class').addEventListener('change', function (ev) { state.cls = ev.target.value; render(); });
  q('#img-search').addEventListener('input', function (ev) { state.search = ev.target.value.toLowerCase(); render(); });
  q('#img-more').addEventListener('click', function () { state.shown += ${PAGE}; render(); });
  render();
})();
`;

export function imageBrowserBlocks(d: ImageBrowserData): Block[] {
  const heading: Block = { kind: 'heading', level: 2, text: 'Images', anchor: 'images' };
  if (d.images.length === 0) return [heading, { kind: 'paragraph', text: 'No per-image rows in this run.' }];
  const html = `<div id="image-browser" class="image-browser">
<p>Every evaluated image with its per-method score. Click a column header to sort (again to reverse), choose the score, a method or a class to filter, and click an image id to see its scores and maps ("(maps)": maps saved).</p>
<div class="img-controls">
<label>score <select id="img-metric"></select></label>
<label>method <select id="img-method"></select></label>
<label>class <select id="img-class"></select></label>
<label>image id <input id="img-search" type="search" placeholder="filter"></label>
<span id="img-count"></span>
</div>
<div id="img-detail" class="img-detail" hidden></div>
<div class="scroll"><table id="img-table"><thead></thead><tbody></tbody></table></div>
<button id="img-more" type="button" hidden>show more</button>
<script type="application/json" id="images-data">${scriptJson(d)}</script>
<script>${SCRIPT}</script>
</div>`;
  const md = `The interactive image browser (${d.images.length} images, sortable and filterable, with the example maps) is in report.html; the same per-image scores are in [images.csv](images.csv).`;
  return [heading, { kind: 'html', html, markdown: md }];
}
