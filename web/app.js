/*
 * app.js: the dashboard's logic.  Polls wf's JSON API every 2.5 s (not
 * while the tab is hidden), draws the stat cards, the queue, projects,
 * the task and run boards and the audit trail, and sends the few writes
 * (start a pipeline, approve a deploy, retry a run) with the bearer token
 * from the token field.  Every piece of data goes into the page as text
 * (textContent, createElement): nothing from the server is parsed as HTML.
 */
'use strict';

const POLL_MS = 2500;
const FETCH_TIMEOUT_MS = 4000;  // a hung server counts as unreachable
const LOG_LIMIT = 30;

const TASK_COLS = [
  ['backlog', 'Backlog'],
  ['in_progress', 'In progress'],
  ['blocked', 'Blocked'],
  ['done', 'Done'],
  ['failed', 'Failed'],
];

const RUN_STATES = [
  'PM', 'DEV', 'QA', 'SEC', 'READY_FOR_COMMIT', 'MERGED', 'READY_FOR_DEPLOY',
  'TESTING', 'DEPLOYED', 'QA_FAILED', 'SEC_FAILED', 'DEPLOY_FAILED',
];

const PRIORITIES = { 1: 'critical', 2: 'high', 3: 'medium', 4: 'low' };
const QUEUE_PRIOS = ['critical', 'high', 'normal', 'low'];

const state = {
  project: localStorage.getItem('wf.project') || '',
  priority: '',
  hideEmpty: localStorage.getItem('wf.hideEmpty') === '1',
  timer: null,
  inflight: false,
  lastOk: null,
  lastErr: null,
  projects: [],
  drawn: {},       // section -> the JSON it was last drawn from
  taskOptionsFor: null,
};

const $ = (id) => document.getElementById(id);

/* el(tag, props, ...children): props are DOM properties or, for names
 * with a dash (aria-*, data-*), attributes; children are nodes or
 * strings, and a string is always text. */
function el(tag, props, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') n.className = v;
    else if (k.includes('-') || k === 'role' || k === 'scope') n.setAttribute(k, String(v));
    else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else n[k] = v;
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return n;
}

/* setText: only a change, so that a live region speaks only then */
function setText(n, s) {
  if (n.textContent !== s) n.textContent = s;
}

function clear(n) {
  while (n.firstChild) n.removeChild(n.firstChild);
}

function num(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function fmtInt(v) {
  return num(v).toLocaleString('en');
}

/* A duration in seconds as "4s", "3m 12s", "2h 5m", "3d 4h". */
function fmtAge(s) {
  s = Math.max(0, Math.floor(num(s)));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

function fmtWhen(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return { short: String(iso || ''), long: String(iso || '') };
  const d = new Date(t);
  const ago = (Date.now() - t) / 1000;
  let short;
  if (ago < 45) short = 'just now';
  else if (ago < 3600) short = `${Math.round(ago / 60)} min ago`;
  else if (ago < 86400 && d.getDate() === new Date().getDate())
    short = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  else short = d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  return { short, long: d.toISOString() };
}

/* ---------- talking to the server ---------- */

class Unreachable extends Error {}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, opts = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  let res;
  try {
    res = await fetch(path, {
      ...opts,
      signal: ctl.signal,
      cache: 'no-store',
      headers: { Accept: 'application/json', ...(opts.headers || {}) },
    });
  } catch (e) {
    throw new Unreachable(e && e.name === 'AbortError'
      ? 'No answer within 4 s.' : 'No connection.');
  } finally {
    clearTimeout(timer);
  }
  let body = null;
  const text = await res.text().catch(() => '');
  if (text) {
    try { body = JSON.parse(text); } catch (e) { body = null; }
  }
  if (!res.ok) {
    const line = body && typeof body.error === 'string' ? body.error
      : `${res.status} ${res.statusText || 'error'}`;
    throw new ApiError(res.status, line);
  }
  return body;
}

function token() {
  return $('token').value.trim();
}

async function post(path, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  try {
    const out = await api(path, { method: 'POST', headers, body: JSON.stringify(body || {}) });
    return out;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      notify('A token is needed: run `wf token add NAME` and paste the token in the Token field.', 'error');
      $('token').focus();
    } else if (e instanceof Unreachable) {
      notify(`The server is unreachable: ${e.message} Nothing was changed.`, 'error');
    } else {
      notify(e.message, 'error');
    }
    throw e;
  }
}

