// Serval Manager page. Plain JavaScript, no framework, no build step; served from the binary
// under a CSP without inline script, so every handler is attached here.
// Talks to the JSON API next to it (api/...). Documented in docs/manager-api.md.
'use strict';

(function () {
  const base = location.pathname.replace(/[^/]*$/, ''); // "/manager/"
  const state = { user: null, roles: [], csrf: '', canAct: false, view: '', timers: [] };

  // ---- helpers ------------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  // Builds DOM nodes; text is always set as text, never parsed as HTML.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(status, code, detail) {
      super(detail || code || ('HTTP ' + status));
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body, headers) {
    const options = { method, credentials: 'same-origin', headers: Object.assign({}, headers) };
    if (method !== 'GET' && state.csrf) options.headers['X-CSRF-Token'] = state.csrf;
    if (body !== undefined) {
      if (typeof body === 'string' || body instanceof Blob) {
        options.body = body;
      } else {
        options.body = JSON.stringify(body);
        options.headers['Content-Type'] = 'application/json';
      }
    }
    const response = await fetch(base + 'api/' + path, options);
    let data = {};
    const text = await response.text();
    try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { error: 'bad_response', detail: text.slice(0, 200) }; }
    if (response.status === 401 && path !== 'login' && path !== 'session') {
      showLogin('Your session ended. Please sign in again.');
      throw new ApiError(401, data.error, data.detail);
    }
    if (!response.ok) throw new ApiError(response.status, data.error, data.detail);
    return data;
  }

  function query(params) {
    const usp = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '' && v !== null) usp.set(k, v);
    return usp.toString();
  }

  function notice(message, bad) {
    const box = $('notice');
    box.textContent = message;
    box.classList.toggle('bad', !!bad);
    box.hidden = false;
    clearTimeout(notice.timer);
    notice.timer = setTimeout(() => { box.hidden = true; }, bad ? 12000 : 5000);
  }

  const fmt = {
    int: (n) => (n === undefined || n === null) ? '–' : Number(n).toLocaleString('en-US'),
    ms: (n) => (!n ? '–' : (n < 10 ? n.toFixed(2) : n.toFixed(0)) + ' ms'),
    bytes(n) {
      if (n === undefined || n === null) return '–';
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let i = 0;
      while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
      return (i ? n.toFixed(1) : n) + ' ' + units[i];
    },
    duration(s) {
      s = Math.floor(s || 0);
      const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
      if (d) return d + 'd ' + h + 'h';
      if (h) return h + 'h ' + m + 'm';
      if (m) return m + 'm ' + (s % 60) + 's';
      return s + 's';
    },
    time(iso) {
      if (!iso) return '–';
      const d = new Date(iso);
      return isNaN(d) ? iso : d.toLocaleString();
    },
  };

  function badge(stateName) {
    return el('span', { class: 'badge ' + (stateName || 'stopped'), text: stateName || 'unknown' });
  }

  function confirmAction(title, text, okLabel) {
    const dialog = $('confirm');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = okLabel || 'Confirm';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
      dialog.returnValue = 'cancel';
      dialog.showModal();
      $('confirm-cancel').focus();
    });
  }

  function stopTimers() {
    state.timers.forEach(clearInterval);
    state.timers = [];
  }

  // ---- session ------------------------------------------------------------------------------

  function applySession(data) {
    state.user = data.user;
    state.roles = data.roles || [];
    state.csrf = data.csrf || '';
    state.canAct = state.roles.includes('manager-gui');
    $('who-name').textContent = state.user + (state.canAct ? '' : ' (read-only)');
    $('who').hidden = false;
    $('nav').hidden = false;
    document.querySelectorAll('[data-needs-act]').forEach((n) => { n.hidden = !state.canAct; });
    const roots = data.deployRoots || [];
    $('path-fields').disabled = roots.length === 0;
    $('path-roots').textContent = roots.length
      ? 'Allowed: ' + roots.join(', ')
      : 'Off on this server: no <Manager deployRoots> in conf/server.xml.';
  }

  function showLogin(message) {
    stopTimers();
    state.user = null;
    state.csrf = '';
    $('who').hidden = true;
    $('nav').hidden = true;
    document.querySelectorAll('.view').forEach((v) => { v.hidden = v.id !== 'view-login'; });
    const err = $('login-error');
    err.hidden = !message;
    err.textContent = message || '';
    $('login-password').value = '';
    $('login-user').focus();
  }

  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = $('login-submit');
    button.disabled = true;
    try {
      const data = await api('POST', 'login', { user: $('login-user').value, password: $('login-password').value });
      applySession(data);
      $('login-password').value = '';
      $('login-error').hidden = true;
      if (!location.hash || location.hash === '#/login') location.hash = '#/apps';
      else route();
    } catch (e) {
      const err = $('login-error');
      err.textContent = e.message;
      err.hidden = false;
      $('login-password').select();
    } finally {
      button.disabled = false;
    }
  });

  $('logout').addEventListener('click', async () => {
    try { await api('POST', 'logout'); } catch (e) { /* already gone */ }
    location.hash = '#/login';
    showLogin('You are signed out.');
  });

  // ---- router -------------------------------------------------------------------------------

  const views = { apps: showApps, app: showApp, deploy: showDeploy, status: showStatus, logs: showLogs, tokens: showTokens };

  function route() {
    if (!state.user) return;
    stopTimers();
    const hash = location.hash.replace(/^#\/?/, '');
    const [name, search] = hash.split('?');
    const view = views[name] ? name : 'apps';
    state.view = view;
    document.querySelectorAll('.view').forEach((v) => { v.hidden = v.id !== 'view-' + view; });
    document.querySelectorAll('nav a').forEach((a) => {
      if (a.dataset.view === view || (view === 'app' && a.dataset.view === 'apps')) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
    views[view](new URLSearchParams(search || ''));
  }
  window.addEventListener('hashchange', route);

  // ---- applications -------------------------------------------------------------------------

  const actionLabels = { 'restart-processes': 'Restart processes' };
  function actionLabel(action) {
    return actionLabels[action] || action[0].toUpperCase() + action.slice(1);
  }

  async function runAction(action, app, after) {
    const label = actionLabel(action);
    if (action === 'undeploy' || action === 'stop' || action === 'reload' || action === 'restart-processes') {
      const texts = {
        undeploy: 'Undeploy ' + app.path + ' on ' + app.host + '? Its files are removed and it stops answering.',
        stop: 'Stop ' + app.path + ' on ' + app.host + '? It answers 503 until started again.',
        reload: 'Reload ' + app.path + ' on ' + app.host + '? In-flight requests finish first.',
        'restart-processes': 'Replace the worker processes of ' + app.path + ' on ' + app.host +
          '? Each new process is ready before the old one drains, so no request fails; a quarantine is lifted.',
      };
      if (!(await confirmAction(label + ' application', texts[action], label))) return;
    }
    try {
      await api('POST', action + '?' + query({ host: app.host, path: app.path }));
      notice(label + ': ' + app.host + app.path + ' done.');
    } catch (e) {
      if (e.status !== 401) notice(label + ' ' + app.path + ' failed: ' + e.message, true);
    }
    if (after) after();
  }

  function actionButtons(app, after) {
    if (!state.canAct) return [];
    const buttons = [];
    const mk = (action, cls) => el('button', {
      type: 'button', class: 'btn small ' + cls, text: actionLabel(action),
      'aria-label': actionLabel(action) + ' ' + app.path,
      'data-action': action, 'data-path': app.path,
      onclick: () => runAction(action, app, after),
    });
    if (app.state === 'running') buttons.push(mk('stop', 'ghost'));
    else buttons.push(mk('start', 'ghost'));
    buttons.push(mk('reload', 'ghost'));
    if (app.mode === 'process' && app.state === 'running') buttons.push(mk('restart-processes', 'ghost'));
    buttons.push(mk('undeploy', 'danger'));
    return buttons;
  }

  async function loadApps() {
    let data;
    try { data = await api('GET', 'apps'); } catch (e) { if (e.status !== 401) notice(e.message, true); return; }
    const hosts = new Map();
    for (const app of data.apps) {
      if (!hosts.has(app.host)) hosts.set(app.host, []);
      hosts.get(app.host).push(app);
    }
    const container = $('apps-hosts');
    container.replaceChildren();
    if (!data.apps.length) container.append(el('div', { class: 'card empty', text: 'No applications deployed yet.' }));
    for (const [host, apps] of hosts) {
      apps.sort((a, b) => a.path.localeCompare(b.path));
      const rows = apps.map((app) => el('tr', { 'data-app': app.path },
        el('td', {},
          el('a', { class: 'app-link', href: '#/app?' + query({ host: app.host, path: app.path }), text: app.path }),
          app.failure ? el('span', { class: 'failure', text: app.failure }) : null),
        el('td', { class: 'opt', text: app.version || '–' }),
        el('td', { class: 'opt', text: app.displayName || '–' }),
        el('td', {}, badge(app.state)),
        el('td', { class: 'num', text: fmt.int(app.requests) }),
        el('td', { class: 'num', text: fmt.int(app.errors5xx) }),
        el('td', { class: 'num', text: fmt.int(app.sessions) }),
        el('td', { class: 'num opt', text: fmt.ms(app.p50Ms) + ' / ' + fmt.ms(app.p99Ms) }),
        el('td', { class: 'opt', text: fmt.time(app.deployedAt) }),
        el('td', { class: 'opt mono', title: app.checksum || '', text: app.checksum ? app.checksum.slice(0, 12) : '–' }),
        el('td', { class: 'actions' }, actionButtons(app, loadApps))));
      container.append(el('div', { class: 'card host-block' },
        el('h2', {}, host, host === data.defaultHost ? el('span', { class: 'muted', text: 'default host' }) : null),
        el('div', { class: 'table-wrap' }, el('table', { 'aria-label': 'Applications on ' + host },
          el('thead', {}, el('tr', {},
            el('th', { scope: 'col', text: 'Path' }), el('th', { scope: 'col', class: 'opt', text: 'Version' }),
            el('th', { scope: 'col', class: 'opt', text: 'Name' }), el('th', { scope: 'col', text: 'State' }),
            el('th', { scope: 'col', class: 'num', text: 'Requests' }), el('th', { scope: 'col', class: 'num', text: '5xx' }),
            el('th', { scope: 'col', class: 'num', text: 'Sessions' }),
            el('th', { scope: 'col', class: 'num opt', text: 'p50 / p99' }), el('th', { scope: 'col', class: 'opt', text: 'Deployed' }),
            el('th', { scope: 'col', class: 'opt', text: 'Checksum' }),
            el('th', { scope: 'col' }, el('span', { class: 'sr-only', text: 'Actions' })))),
          el('tbody', {}, rows)))));
    }
  }

  function showApps() {
    loadApps();
    state.timers.push(setInterval(loadApps, 5000));
  }
  $('apps-refresh').addEventListener('click', loadApps);

  function componentTable(title, items) {
    if (!items || !items.length) return el('div', { class: 'card' }, el('h2', { text: title }), el('p', { class: 'empty', text: 'None.' }));
    return el('div', { class: 'card' }, el('h2', { text: title }), el('div', { class: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Name' }), el('th', { scope: 'col', text: 'Class' }),
        el('th', { scope: 'col', text: 'Mappings' }))),
      el('tbody', {}, items.map((c) => el('tr', {}, el('td', { text: c.name }), el('td', { class: 'mono', text: c.className }),
        el('td', { class: 'mono', text: (c.mappings || []).join(', ') || '–' })))))));
  }

  function historyTable(title, entries) {
    if (!entries || !entries.length) return el('div', { class: 'card' }, el('h2', { text: title }), el('p', { class: 'empty', text: 'Nothing yet.' }));
    return el('div', { class: 'card' }, el('h2', { text: title }), el('div', { class: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'When' }), el('th', { scope: 'col', text: 'Event' }),
        el('th', { scope: 'col', text: 'Version' }), el('th', { scope: 'col', text: 'Detail' }))),
      el('tbody', {}, entries.map((h) => el('tr', {}, el('td', { text: fmt.time(h.time) }), el('td', {}, badge(h.event === 'failed' ? 'failed' : h.event === 'deployed' || h.event === 'started' ? 'running' : 'stopped'), ' ', h.event),
        el('td', { text: h.version || '–' }), el('td', { text: h.detail || '' })))))));
  }

  // Takes the copy through POST /api/backup (CSRF like every action) and hands it to the
  // browser as a download; the server never keeps it.
  async function backupDataSource(app, source, button) {
    button.disabled = true;
    try {
      const response = await fetch(base + 'api/backup?' + query({ host: app.host, path: app.path, name: source.name }),
        { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': state.csrf } });
      if (!response.ok) {
        let detail = 'HTTP ' + response.status;
        try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON: keep the status */ }
        throw new Error(detail);
      }
      const blob = await response.blob();
      const disposition = response.headers.get('Content-Disposition') || '';
      const match = /filename="([^"]+)"/.exec(disposition);
      const link = el('a', { href: URL.createObjectURL(blob), download: match ? match[1] : source.name + '.db' });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      notice('Backup of ' + source.name + ' (' + app.host + app.path + '): ' + fmt.bytes(blob.size) + ' downloaded.');
    } catch (e) {
      notice('Backup of ' + source.name + ' failed: ' + e.message, true);
    } finally {
      button.disabled = false;
    }
  }

  // The "Data sources" card of an app's page, as a list to spread (empty when it has none).
  function dataSourceTable(app) {
    const sources = app.dataSources || [];
    if (!sources.length) return [];
    return [el('div', { class: 'card' }, el('h2', { text: 'Data sources' }), el('div', { class: 'table-wrap' },
      el('table', { 'aria-label': 'Data sources of ' + app.path },
        el('thead', {}, el('tr', {},
          el('th', { scope: 'col', text: 'Name' }), el('th', { scope: 'col', text: 'Type' }),
          el('th', { scope: 'col', class: 'opt', text: 'Database' }),
          el('th', { scope: 'col', class: 'num', text: 'In use / open / max' }),
          el('th', { scope: 'col', class: 'num', text: 'Waiting' }), el('th', { scope: 'col', class: 'num', text: 'Waits' }),
          el('th', { scope: 'col', class: 'num', text: 'Timeouts' }), el('th', { scope: 'col', class: 'num', text: 'Errors' }),
          el('th', { scope: 'col', class: 'num', text: 'Queries' }), el('th', { scope: 'col', class: 'num opt', text: 'p50 / p99' }),
          el('th', { scope: 'col' }, el('span', { class: 'sr-only', text: 'Actions' })))),
        el('tbody', {}, sources.map((d) => {
          let button = null;
          if (state.canAct && d.type === 'sqlite') {
            button = el('button', { type: 'button', class: 'btn small ghost', text: 'Back up',
              'aria-label': 'Back up ' + d.name, 'data-action': 'backup', 'data-datasource': d.name });
            button.addEventListener('click', () => backupDataSource(app, d, button));
          }
          return el('tr', { 'data-datasource': d.name },
            el('td', { class: 'mono', text: d.name }), el('td', { text: d.type }),
            el('td', { class: 'mono opt', text: d.url }),
            el('td', { class: 'num', text: fmt.int(d.inUse) + ' / ' + fmt.int(d.open) + ' / ' + fmt.int(d.maxConnections) }),
            el('td', { class: 'num', text: fmt.int(d.waiting) }), el('td', { class: 'num', text: fmt.int(d.waits) }),
            el('td', { class: 'num', text: fmt.int(d.timeouts) }), el('td', { class: 'num', text: fmt.int(d.errors) }),
            el('td', { class: 'num', text: fmt.int(d.queries) }),
            el('td', { class: 'num opt', text: fmt.ms(d.p50Ms) + ' / ' + fmt.ms(d.p99Ms) }),
            el('td', { class: 'actions' }, button));
        })))))];
  }

  // The application's HttpSessions: id prefixes only (an id is a credential), never values.
  async function sessionsCard(app, after) {
    const card = el('div', { class: 'card', id: 'app-sessions' }, el('h2', { text: 'Sessions' }));
    let data;
    try { data = await api('GET', 'sessions?' + query({ host: app.host, path: app.path })); } catch (e) {
      card.append(el('p', { class: 'failure', text: e.message }));
      return card;
    }
    const invalidate = async (what, params) => {
      if (!(await confirmAction('Invalidate sessions', 'Invalidate ' + what + ' of ' + app.host + app.path + '? Its users are logged out.', 'Invalidate'))) return;
      try {
        const result = await api('POST', 'sessions/invalidate?' + query(Object.assign({ host: app.host, path: app.path }, params)));
        notice('Invalidated ' + fmt.int(result.invalidated) + ' session(s) of ' + app.path + '.');
      } catch (e) {
        if (e.status !== 401) notice('Invalidate failed: ' + e.message, true);
      }
      after();
    };
    const sessions = data.sessions || [];
    card.append(el('p', { class: 'muted', text: fmt.int(app.sessions) + ' live' + (sessions.length < (app.sessions || 0) ? ', the ' + sessions.length + ' most recent below' : '') }));
    if (state.canAct && sessions.length) {
      card.append(el('button', { type: 'button', class: 'btn small danger', text: 'Invalidate all', 'data-action': 'invalidate-all',
        onclick: () => invalidate('every session', { all: 'true' }) }));
    }
    if (!sessions.length) {
      card.append(el('p', { class: 'empty', text: 'No live sessions.' }));
      return card;
    }
    card.append(el('div', { class: 'table-wrap' }, el('table', { 'aria-label': 'Sessions of ' + app.path },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Id (prefix)' }), el('th', { scope: 'col', text: 'Created' }),
        el('th', { scope: 'col', text: 'Last accessed' }), el('th', { scope: 'col', class: 'num', text: 'Attributes' }),
        el('th', { scope: 'col', class: 'num', text: 'Size' }), el('th', { scope: 'col' }, el('span', { class: 'sr-only', text: 'Actions' })))),
      el('tbody', {}, sessions.map((s) => el('tr', { 'data-session': s.id },
        el('td', { class: 'mono', text: s.id + '…' }),
        el('td', { text: fmt.time(new Date(s.created).toISOString()) }),
        el('td', { text: fmt.time(new Date(s.lastAccessed).toISOString()) }),
        el('td', { class: 'num', text: fmt.int(s.attributes) }),
        el('td', { class: 'num', text: fmt.bytes(s.bytes) }),
        el('td', { class: 'actions' }, state.canAct ? el('button', { type: 'button', class: 'btn small ghost', text: 'Invalidate',
          'aria-label': 'Invalidate session ' + s.id, onclick: () => invalidate('session ' + s.id + '…', { id: s.id }) }) : null)))))));
    return card;
  }

  // An isolated app's worker processes (issue 11): state, one row per process, restarts by cause.
  function processesCard(app) {
    const iso = app.isolation;
    if (app.mode !== 'process') {
      return el('div', { class: 'card', id: 'app-processes' }, el('h2', { text: 'Processes' }),
        el('p', { class: 'empty', text: 'Runs inside the server (isolation="none").' }));
    }
    if (!iso) {
      return el('div', { class: 'card', id: 'app-processes' }, el('h2', { text: 'Processes' }),
        el('p', { class: 'empty', text: 'Isolated; no worker processes while the application is ' + app.state + '.' }));
    }
    const restarts = Object.entries(iso.restarts || {}).map(([cause, n]) => cause + ' ' + fmt.int(n)).join(', ');
    const stateBadge = iso.state === 'running' ? 'running' : iso.state === 'quarantined' ? 'failed' : 'deploying';
    return el('div', { class: 'card', id: 'app-processes' }, el('h2', { text: 'Processes' }),
      el('dl', { class: 'kv' },
        el('dt', { text: 'Mode' }), el('dd', { text: 'process (' + iso.processes.length + ' worker' + (iso.processes.length === 1 ? '' : 's') + ')' }),
        el('dt', { text: 'State' }), el('dd', { 'data-process-state': iso.state },
          el('span', { class: 'badge ' + stateBadge, text: iso.state }), iso.reason ? el('span', { class: 'failure', text: ' ' + iso.reason }) : null),
        el('dt', { text: 'Restarts' }), el('dd', { text: restarts || '–' }),
        el('dt', { text: 'Crashes' }), el('dd', { text: fmt.int(iso.crashes) + ' (' + fmt.int(iso.replayed) + ' requests replayed, ' + fmt.int(iso.failedByCrash) + ' failed)' })),
      iso.processes.length ? el('div', { class: 'table-wrap' }, el('table', { 'aria-label': 'Worker processes' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'PID' }), el('th', { scope: 'col', text: 'State' }),
          el('th', { scope: 'col', class: 'num', text: 'Uptime' }), el('th', { scope: 'col', class: 'num', text: 'RSS' }),
          el('th', { scope: 'col', class: 'num', text: 'Requests' }))),
        el('tbody', {}, iso.processes.map((p) => el('tr', { 'data-pid': String(p.pid) },
          el('td', { class: 'mono', text: String(p.pid) }), el('td', { text: p.state }),
          el('td', { class: 'num', text: fmt.duration(p.uptimeSeconds) }), el('td', { class: 'num', text: fmt.bytes(p.residentBytes) }),
          el('td', { class: 'num', text: fmt.int(p.requests) })))))) : null);
  }

  // The registry's crash records of an isolated app, newest first; each opens to its backtrace.
  async function crashesCard(app) {
    const card = el('div', { class: 'card', id: 'app-crashes' }, el('h2', { text: 'Crashes' }));
    if (app.mode !== 'process') return null;
    let data;
    try { data = await api('GET', 'crashes?' + query({ host: app.host, path: app.path, limit: 50 })); } catch (e) {
      card.append(el('p', { class: 'failure', text: e.message }));
      return card;
    }
    if (!data.crashes.length) {
      card.append(el('p', { class: 'empty', text: 'No crashes recorded.' }));
      return card;
    }
    card.append(el('div', { class: 'crash-list' }, data.crashes.map((c) => {
      const detail = el('pre', { class: 'mono crash-detail', text: 'Loading…' });
      const item = el('details', { class: 'crash', 'data-crash': c.crashId },
        el('summary', {},
          el('span', { text: fmt.time(c.time) }), ' ',
          el('span', { class: 'mono', text: c.crashId }), ' ',
          el('span', {}, badge(c.cause === 'timeout' ? 'deploying' : 'failed'), ' ', c.cause === 'timeout' ? 'timeout' : (c.signal || '–')), ' ',
          el('span', { class: 'mono crash-function', text: c.function || '??' })),
        el('p', { class: 'crash-summary', text: c.summary }), detail);
      item.addEventListener('toggle', async () => {
        if (!item.open || item.dataset.loaded) return;
        try {
          const whole = await api('GET', 'crashes/' + encodeURIComponent(c.crashId));
          item.dataset.loaded = '1';
          detail.textContent = (whole.requests ? 'In flight:\n' + whole.requests + '\n\n' : '') + 'Backtrace:\n' + (whole.backtrace || '(none)');
        } catch (e) { detail.textContent = e.message; }
      });
      return item;
    })));
    return card;
  }

  async function showApp(params) {
    const host = params.get('host') || '';
    const path = params.get('path') || '/';
    $('app-title').textContent = path;
    $('app-actions').replaceChildren();
    const body = $('app-body');
    body.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
    let app;
    try { app = await api('GET', 'app?' + query({ host, path })); } catch (e) {
      body.replaceChildren(el('div', { class: 'card error', text: e.message }));
      return;
    }
    $('app-title').textContent = (app.displayName ? app.displayName + ' — ' : '') + app.path;
    $('app-actions').replaceChildren(...actionButtons(app, () => showApp(params)));
    const params2 = Object.entries(app.contextParams || {});
    body.replaceChildren(
      el('div', { class: 'card' }, el('dl', { class: 'kv' },
        el('dt', { text: 'Host' }), el('dd', { text: app.host }),
        el('dt', { text: 'State' }), el('dd', {}, badge(app.state)),
        el('dt', { text: 'Version' }), el('dd', { text: app.version || '–' }),
        el('dt', { text: 'Deployed' }), el('dd', { text: fmt.time(app.deployedAt) }),
        el('dt', { text: 'Checksum' }), el('dd', { class: 'mono', text: app.checksum || '–' }),
        el('dt', { text: 'Requests' }), el('dd', { text: fmt.int(app.requests) + ' (' + fmt.int(app.errors5xx) + ' 5xx), p50 ' + fmt.ms(app.p50Ms) + ', p99 ' + fmt.ms(app.p99Ms) }),
        el('dt', { text: 'Files' }), el('dd', { text: fmt.int(app.files && app.files.count) + ' files, ' + fmt.bytes(app.files && app.files.bytes) }),
        el('dt', { text: 'Libraries' }), el('dd', { class: 'mono', text: (app.libraries || '–') + (app.libraryStayedMapped ? ' (stayed mapped after unload)' : '') }),
        app.failure ? el('dt', { text: 'Last failure' }) : null,
        app.failure ? el('dd', { class: 'failure', text: app.failure }) : null)),
      el('div', { class: 'grid two' }, componentTable('Servlets', app.servlets), componentTable('Filters', app.filters)),
      el('div', { class: 'grid two' },
        el('div', { class: 'card' }, el('h2', { text: 'Listeners' }),
          app.listeners && app.listeners.length ? el('ul', {}, app.listeners.map((l) => el('li', { class: 'mono', text: l }))) : el('p', { class: 'empty', text: 'None.' })),
        el('div', { class: 'card' }, el('h2', { text: 'Context parameters' }),
          params2.length ? el('dl', { class: 'kv' }, params2.map(([k, v]) => [el('dt', { class: 'mono', text: k }), el('dd', { class: 'mono', text: v })])) : el('p', { class: 'empty', text: 'None.' }))),
      processesCard(app),
      ...dataSourceTable(app),
      historyTable('Recent failures', app.recentFailures),
      historyTable('Deploy history', app.history));
    const sessions = await sessionsCard(app, () => showApp(params));
    body.insertBefore(sessions, body.children[1] || null);
    const crashes = await crashesCard(app);
    if (crashes) $('app-processes').after(crashes);
    if (app.mode === 'process') {
      // The processes change on their own (restarts, recycles): redraw that card every 2 s.
      stopTimers();
      state.timers.push(setInterval(async () => {
        const card = $('app-processes');
        if (!card) return;
        try { card.replaceWith(processesCard(await api('GET', 'app?' + query({ host, path })))); } catch (e) { /* the next tick tries again */ }
      }, 2000));
    }
  }

  // ---- deploy -------------------------------------------------------------------------------

  function showResult(box, ok, text) {
    box.hidden = false;
    box.classList.toggle('bad', !ok);
    box.textContent = text;
  }

  function showDeploy() {
    $('upload-result').hidden = true;
    $('path-result').hidden = true;
  }

  function deployedText(data) {
    const app = data.app || {};
    return 'Deployed ' + (app.path || '') + (app.version ? ' (version ' + app.version + ')' : '') + ': ' + (app.state || 'running') + '.';
  }

  $('upload-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const file = $('upload-file').files[0];
    if (!file) return;
    const button = $('upload-submit');
    const progress = $('upload-progress');
    const progressText = $('upload-progress-text');
    const result = $('upload-result');
    result.hidden = true;
    button.disabled = true;
    progress.hidden = false;
    progressText.hidden = false;
    progress.value = 0;
    progressText.textContent = 'Uploading ' + file.name + '…';

    // XMLHttpRequest rather than fetch: it reports upload progress.
    const xhr = new XMLHttpRequest();
    xhr.open('POST', base + 'api/deploy?' + query({ file: file.name, path: $('upload-path').value.trim(), update: $('upload-update').checked ? 'true' : '' }));
    xhr.setRequestHeader('X-CSRF-Token', state.csrf);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      progress.value = Math.round(e.loaded * 100 / e.total);
      progressText.textContent = fmt.bytes(e.loaded) + ' of ' + fmt.bytes(e.total) + (e.loaded === e.total ? ' — deploying…' : '');
    });
    xhr.addEventListener('load', () => {
      button.disabled = false;
      progress.hidden = true;
      progressText.hidden = true;
      let data = {};
      try { data = JSON.parse(xhr.responseText || '{}'); } catch (e) { data = { detail: xhr.responseText }; }
      if (xhr.status === 401) { showLogin('Your session ended. Please sign in again.'); return; }
      if (xhr.status >= 200 && xhr.status < 300) showResult(result, true, deployedText(data));
      else showResult(result, false, 'Deploy failed: ' + (data.detail || data.error || ('HTTP ' + xhr.status)));
    });
    xhr.addEventListener('error', () => {
      button.disabled = false;
      progress.hidden = true;
      progressText.hidden = true;
      showResult(result, false, 'Upload failed: the connection was closed (is the bundle larger than the size limit?).');
    });
    xhr.send(file);
  });

  $('path-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = $('path-submit');
    button.disabled = true;
    try {
      const data = await api('POST', 'deploy?' + query({ serverPath: $('server-path').value.trim(), path: $('server-context').value.trim(), update: $('server-update').checked ? 'true' : '' }));
      showResult($('path-result'), true, deployedText(data));
    } catch (e) {
      if (e.status !== 401) showResult($('path-result'), false, 'Deploy failed: ' + e.message);
    } finally {
      button.disabled = false;
    }
  });

  // ---- status -------------------------------------------------------------------------------

  const chart = { points: [], last: null, max: 300 };

  function drawChart() {
    const canvas = $('rps-chart');
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 900;
    const height = canvas.clientHeight || 220;
    if (canvas.width !== Math.round(width * ratio)) { canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio); }
    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    const pad = { l: 48, r: 12, t: 12, b: 22 };
    const w = width - pad.l - pad.r;
    const h = height - pad.t - pad.b;
    const values = chart.points.map((p) => p.rps);
    const top = Math.max(1, ...values) * 1.15;
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#5d6778';
    g.strokeStyle = '#e6e9ef';
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = pad.t + h - h * i / 4;
      g.beginPath(); g.moveTo(pad.l, y); g.lineTo(pad.l + w, y); g.stroke();
      g.fillText((top * i / 4).toFixed(top < 10 ? 1 : 0), 6, y + 4);
    }
    g.fillText('last ' + Math.round(chart.max * 2 / 60) + ' min', pad.l, height - 6);
    if (chart.points.length < 2) return;
    const x = (i) => pad.l + w * i / (chart.max - 1);
    const y = (v) => pad.t + h - h * v / top;
    const offset = chart.max - chart.points.length;
    g.beginPath();
    chart.points.forEach((p, i) => { const px = x(i + offset), py = y(p.rps); if (i) g.lineTo(px, py); else g.moveTo(px, py); });
    g.strokeStyle = '#b4541e';
    g.lineWidth = 2;
    g.stroke();
    g.lineTo(x(offset + chart.points.length - 1), pad.t + h);
    g.lineTo(x(offset), pad.t + h);
    g.closePath();
    g.fillStyle = 'rgba(180, 84, 30, .12)';
    g.fill();
  }

  function statCard(label, value) {
    return el('div', { class: 'stat' }, el('div', { class: 'label', text: label }), el('div', { class: 'value', text: value }));
  }

  async function pollStatus() {
    let s;
    try { s = await api('GET', 'status'); } catch (e) { return; }
    const now = performance.now();
    if (chart.last) {
      const seconds = (now - chart.last.time) / 1000;
      const rps = Math.max(0, (s.requests - chart.last.requests) / seconds);
      chart.points.push({ rps });
      if (chart.points.length > chart.max) chart.points.shift();
      $('rps-now').textContent = 'Now: ' + rps.toFixed(1) + ' requests/s (all connectors, sampled every 2 s)';
    }
    chart.last = { time: now, requests: s.requests };
    drawChart();
    $('status-cards').replaceChildren(
      statCard('Version', s.version || '–'),
      statCard('Uptime', fmt.duration(s.uptimeSeconds)),
      statCard('Requests', fmt.int(s.requests)),
      statCard('Memory (RSS)', fmt.bytes(s.rssBytes)),
      statCard('Open files', fmt.int(s.openFds)),
      statCard('Workers busy', fmt.int(s.workers.busy) + ' / ' + fmt.int(s.workers.threads)),
      statCard('Queued', fmt.int(s.workers.queued)),
      statCard('Deploys (failed)', fmt.int(s.deploys) + ' (' + fmt.int(s.failedDeploys) + ')'));
    $('connectors-table').tBodies[0].replaceChildren(...s.connectors.map((c) => el('tr', {},
      el('td', { class: 'mono', text: (c.address.includes(':') ? '[' + c.address + ']' : c.address) + ':' + c.port }),
      el('td', { class: 'num', text: fmt.int(c.openConnections) }), el('td', { class: 'num', text: fmt.int(c.requests) }),
      el('td', { class: 'num', text: fmt.bytes(c.bytesIn) }), el('td', { class: 'num', text: fmt.bytes(c.bytesOut) }))));
    const certificates = s.connectors.flatMap((c) => (c.certificates || []).map((certificate) => ({ c, certificate })));
    $('certificates-table').closest('.card').hidden = !certificates.length;
    $('certificates-table').tBodies[0].replaceChildren(...certificates.map(({ c, certificate }) => el('tr', {},
      el('td', { class: 'mono', text: c.port + (certificate.hostNames.length ? ' ' + certificate.hostNames.join(', ') : ' (default)') }),
      el('td', { text: certificate.subject }),
      el('td', { text: certificate.subjectAltNames.join(', ') }),
      el('td', { text: certificate.keyType }),
      el('td', { text: new Date(certificate.notAfter * 1000).toISOString().slice(0, 10) }),
      el('td', { text: certificate.lastError ? 'refused: ' + certificate.lastError : 'serving' }))));
  }

  async function loadAudit() {
    if (!state.canAct) { $('audit-table').closest('.card').hidden = true; return; }
    let data;
    try { data = await api('GET', 'audit?limit=50'); } catch (e) { return; }
    $('audit-table').tBodies[0].replaceChildren(...data.audit.map((a) => el('tr', {},
      el('td', { text: fmt.time(a.time) }), el('td', { text: a.user }), el('td', { text: a.action }),
      el('td', { class: 'mono', text: a.target }), el('td', { class: 'mono', text: a.address }),
      el('td', { text: a.result }))));
  }

  function showStatus() {
    chart.last = null;
    pollStatus();
    loadAudit();
    state.timers.push(setInterval(pollStatus, 2000));
    state.timers.push(setInterval(loadAudit, 10000));
  }
  window.addEventListener('resize', () => { if (state.view === 'status') drawChart(); });

  // ---- logs ---------------------------------------------------------------------------------

  async function loadLogs() {
    const params = query({ level: $('logs-level').value, app: $('logs-app').value, lines: 500 });
    let data;
    try { data = await api('GET', 'logs?' + params); } catch (e) { return; }
    const list = $('logs-lines');
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
    list.replaceChildren(...(data.lines.length ? data.lines.map((l) => el('li', {},
      el('span', { class: 'mono muted', text: l.time }), el('span', { class: 'lvl-' + l.level, text: l.level.toUpperCase() }),
      el('span', { class: 'src', title: l.source, text: l.source }), el('span', { class: 'msg', text: l.message })))
      : [el('li', { class: 'empty', text: 'No matching lines in ' + data.file + '.' })]));
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  async function showLogs() {
    try {
      const data = await api('GET', 'apps');
      const select = $('logs-app');
      const current = select.value;
      const paths = [...new Set(data.apps.map((a) => a.path))].sort();
      select.replaceChildren(el('option', { value: '', text: 'All' }), ...paths.map((p) => el('option', { value: p, text: p })));
      select.value = paths.includes(current) ? current : '';
    } catch (e) { /* the list stays */ }
    loadLogs();
    state.timers.push(setInterval(() => { if ($('logs-follow').checked) loadLogs(); }, 3000));
  }
  $('logs-form').addEventListener('submit', (e) => { e.preventDefault(); loadLogs(); });
  $('logs-level').addEventListener('change', loadLogs);
  $('logs-app').addEventListener('change', loadLogs);

  // ---- tokens -------------------------------------------------------------------------------

  async function loadTokens() {
    let data;
    try { data = await api('GET', 'tokens'); } catch (e) { if (e.status !== 401) notice(e.message, true); return; }
    const body = $('tokens-table').tBodies[0];
    if (!data.tokens.length) {
      body.replaceChildren(el('tr', {}, el('td', { colspan: '5', class: 'empty', text: 'No tokens yet.' })));
      return;
    }
    body.replaceChildren(...data.tokens.map((t) => el('tr', {},
      el('td', { text: t.name }), el('td', { text: t.user }), el('td', { text: fmt.time(t.created) }),
      el('td', { text: t.lastUsed ? fmt.time(t.lastUsed) : 'never' }),
      el('td', { class: 'actions' }, el('button', {
        type: 'button', class: 'btn small danger', text: 'Revoke', 'aria-label': 'Revoke token ' + t.name,
        onclick: async () => {
          if (!(await confirmAction('Revoke token', 'Revoke "' + t.name + '"? Scripts using it stop working at once.', 'Revoke'))) return;
          try { await api('DELETE', 'tokens/' + t.id); notice('Token "' + t.name + '" revoked.'); } catch (e) { notice(e.message, true); }
          loadTokens();
        },
      })))));
  }

  function showTokens() {
    $('token-secret').hidden = true;
    $('token-value').value = '';
    loadTokens();
  }

  $('token-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const data = await api('POST', 'tokens', { name: $('token-name').value.trim() });
      $('token-value').value = data.token;
      $('token-secret').hidden = false;
      $('token-name').value = '';
      $('token-value').select();
      if (!data.usable) notice('Note: your user has no manager-script role, so this token cannot act until it gets one.', true);
      loadTokens();
    } catch (e) {
      notice(e.message, true);
    }
  });
  $('token-copy').addEventListener('click', async () => {
    const input = $('token-value');
    input.select();
    try { await navigator.clipboard.writeText(input.value); notice('Token copied.'); } catch (e) { document.execCommand('copy'); }
  });

  // ---- start --------------------------------------------------------------------------------

  (async function start() {
    try {
      applySession(await api('GET', 'session'));
      route();
    } catch (e) {
      showLogin('');
    }
  })();
})();
