// The DataIngest status page. It polls this node's JSON endpoints every few
// seconds, draws the nodes and tasks, and keeps each task's throughput of
// the last minutes in memory for its chart. When a poll fails it keeps the
// last data and says since when it is stale. The tables are updated in
// place, one row per node and per task, each cell rewritten only when its
// text changed, so a fleet of 1,000 tasks refreshes without rebuilding the
// page. Every datum goes into the page as text (textContent, attribute
// values), never as markup: a task name or an error may hold anything.
'use strict';

(() => {
  const REFRESH_MS = 3000; // poll period
  const TIMEOUT_MS = 10000; // one request's bound; a hung node is a failed poll
  const HISTORY_MS = 5 * 60 * 1000; // throughput kept per task
  const TOKEN_KEY = 'dataingest.apiToken';
  // Relative, like the page's own files: a proxy may serve the page under a prefix.
  const NODES_URL = 'dataingest/cluster/nodes';
  const TASKS_URL = 'dataingest/cluster/tasks';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const SPARK_W = 120;
  const SPARK_H = 24;

  // The colour of each state; a state the page does not know (UNKNOWN: a
  // damaged status key) is red, as it deserves a look.
  const STATE_CLASS = {
    RUNNING: 'st-ok',
    SNAPSHOTTING: 'st-warn',
    BACKPRESSURE: 'st-warn',
    RETRYING: 'st-warn',
    PENDING: 'st-warn',
    FAILED: 'st-bad',
    STOPPED: 'st-off',
  };
  const STATE_ORDER = Object.keys(STATE_CLASS);
  // States whose lag means nothing any more: nobody reads for them.
  const IDLE_STATES = new Set(['STOPPED', 'FAILED']);

  const $ = (id) => document.getElementById(id);

  function el(tag, cls) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    return e;
  }

  // setText and setTitle touch the DOM only when the text changed.
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function setTitle(node, text) {
    if (node.getAttribute('title') !== text) node.setAttribute('title', text);
  }

  const str = (v) => (v === undefined || v === null ? '' : String(v));

  // ---- the token: in this browser only ----

  // sessionStorage (this tab) by default, localStorage with "remember". A
  // browser that refuses storage leaves the token in memory, for this page.
  const tokens = {
    load() {
      for (const s of storages()) {
        const v = s.getItem(TOKEN_KEY);
        if (v) return v;
      }
      return '';
    },
    save(value, remember) {
      this.clear();
      const s = remember ? safe(() => window.localStorage) : safe(() => window.sessionStorage);
      if (s) safe(() => s.setItem(TOKEN_KEY, value));
    },
    clear() {
      for (const s of storages()) safe(() => s.removeItem(TOKEN_KEY));
    },
  };

  function safe(f) {
    try {
      return f();
    } catch (e) {
      return null;
    }
  }

  function storages() {
    return [safe(() => window.sessionStorage), safe(() => window.localStorage)].filter(Boolean);
  }

  // ---- state ----

  let token = safe(() => tokens.load()) || '';
  let gen = 0; // bumped by log in, log out and a tab shown again: an older poll's answer is dropped
  let timer = 0;
  let lastOK = 0; // client time of the last good poll, 0: none since the data was cleared
  let failures = 0; // polls failed in a row
  let drawnAt = 0; // client time the charts were last drawn for
  let clockOffset = 0; // the node's clock minus the browser's, as of the last good poll
  let lastNodes = []; // the nodes of the last good poll, for the summary
  const nodeRows = new Map(); // nodeId -> row
  const taskRows = new Map(); // taskId -> row

  // ---- fetching ----

  class AuthError extends Error {}

  // getJSON fetches one endpoint with the token as the Authorization
  // header (the only way the token leaves the browser) and returns its
  // array and the server's Date.
  async function getJSON(url) {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    try {
      const resp = await fetch(url, {
        headers,
        cache: 'no-store',
        credentials: 'omit',
        redirect: 'error',
        referrerPolicy: 'no-referrer',
        signal: ctl.signal,
      });
      if (resp.status === 401) throw new AuthError('HTTP 401');
      const body = await resp.json().catch(() => null);
      if (!resp.ok) {
        const why = body && typeof body.error === 'string' ? ': ' + body.error : '';
        throw new Error(`${url}: HTTP ${resp.status}${why}`);
      }
      if (!Array.isArray(body)) throw new Error(`${url}: the answer is not a JSON array`);
      return { data: body, date: Date.parse(resp.headers.get('Date') || '') };
    } catch (err) {
      if (ctl.signal.aborted) throw new Error(`${url}: no answer within ${TIMEOUT_MS / 1000} s`);
      throw err;
    } finally {
      clearTimeout(t);
    }
  }

  // poll fetches both lists, draws them or marks the page stale, and
  // schedules the next poll; one chain of polls runs at a time (gen).
  async function poll() {
    clearTimeout(timer);
    const my = gen;
    if (document.hidden) {
      // A tab nobody looks at costs the node nothing; shown again, it polls at once.
      timer = setTimeout(poll, REFRESH_MS);
      return;
    }
    let nodes;
    let tasks;
    try {
      [nodes, tasks] = await Promise.all([getJSON(NODES_URL), getJSON(TASKS_URL)]);
    } catch (err) {
      if (my !== gen) return;
      if (err instanceof AuthError) {
        showLogin(token ? 'The token was refused.' : '');
        return; // no polling until a token is entered
      }
      showStale(err);
      timer = setTimeout(poll, REFRESH_MS);
      return;
    }
    if (my !== gen) return;
    render(nodes, tasks);
    timer = setTimeout(poll, REFRESH_MS);
  }

  function restart() {
    gen++;
    clearTimeout(timer);
    poll();
  }

  // ---- drawing ----

  function render(nodes, tasks) {
    const now = Date.now();
    // Ages are measured on the node's clock (its Date header, which counts
    // whole seconds: +0.5 s), not the browser's, which may be off.
    const serverNow = Number.isFinite(nodes.date) ? nodes.date + 500 : now;
    clockOffset = serverNow - now;
    lastOK = now;
    failures = 0;
    $('stale').hidden = true;
    $('login').hidden = true;
    $('logout').hidden = !token;
    const main = $('data');
    main.hidden = false;
    main.classList.remove('stale');
    sync($('nodes').tBodies[0], nodeRows, nodes.data, (n) => str(n.nodeId), createNodeRow, updateNodeRow);
    drawAges(serverNow);
    sync($('tasks').tBodies[0], taskRows, tasks.data, (t) => str(t.taskId), createTaskRow, (row, t) =>
      updateTaskRow(row, t, now),
    );
    drawnAt = now;
    applyFilter(); // draws the charts of the rows shown
    lastNodes = nodes.data;
    renderSummary(false);
    setText($('updated'), 'updated ' + clock(now));
  }

  // sync makes tbody hold one row per item, in the items' order: rows of
  // new keys are created, rows of keys gone removed, the others updated
  // and moved only when out of place.
  function sync(tbody, rows, items, keyOf, create, update) {
    const seen = new Set();
    let prev = null;
    for (const item of items) {
      if (!item || typeof item !== 'object') continue;
      const key = keyOf(item);
      if (seen.has(key)) continue;
      seen.add(key);
      let row = rows.get(key);
      if (!row) {
        row = create(key);
        rows.set(key, row);
      }
      update(row, item);
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== row.tr) tbody.insertBefore(row.tr, want);
      prev = row.tr;
    }
    for (const [key, row] of rows) {
      if (!seen.has(key)) {
        row.tr.remove();
        rows.delete(key);
      }
    }
  }

  // cells appends one td per name to tr, each of class c-NAME; role
  // (when given) names the cells' ARIA role, for a table not laid out as one.
  function cells(tr, names, role) {
    const c = {};
    for (const name of names) {
      c[name] = el('td', 'c-' + name);
      if (role) c[name].setAttribute('role', role);
      tr.appendChild(c[name]);
    }
    return c;
  }

  function createNodeRow(id) {
    const tr = el('tr');
    tr.dataset.node = id;
    const c = cells(tr, ['id', 'address', 'alive', 'tasks', 'version', 'up', 'age']);
    c.id.textContent = id;
    c.tasks.classList.add('num');
    const alive = el('span', 'state');
    c.alive.appendChild(alive);
    return { tr, c, alive };
  }

  function updateNodeRow(row, n) {
    const c = row.c;
    setText(c.address, str(n.address));
    row.isAlive = n.alive === true;
    setText(row.alive, row.isAlive ? 'alive' : 'dead');
    row.alive.className = 'state ' + (row.isAlive ? 'st-ok' : 'st-bad');
    setText(c.tasks, String(Array.isArray(n.tasks) ? n.tasks.length : 0));
    setText(c.version, str(n.version));
    row.startedAt = Number(n.startedAt) || 0;
    row.heartbeat = Number(n.lastHeartbeat) || 0;
    c.age.classList.toggle('late', !row.isAlive);
    if (row.heartbeat > 0) setTitle(c.age, new Date(row.heartbeat).toISOString());
  }

  // drawAges shows each node's uptime and heartbeat age at serverNow; while
  // the page is stale they keep growing, from the last data.
  function drawAges(serverNow) {
    for (const row of nodeRows.values()) {
      setText(row.c.up, row.isAlive && row.startedAt > 0 ? age(serverNow - row.startedAt) : '—');
      setText(row.c.age, row.heartbeat > 0 ? age(serverNow - row.heartbeat) + ' ago' : '—');
    }
  }

  function createTaskRow(id) {
    const tr = el('tr');
    tr.dataset.task = id;
    tr.setAttribute('role', 'row');
    const c = cells(tr, ['id', 'name', 'state', 'node', 'events', 'rate', 'lag', 'pos', 'error'], 'cell');
    c.id.textContent = id;
    c.id.title = id; // the column cuts long ids
    c.events.classList.add('num');
    c.lag.classList.add('num');
    const badge = el('span', 'state');
    const progress = el('span', 'progress');
    progress.hidden = true;
    c.state.append(badge, progress);

    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', `0 0 ${SPARK_W} ${SPARK_H}`);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    const title = document.createElementNS(SVG_NS, 'title');
    const base = document.createElementNS(SVG_NS, 'line');
    base.setAttribute('x1', '0');
    base.setAttribute('x2', String(SPARK_W));
    base.setAttribute('y1', String(SPARK_H - 0.5));
    base.setAttribute('y2', String(SPARK_H - 0.5));
    const line = document.createElementNS(SVG_NS, 'polyline');
    line.setAttribute('points', '');
    svg.append(title, base, line);
    const rate = el('span', 'rate');
    c.rate.append(svg, rate);
    // last: the previous sample {t, ev, u}; rates: [{t, r}] within HISTORY_MS.
    return { tr, c, badge, progress, title, line, rateText: rate, last: null, rates: [], search: '' };
  }

  function updateTaskRow(row, t, now) {
    const c = row.c;
    const state = str(t.status) || 'UNKNOWN';
    const name = str(t.taskName);
    setText(c.name, name);
    setTitle(c.name, name);
    setText(row.badge, state);
    const cls = 'state ' + (STATE_CLASS[state] || 'st-bad');
    if (row.badge.className !== cls) row.badge.className = cls;
    const progress = snapshotProgress(t);
    setText(row.progress, progress);
    row.progress.hidden = progress === '';
    const node = str(t.node);
    setText(c.node, node || '—');
    setTitle(c.node, node);
    const events = Number(t.events) || 0;
    setText(c.events, events.toLocaleString('en-US'));
    setText(c.lag, IDLE_STATES.has(state) || !(t.lagMs >= 0) ? '—' : duration(t.lagMs));
    const pos = str(t.position);
    setText(c.pos, pos);
    setTitle(c.pos, pos);
    const error = str(t.error);
    setText(c.error, error);
    setTitle(c.error, error);
    addSample(row, now, events, Number(t.updatedAt));
    row.state = state;
    row.search = [row.tr.dataset.task, name, state, node].join('\n').toLowerCase();
  }

  // snapshotProgress formats a snapshot's progress, when the task's JSON
  // carries one (a fraction, a percentage, a text or an object of counts).
  function snapshotProgress(t) {
    const p = t.snapshotProgress ?? t.snapshot_progress;
    if (p === undefined || p === null || p === '') return '';
    if (typeof p === 'number') return `snapshot ${Math.round(p <= 1 ? p * 100 : p)} %`;
    if (typeof p !== 'object') return 'snapshot ' + String(p).slice(0, 120);
    const parts = [];
    for (const [k, v] of Object.entries(p)) {
      if (v !== null && typeof v !== 'object') parts.push(`${k} ${v}`);
    }
    return ('snapshot ' + parts.join(', ')).slice(0, 160);
  }

  // addSample records the task's events counter at client time t and the
  // rate since the previous sample. The rate divides by the time between
  // the two status writes (updatedAt, written by the node together with
  // the counter), not between the two polls: exact whatever the fetch
  // jitter, and 0 when nothing was written since. Without a usable
  // updatedAt (none, or a clock that went back after a failover) it falls
  // back to the time between the polls. A counter that went down (the task
  // was deleted and made again) starts a new series.
  function addSample(row, t, events, updatedAt) {
    const last = row.last;
    if (last && events < last.ev) {
      row.rates.length = 0;
    } else if (last && t > last.t) {
      const n = events - last.ev;
      const du = updatedAt - last.u;
      const dt = du > 0 ? du : t - last.t;
      row.rates.push({ t, r: n === 0 ? 0 : (n * 1000) / dt });
    }
    row.last = { t, ev: events, u: updatedAt };
    while (row.rates.length > 0 && row.rates[0].t < t - HISTORY_MS) row.rates.shift();
  }

  function latestRate(row) {
    return row.rates.length > 0 ? row.rates[row.rates.length - 1].r : 0;
  }

  // drawSpark draws the task's rates as a line scaled to its own peak. The
  // time axis spans the history held, up to HISTORY_MS, so the chart is
  // readable from the second refresh on.
  function drawSpark(row, now) {
    const rs = row.rates;
    let points = '';
    let peak = 0;
    if (rs.length > 0) {
      for (const x of rs) peak = Math.max(peak, x.r);
      const span = Math.max(now - rs[0].t, 1);
      const y = (r) => (SPARK_H - 1.5 - (peak > 0 ? (r / peak) * (SPARK_H - 4) : 0)).toFixed(1);
      const xy = rs.map((s) => `${(SPARK_W - ((now - s.t) / span) * SPARK_W).toFixed(1)},${y(s.r)}`);
      if (xy.length === 1) xy.unshift(`0,${y(rs[0].r)}`); // one rate: a flat line
      points = xy.join(' ');
    }
    if (row.line.getAttribute('points') !== points) row.line.setAttribute('points', points);
    setText(
      row.title,
      rs.length > 0 ? `events/s, peak ${rate(peak)} over the last ${age(now - rs[0].t)}` : 'events/s: from the second refresh on',
    );
    setText(row.rateText, rs.length > 0 ? rate(latestRate(row)) + '/s' : '—');
  }

  // renderSummary writes the fleet line from the last good poll; stale, it
  // claims no throughput.
  function renderSummary(stale) {
    const nodes = lastNodes;
    const alive = nodes.filter((n) => n && n.alive === true).length;
    const counts = new Map();
    let total = 0;
    for (const row of taskRows.values()) {
      counts.set(row.state, (counts.get(row.state) || 0) + 1);
      total += latestRate(row);
    }
    const sum = $('summary');
    const parts = [];
    const nodesText = el('span', 'count');
    nodesText.textContent = `${alive} of ${nodes.length} nodes alive`;
    parts.push(nodesText, ` · ${taskRows.size} tasks`);
    const states = [...counts.keys()].sort((a, b) => order(a) - order(b));
    for (const s of states) {
      // A state's count is a button that filters the table to that state.
      const b = el('button', 'state ' + (STATE_CLASS[s] || 'st-bad'));
      b.type = 'button';
      b.textContent = `${counts.get(s)} ${s}`;
      b.addEventListener('click', () => {
        $('filter').value = s;
        $('filter').dispatchEvent(new Event('input'));
      });
      parts.push(' ', b);
    }
    parts.push(stale ? ' · events/s unknown (stale)' : ` · ${rate(total)} events/s`);
    sum.replaceChildren(...parts);
  }

  function order(state) {
    const i = STATE_ORDER.indexOf(state);
    return i < 0 ? STATE_ORDER.length : i;
  }

  // applyFilter shows the tasks whose id, name, state or node contain every
  // word of the filter box, and draws the charts of the rows shown (hidden
  // rows keep their samples but are not drawn).
  function applyFilter() {
    const words = $('filter').value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of taskRows.values()) {
      const hide = words.length > 0 && !words.every((w) => row.search.includes(w));
      if (row.tr.hidden !== hide) row.tr.hidden = hide;
      if (!hide) {
        shown++;
        drawSpark(row, drawnAt);
      }
    }
    setText($('shown'), words.length > 0 ? `${shown} of ${taskRows.size} shown` : `${taskRows.size} tasks`);
  }

  function showStale(err) {
    failures++;
    const msg = err && err.message ? err.message : String(err);
    const tries = failures > 1 ? `the last ${failures} refreshes` : 'the last refresh';
    const head = lastOK ? `Stale since ${clock(lastOK)}: showing the data of then; ` : 'No data yet: ';
    setText($('stale'), `${head}${tries} failed (${clock(Date.now())}: ${msg}). Retrying every ${REFRESH_MS / 1000} s.`);
    $('stale').hidden = false;
    if (lastOK) {
      $('data').classList.add('stale');
      drawAges(Date.now() + clockOffset);
      renderSummary(true);
    } else {
      setText($('summary'), 'No data.');
    }
  }

  // clearData forgets everything shown: after a log out or a refused
  // token, nothing of the old session stays on the page.
  function clearData() {
    for (const rows of [nodeRows, taskRows]) {
      for (const row of rows.values()) row.tr.remove();
      rows.clear();
    }
    lastOK = 0;
    failures = 0;
    lastNodes = [];
    $('data').hidden = true;
    $('stale').hidden = true;
    setText($('updated'), '');
  }

  function showLogin(message) {
    token = '';
    tokens.clear();
    clearData();
    $('logout').hidden = true;
    setText($('summary'), 'Log in to see the fleet.');
    setText($('login-error'), message);
    $('login').hidden = false;
    $('token').focus();
  }

  // ---- formatting ----

  function age(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 120) return `${s} s`;
    if (s < 7200) return `${Math.round(s / 60)} min`;
    if (s < 172800) return `${Math.round(s / 3600)} h`;
    return `${Math.round(s / 86400)} d`;
  }

  function duration(ms) {
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
    return age(ms);
  }

  function rate(r) {
    return r < 10 ? r.toFixed(1) : Math.round(r).toLocaleString('en-US');
  }

  function clock(t) {
    const d = new Date(t);
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
  }

  // ---- wiring ----

  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $('token');
    const value = input.value.trim();
    input.value = '';
    if (!value) return;
    token = value;
    tokens.save(value, $('remember').checked);
    setText($('login-error'), '');
    $('login').hidden = true;
    setText($('summary'), 'Loading…');
    restart();
  });

  $('logout').addEventListener('click', () => {
    gen++;
    clearTimeout(timer);
    showLogin('Logged out.');
  });

  // The filter is also the URL's fragment, so that a view ("#FAILED") can
  // be bookmarked or sent; a fragment never reaches the server.
  const filter = $('filter');
  if (location.hash.length > 1) filter.value = safe(() => decodeURIComponent(location.hash.slice(1))) || '';
  filter.addEventListener('input', () => {
    const v = filter.value.trim();
    history.replaceState(null, '', v ? '#' + encodeURIComponent(v) : location.pathname + location.search);
    applyFilter();
  });

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && $('login').hidden) restart();
  });

  poll();
})();