/* ---------- messages ---------- */

let noticeTimer = null;

function notify(msg, kind) {
  const box = $('notice');
  $('notice-text').textContent = msg;
  box.className = `notice ${kind || 'ok'}`;
  box.hidden = false;
  clearTimeout(noticeTimer);
  // an error stays until dismissed: it may need to be read twice
  if (kind !== 'error') noticeTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

function setReachable(ok, why) {
  const conn = $('conn');
  if (ok) {
    state.lastOk = new Date();
    $('banner').hidden = true;
    conn.className = 'conn ok';
    setText($('conn-text'), 'live');
    $('updated').textContent = `updated ${state.lastOk.toLocaleTimeString()}`;
    document.body.classList.remove('stale');
  } else {
    const since = state.lastOk
      ? `Last good update at ${state.lastOk.toLocaleTimeString()}; what you see may be out of date.`
      : 'Nothing could be loaded yet.';
    $('banner-text').textContent = `${why ? `${why} ` : ''}${since} Retrying every ${POLL_MS / 1000} s.`;
    $('banner').hidden = false;
    conn.className = 'conn down';
    setText($('conn-text'), 'offline');
    document.body.classList.add('stale');
  }
}

/* ---------- drawing ---------- */

/* changed(key, data): true, and remember data, when it differs from what
 * the section was last drawn from; redrawing only then keeps the focus and
 * the scroll position of a board while nothing moves. */
function changed(key, data) {
  const s = JSON.stringify(data);
  if (state.drawn[key] === s) return false;
  state.drawn[key] = s;
  return true;
}

function projectName(id) {
  const p = state.projects.find((x) => x.id === id);
  return p ? p.name : `project ${id}`;
}

/* A stroked SVG icon, decorative: a font may lack an emoji, and the CSP
 * allows no image file from elsewhere. */
function icon(d, cls) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', cls);
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', d);
  svg.append(path);
  return svg;
}

function chip(text, cls) {
  return el('span', { class: `chip ${cls || ''}` }, text);
}

function drawStats(board, projects) {
  const bugs = board.bugs || {};
  $('stat-bugs').textContent = fmtInt(num(bugs.open));
  $('stat-bugs').classList.toggle('alert', num(bugs.open) > 0);
  $('stat-bugs-sub').textContent = `${fmtInt(num(bugs.in_progress))} in progress · ${fmtInt(num(bugs.resolved))} resolved`;

  const runs = board.runs || {};
  let active = 0; let waiting = 0; let deployed = 0;
  for (const st of RUN_STATES) {
    const list = Array.isArray(runs[st]) ? runs[st] : [];
    if (st === 'DEPLOYED') deployed += list.length;
    else active += list.length;
    waiting += list.filter((r) => r && r.waiting_for_human).length;
  }
  $('stat-runs').textContent = fmtInt(active);
  $('stat-runs-sub').textContent = `${waiting} waiting for a human · ${deployed} deployed`;
  // the tab's title tells a human they are needed while they look elsewhere
  document.title = `${waiting ? `(${waiting}) ` : ''}wf — Workflow Hub`;

  const tasks = board.tasks || {};
  let total = 0;
  for (const [k] of TASK_COLS) total += Array.isArray(tasks[k]) ? tasks[k].length : 0;
  $('stat-tasks').textContent = fmtInt(total);
  const inProg = Array.isArray(tasks.in_progress) ? tasks.in_progress.length : 0;
  const done = Array.isArray(tasks.done) ? tasks.done.length : 0;
  $('stat-tasks-sub').textContent = `${inProg} in progress · ${done} done`;

  $('stat-projects').textContent = fmtInt(projects.length);
  $('stat-projects-sub').textContent = state.project
    ? `showing ${projectName(Number(state.project))}` : 'showing all';
}

function drawQueue(q) {
  if (!changed('queue', q)) return;
  const body = $('queue-body');
  clear(body);
  const byStatus = q.by_status || {};
  const running = Array.isArray(q.running) ? q.running : [];
  const wbp = q.waiting_by_priority || {};
  const waiting = QUEUE_PRIOS.reduce((a, p) => a + num(wbp[p]), 0);

  const qs = $('queue-state');
  if (running.length) { qs.textContent = 'processing'; qs.className = 'chip info'; }
  else if (waiting) { qs.textContent = 'waiting'; qs.className = 'chip warn'; }
  else { qs.textContent = 'idle'; qs.className = 'chip'; }

  const counts = el('dl', { class: 'qcounts' },
    el('div', {}, el('dt', {}, 'Waiting'), el('dd', { id: 'q-waiting' }, fmtInt(waiting))),
    el('div', {}, el('dt', {}, 'Running'), el('dd', { id: 'q-running' }, fmtInt(num(byStatus.running) || running.length))),
    el('div', { class: num(byStatus.failed) + num(byStatus.timeout) ? 'bad' : '' },
      el('dt', {}, 'Failed'), el('dd', { id: 'q-failed' }, fmtInt(num(byStatus.failed) + num(byStatus.timeout)))),
    el('div', {}, el('dt', {}, 'Completed'), el('dd', {}, fmtInt(num(byStatus.completed)))),
  );
  body.append(counts);

  // waiting by priority as one stacked bar with a legend
  const bar = el('div', { class: 'prio-bar', role: 'img', 'aria-label': QUEUE_PRIOS.map((p) => `${num(wbp[p])} ${p}`).join(', ') + ' waiting' });
  const legend = el('ul', { class: 'prio-legend' });
  for (const p of QUEUE_PRIOS) {
    const n = num(wbp[p]);
    if (waiting && n) {
      const seg = el('span', { class: `seg p-${p}` });
      seg.style.flexGrow = String(n);   // CSSOM, which the CSP allows
      bar.append(seg);
    }
    legend.append(el('li', {}, el('span', { class: `sw p-${p}`, 'aria-hidden': 'true' }), `${p} `, el('strong', { 'data-prio': p }, fmtInt(n))));
  }
  if (!waiting) bar.append(el('span', { class: 'seg none' }));
  body.append(el('div', { class: 'prio' }, el('h3', { class: 'mini-h' }, 'Waiting by priority'), bar, legend));

  const lanes = q.by_lane && typeof q.by_lane === 'object' ? Object.entries(q.by_lane) : [];
  if (lanes.length) {
    body.append(el('p', { class: 'lanes' },
      el('span', { class: 'muted' }, 'Lanes: '),
      lanes.map(([name, l], i) => [i ? ' · ' : '', el('strong', {}, name), ` ${num(l && l.waiting)} waiting, ${num(l && l.running)} running`])));
  }

  body.append(el('h3', { class: 'mini-h' }, `Running jobs (${running.length})`));
  if (!running.length) {
    body.append(el('p', { class: 'empty small' }, 'No job is running.'));
  } else {
    const tb = el('tbody');
    for (const j of running) {
      if (!j || typeof j !== 'object') continue;
      const id = j.id !== undefined ? String(j.id) : '?';
      tb.append(el('tr', {},
        el('td', { class: 'mono jid', title: id }, id),
        el('td', {}, j.job_type !== undefined ? String(j.job_type) : '–'),
        el('td', {}, j.lane !== undefined ? String(j.lane) : '–'),
        el('td', { class: 'num' }, typeof j.age_s === 'number' ? fmtAge(j.age_s) : '–')));
    }
    body.append(el('table', { class: 'jobs' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Job'), el('th', { scope: 'col' }, 'Type'),
        el('th', { scope: 'col' }, 'Lane'), el('th', { scope: 'col', class: 'num' }, 'Age'))),
      tb));
  }
}

function drawProjects(projects, allBoard) {
  const key = { projects, counts: allBoard ? countsByProject(allBoard) : null, sel: state.project };
  if (!changed('projects', key)) return;
  const tb = $('projects-body');
  clear(tb);
  if (!projects.length) {
    tb.append(el('tr', {}, el('td', { colSpan: 5, class: 'empty' },
      'No project yet: make one with wf project create --name NAME --repo-path DIR.')));
    return;
  }
  const counts = key.counts || {};
  for (const p of projects) {
    const c = counts[p.id] || { tasks: 0, runs: 0 };
    const selected = String(p.id) === state.project;
    const name = el('button', {
      type: 'button', class: 'link-btn strong',
      'aria-pressed': selected ? 'true' : 'false',
      title: selected ? 'Show all projects' : `Show only ${p.name}`,
      onclick: () => setProject(selected ? '' : String(p.id)),
    }, String(p.name || `#${p.id}`));
    const langs = Array.isArray(p.languages) && p.languages.length
      ? el('span', { class: 'langs' }, p.languages.slice(0, 4).map((l) => chip(String(l), 'lang'))) : null;
    tb.append(el('tr', { class: selected ? 'selected' : '' },
      el('td', {}, name, langs),
      el('td', { class: 'desc', title: p.description || '' }, p.description ? String(p.description) : el('span', { class: 'muted' }, '—')),
      el('td', { class: 'mono small' }, p.repo_path ? String(p.repo_path) : '—',
        p.primary_branch ? el('span', { class: 'muted' }, ` @ ${p.primary_branch}`) : null),
      el('td', { class: 'num' }, allBoard ? fmtInt(c.tasks) : '–'),
      el('td', { class: 'num' }, allBoard ? fmtInt(c.runs) : '–')));
  }
}

function countsByProject(board) {
  const out = {};
  const bump = (id, k) => {
    out[id] = out[id] || { tasks: 0, runs: 0 };
    out[id][k]++;
  };
  for (const [k] of TASK_COLS) for (const t of board.tasks?.[k] || []) bump(t.project_id, 'tasks');
  for (const s of RUN_STATES) for (const r of board.runs?.[s] || []) bump(r.project_id, 'runs');
  return out;
}

function column(key, title, items, cls) {
  const list = el('ul', { class: 'cards' });
  const col = el('section', { class: `col ${cls}`, 'data-col': key, 'aria-label': `${title}, ${items.length}` },
    el('header', { class: 'col-head' },
      el('h3', {}, title),
      el('span', { class: 'count' }, String(items.length))),
    list);
  if (!items.length) list.append(el('li', { class: 'empty small' }, 'No items'));
  return { col, list };
}

function drawTasks(board) {
  const tasks = board.tasks || {};
  if (!changed('tasks', { tasks, pr: state.priority, all: !state.project, n: state.projects.length })) return;
  const root = $('task-board');
  clear(root);
  for (const [key, title] of TASK_COLS) {
    let items = Array.isArray(tasks[key]) ? tasks[key] : [];
    if (state.priority) items = items.filter((t) => String(t.priority) === state.priority);
    items = [...items].sort((a, b) => (num(a.priority) || 9) - (num(b.priority) || 9) || num(a.id) - num(b.id));
    const { col, list } = column(key, title, items, `t-${key}`);
    for (const t of items) {
      const pname = PRIORITIES[t.priority] || 'none';
      list.append(el('li', { class: 'card', 'data-task': t.task_id || '' },
        el('div', { class: 'card-top' },
          el('span', { class: 'mono id' }, t.task_id ? String(t.task_id) : `#${t.id}`),
          chip(pname, `prio p-${pname}`)),
        el('p', { class: 'card-title' }, String(t.title || '(untitled)')),
        !state.project ? el('p', { class: 'card-meta' }, projectName(t.project_id)) : null));
    }
    root.append(col);
  }
}

function stateChipClass(st) {
  if (st.endsWith('_FAILED')) return 'bad';
  if (st === 'DEPLOYED') return 'good';
  if (st.startsWith('READY_') || st === 'MERGED') return 'warn';
  return 'info';
}

function drawRuns(board) {
  const runs = board.runs || {};
  if (!changed('runs', { runs, hide: state.hideEmpty, all: !state.project, n: state.projects.length })) return;
  const root = $('run-board');
  clear(root);
  for (const st of RUN_STATES) {
    const items = Array.isArray(runs[st]) ? runs[st] : [];
    if (state.hideEmpty && !items.length) continue;
    const title = st.replace(/_/g, ' ');
    const { col, list } = column(st, title, items, `r-${stateChipClass(st)}`);
    for (const r of items) {
      const name = r.name ? String(r.name) : '(unnamed)';
      const card = el('li', { class: `card run${r.waiting_for_human ? ' waiting' : ''}`, 'data-run': String(r.id) },
        el('div', { class: 'card-top' },
          el('span', { class: 'mono id' }, `#${r.id}`),
          chip(st, `state ${stateChipClass(st)}`)),
        el('p', { class: 'card-title', title: name }, name),
        el('p', { class: 'card-meta' },
          `iteration ${num(r.iteration)} · tokens ${fmtInt(r.tokens_in)} in / ${fmtInt(r.tokens_out)} out`),
        !state.project ? el('p', { class: 'card-meta' }, projectName(r.project_id)) : null);
      if (r.waiting_for_human) {
        card.append(el('p', { class: 'human' },
          icon('M12 8v4l2.5 2.5M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18Z', 'human-icon'),
          `waiting for a human: ${r.waiting_reason ? String(r.waiting_reason) : 'no reason given'}`));
      }
      const actions = [];
      if (st === 'READY_FOR_DEPLOY') {
        actions.push(el('button', {
          type: 'button', class: 'btn primary small',
          'aria-label': `Approve deploy of run ${r.id}, ${name}`,
          onclick: (ev) => approveDeploy(r, ev.currentTarget),
        }, 'Approve deploy'));
      }
      if (st === 'QA_FAILED' || st === 'SEC_FAILED') {
        actions.push(el('button', {
          type: 'button', class: 'btn small',
          'aria-label': `Retry run ${r.id}, ${name}`,
          onclick: (ev) => retryRun(r, ev.currentTarget),
        }, 'Retry'));
      }
      if (actions.length) card.append(el('div', { class: 'card-actions' }, actions));
      list.append(card);
    }
    root.append(col);
  }
}

function drawActivity(log) {
  if (!changed('log', log)) return;
  const ol = $('activity');
  clear(ol);
  const lines = Array.isArray(log) ? [...log].reverse() : [];  // newest first
  if (!lines.length) {
    ol.append(el('li', { class: 'empty' }, 'Nothing has happened yet.'));
    return;
  }
  for (const e of lines) {
    if (!e || typeof e !== 'object') continue;
    const action = String(e.action || '?');
    const kind = action.split('.')[0];
    const when = fmtWhen(e.timestamp);
    const ent = e.entity_type ? `${e.entity_type}${e.entity_id !== undefined && e.entity_id !== null ? ` #${e.entity_id}` : ''}` : '';
    ol.append(el('li', { class: `act k-${kind.replace(/[^a-z_]/gi, '')}` },
      el('span', { class: 'act-dot', 'aria-hidden': 'true' }),
      el('div', { class: 'act-main' },
        el('p', { class: 'act-line' }, el('span', { class: 'act-action' }, action), ent ? el('span', { class: 'act-ent' }, ` ${ent}`) : null),
        el('p', { class: 'act-sub' }, `by ${e.actor ? String(e.actor) : 'unknown'}`, detailText(e.details))),
      el('time', { class: 'act-time', dateTime: when.long, title: when.long }, when.short)));
  }
}

/* A few telling details of an audit line, as text. */
function detailText(d) {
  if (!d || typeof d !== 'object') return '';
  const parts = [];
  if (d.from_state && d.to_state) parts.push(`${d.from_state} → ${d.to_state}`);
  else if (d.state) parts.push(String(d.state));
  for (const k of ['name', 'title', 'reason', 'why', 'status']) {
    if (typeof d[k] === 'string' && d[k] && !(k === 'status' && parts.length)) parts.push(d[k]);
  }
  const s = parts.join(' · ');
  return s ? ` · ${s.length > 140 ? `${s.slice(0, 139)}…` : s}` : '';
}

function fillProjectSelects(projects) {
  if (!changed('selects', projects.map((p) => [p.id, p.name]))) return;
  for (const [id, first] of [['filter-project', 'All projects'], ['start-project', 'Select a project…']]) {
    const sel = $(id);
    const keep = id === 'filter-project' ? state.project : sel.value;
    clear(sel);
    sel.append(el('option', { value: '' }, first));
    for (const p of projects) sel.append(el('option', { value: String(p.id) }, String(p.name || `#${p.id}`)));
    sel.value = projects.some((p) => String(p.id) === keep) ? keep : '';
  }
  if (state.project && !projects.some((p) => String(p.id) === state.project)) setProject('');
  if (!$('start-project').value && state.project) $('start-project').value = state.project;
  loadTaskOptions();
}

async function loadTaskOptions() {
  const pid = $('start-project').value;
  const sel = $('start-task');
  if (state.taskOptionsFor === pid) return;
  state.taskOptionsFor = pid;
  clear(sel);
  sel.append(el('option', { value: '' }, "Any: the project's next work"));
  sel.disabled = !pid;
  if (!pid) return;
  try {
    const tasks = await api(`/api/projects/${encodeURIComponent(pid)}/tasks`);
    if (state.taskOptionsFor !== pid) return;  // the choice moved on meanwhile
    for (const t of Array.isArray(tasks) ? tasks : []) {
      if (t.status === 'done') continue;
      const label = `${t.task_id || `#${t.id}`} — ${t.title || ''}`;
      // The API names a task by its number; the label is for people.
      sel.append(el('option', { value: String(t.id), 'data-label': t.task_id || `#${t.id}` },
        label.length > 70 ? `${label.slice(0, 69)}…` : label));
    }
  } catch (e) {
    state.taskOptionsFor = null;  // try again next time
  }
}

/* ---------- the poll ---------- */

async function refresh() {
  if (state.inflight) return;
  state.inflight = true;
  const q = state.project ? `?project_id=${encodeURIComponent(state.project)}` : '';
  // the whole board too when filtered: the projects table counts every project
  const reqs = [
    api(`/api/board${q}`),
    api('/api/queue/status'),
    api('/api/projects'),
    api(`/api/log?limit=${LOG_LIMIT}`),
    api('/api/health'),
    state.project ? api('/api/board') : null,
  ];
  const out = await Promise.allSettled(reqs.map((p) => p || Promise.resolve(null)));
  state.inflight = false;
  const down = out.find((r) => r.status === 'rejected' && r.reason instanceof Unreachable);
  if (down) {
    setReachable(false, down.reason.message);
    return;
  }
  setReachable(true);
  const val = (i) => (out[i].status === 'fulfilled' ? out[i].value : null);
  const errs = out.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
  const [board, queue, projects, log, health, allBoard] = [0, 1, 2, 3, 4, 5].map(val);

  if (Array.isArray(projects)) state.projects = projects;
  fillProjectSelects(state.projects);
  if (board && typeof board === 'object') {
    drawStats(board, state.projects);
    drawTasks(board);
    drawRuns(board);
    $('scope').textContent = board.project && board.project.name
      ? `Project: ${board.project.name}` : 'All projects';
  }
  if (queue && typeof queue === 'object') drawQueue(queue);
  drawProjects(state.projects, state.project ? allBoard : board);
  if (log) drawActivity(log);
  if (health && health.version) $('version').textContent = String(health.version);
  // a failing endpoint fails every poll: say so once, not every 2.5 s
  const err = errs.length ? errs[0] : null;
  if (err && err !== state.lastErr) notify(`The server said: ${err}`, 'error');
  state.lastErr = err;
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = null;
  if (document.hidden) {
    $('polling').textContent = 'paused while the tab is hidden';
    return;
  }
  $('polling').textContent = `refreshing every ${POLL_MS / 1000} s`;
  state.timer = setTimeout(async () => {
    await refresh();
    schedule();
  }, POLL_MS);
}

async function refreshNow() {
  await refresh();
  schedule();
}

/* ---------- actions ---------- */

function setProject(id) {
  state.project = id;
  localStorage.setItem('wf.project', id);
  $('filter-project').value = id;
  if (id) $('start-project').value = id;
  delete state.drawn.tasks;
  delete state.drawn.runs;
  loadTaskOptions();
  refreshNow();
}

async function startPipeline(ev) {
  ev.preventDefault();
  const pid = $('start-project').value;
  if (!pid) {
    notify('Choose a project to start a pipeline.', 'error');
    $('start-project').focus();
    return;
  }
  const task = $('start-task').value;
  const opt = $('start-task').selectedOptions[0];
  const label = opt ? opt.getAttribute('data-label') : null;
  const btn = $('start-btn');
  btn.disabled = true;
  try {
    // The reply is the new run's record.
    const out = await post(`/api/projects/${encodeURIComponent(pid)}/execute`, task ? { task_id: Number(task) } : {});
    notify(`Run #${out && out.id !== undefined ? out.id : '?'} started for ${projectName(Number(pid))}${task ? ` (task ${label || task})` : ''}.`);
    refreshNow();
  } catch (e) {
    // post() has said why
  } finally {
    btn.disabled = false;
  }
}

async function approveDeploy(r, btn) {
  if (!window.confirm(`Approve the deploy of run #${r.id} (${r.name || 'unnamed'})?`)) return;
  btn.disabled = true;
  try {
    await post(`/api/runs/${encodeURIComponent(r.id)}/approve-deploy`, {});
    notify(`Deploy of run #${r.id} approved.`);
    refreshNow();
  } catch (e) {
    btn.disabled = false;
  }
}

async function retryRun(r, btn) {
  btn.disabled = true;
  try {
    await post(`/api/runs/${encodeURIComponent(r.id)}/retry`, {});
    notify(`Run #${r.id} sent back to DEV.`);
    refreshNow();
  } catch (e) {
    btn.disabled = false;
  }
}

/* The theme: automatic (the system's), light or dark, kept per browser. */
const THEMES = ['auto', 'light', 'dark'];

function applyTheme(t) {
  if (t === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
  const names = { auto: 'automatic', light: 'light', dark: 'dark' };
  $('theme').setAttribute('aria-label', `Colour theme: ${names[t]} (change)`);
  $('theme').title = `Colour theme: ${names[t]}`;
}

function init() {
  $('token').value = localStorage.getItem('wf.token') || '';
  $('token').addEventListener('change', () => localStorage.setItem('wf.token', token()));
  $('filter-project').addEventListener('change', (e) => setProject(e.target.value));
  $('filter-priority').addEventListener('change', (e) => {
    state.priority = e.target.value;
    refreshNow();
  });
  $('hide-empty').checked = state.hideEmpty;
  $('hide-empty').addEventListener('change', (e) => {
    state.hideEmpty = e.target.checked;
    localStorage.setItem('wf.hideEmpty', state.hideEmpty ? '1' : '0');
    refreshNow();
  });
  $('start-project').addEventListener('change', loadTaskOptions);
  $('start-form').addEventListener('submit', startPipeline);
  $('notice-close').addEventListener('click', () => { $('notice').hidden = true; });

  let theme = localStorage.getItem('wf.theme') || 'auto';
  if (!THEMES.includes(theme)) theme = 'auto';
  applyTheme(theme);
  $('theme').addEventListener('click', () => {
    theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    localStorage.setItem('wf.theme', theme);
    applyTheme(theme);
  });

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) schedule();  // stops the timer
    else refreshNow();
  });
  refreshNow();
}

init();
