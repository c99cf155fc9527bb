/*
 * app.js: the page's logic.  A hash route picks one view: the dashboard
 * (#/: stat cards, queue, projects, task and run boards, audit trail), the
 * projects (#/projects), one project (#/projects/N: overview, tasks,
 * credentials, environments, runs), the runs (#/runs), one run (#/runs/N:
 * history, results, the actions its state allows), the bugs (#/bugs) and
 * the webhooks (#/webhooks: never a secret, not even one wf made).
 * Only the shown view's endpoints are polled, every 2.5 s and not while
 * the tab is hidden; writes carry the bearer token from the token field.
 * Every piece of data goes into the page as text (textContent,
 * createElement): nothing from the server is parsed as HTML.
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
  ['cancelled', 'Cancelled'],
];

/* The task board's columns: the stage of the pipeline a task is in, from
 * the run that works on it (the seed's Backlog ... Complete). */
const TASK_STAGES = [
  ['NONE', 'Backlog'], ['PM', 'PM'], ['DEV', 'DEV'], ['QA', 'QA'],
  ['SEC', 'SEC'], ['DOCS', 'DOCS'], ['COMPLETE', 'Complete'],
];

const RUN_STATES = [
  'PM', 'DEV', 'QA', 'SEC', 'READY_FOR_COMMIT', 'MERGED', 'READY_FOR_DEPLOY',
  'TESTING', 'DEPLOYED', 'QA_FAILED', 'SEC_FAILED', 'DEPLOY_FAILED',
  'ABANDONED',
];

const PRIORITIES = { 1: 'critical', 2: 'high', 3: 'medium', 4: 'low', 5: 'lowest' };
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
  route: { view: 'dashboard' },
  gen: 0,          // bumped by each route change: a late answer is dropped
  again: false,
  runsProject: '',
  runsState: '',
  bugsProject: '',
  bugsStatus: '',
  diff: { key: null },  // the run page's diff: fetched when the run moves
  diffShow: { id: null, chunks: 1 },
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

async function send(method, path, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  try {
    const opts = { method, headers };
    if (body !== undefined) opts.body = JSON.stringify(body);
    const out = await api(path, opts);
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

const post = (path, body) => send('POST', path, body || {});
const patch = (path, body) => send('PATCH', path, body || {});
const del = (path) => send('DELETE', path);

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
  // active: a run that is on its way; a failed one waits for a human,
  // a deployed or abandoned one is over
  let active = 0; let waiting = 0; let deployed = 0; let failed = 0;
  for (const st of RUN_STATES) {
    const list = Array.isArray(runs[st]) ? runs[st] : [];
    if (st === 'DEPLOYED') deployed += list.length;
    else if (st.endsWith('_FAILED')) failed += list.length;
    else if (st !== 'ABANDONED') active += list.length;
    waiting += list.filter((r) => r && r.waiting_for_human).length;
  }
  $('stat-runs').textContent = fmtInt(active);
  $('stat-runs-sub').textContent = `${waiting} waiting for a human · ${failed ? `${failed} failed · ` : ''}${deployed} deployed`;
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

  // the sandbox is never silently off: a chip and its reason, in words
  const sb = typeof q.sandbox === 'string' ? q.sandbox : '';
  const bad = sb === 'off' || sb === 'broken';
  const note = typeof q.sandbox_note === 'string' && q.sandbox_note ? q.sandbox_note : `the sandbox is ${sb}`;
  const sc = $('queue-sandbox');
  sc.hidden = !bad;
  sc.textContent = bad ? `sandbox ${sb}` : '';
  if (bad) sc.title = note; else sc.removeAttribute('title');
  const sw = $('sandbox-warn');
  sw.hidden = !bad;
  sw.textContent = bad ? `Sandbox: ${note}` : '';

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
      tb.append(el('tr', { 'data-job': id },
        el('td', { class: 'jcell' }, el('span', { class: 'mono jid', title: id }, id), jobWhat(j)),
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

/* What a running job runs: an agent job's run (a link) and role, a
 * command job's argv cut to JOB_CMD_MAX characters (the whole, as the
 * API gave it, in its title). */
const JOB_CMD_MAX = 60;

function jobWhat(j) {
  if (num(j.run_id) > 0) {
    const role = typeof j.role === 'string' && j.role ? ` · ${j.role.toUpperCase()}` : '';
    return el('span', { class: 'jwhat' },
      el('a', { href: `#/runs/${num(j.run_id)}` }, `run #${num(j.run_id)}${role}`));
  }
  if (typeof j.command === 'string' && j.command) {
    const cmd = j.command;
    const cut = cmd.length > JOB_CMD_MAX || j.command_cut === true;
    return el('span', { class: 'jwhat mono', title: cmd + (j.command_cut === true ? '…' : '') },
      cut ? `${cmd.slice(0, JOB_CMD_MAX)}…` : cmd);
  }
  return null;
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
    const name = el('a', { class: 'strong', href: `#/projects/${p.id}` }, String(p.name || `#${p.id}`));
    const filter = el('button', {
      type: 'button', class: 'icon-btn tiny',
      'aria-pressed': selected ? 'true' : 'false',
      'aria-label': selected ? 'Show all projects on the boards' : `Show only ${p.name} on the boards`,
      title: selected ? 'Show all projects' : `Show only ${p.name}`,
      onclick: () => setProject(selected ? '' : String(p.id)),
    }, icon('M3 5h18l-7 8v6l-4-2v-4L3 5Z'));
    const langs = Array.isArray(p.languages) && p.languages.length
      ? el('span', { class: 'langs' }, p.languages.slice(0, 4).map((l) => chip(String(l), 'lang'))) : null;
    tb.append(el('tr', { class: selected ? 'selected' : '' },
      el('td', {}, el('span', { class: 'name-cell' }, name, filter), langs),
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

/* What a task not ready waits on, or why it is blocked (a human's
 * call): nothing for one that is ready, done or cancelled. */
function readinessEl(t) {
  const r = t.readiness || {};
  if (!r.state || r.state === 'ready' || t.status === 'done' || t.status === 'cancelled') return null;
  return el('p', { class: `dep ${r.state === 'blocked' ? 'blocked' : 'waiting'}`, 'data-ready': r.state },
    String(r.why || r.state));
}

function drawTasks(board) {
  const stages = board.stages || {};
  if (!changed('tasks', { stages, pr: state.priority, all: !state.project, n: state.projects.length })) return;
  const root = $('task-board');
  clear(root);
  for (const [key, title] of TASK_STAGES) {
    let items = Array.isArray(stages[key]) ? stages[key] : [];
    if (state.priority) items = items.filter((t) => String(t.priority) === state.priority);
    items = [...items].sort((a, b) => (num(a.priority) || 9) - (num(b.priority) || 9) || num(a.id) - num(b.id));
    const { col, list } = column(`stage-${key}`, title, items, `s-${key.toLowerCase()}`);
    for (const t of items) {
      const pname = PRIORITIES[t.priority] || 'none';
      const st = String(t.status || 'backlog');
      // the status, where the column does not say it already
      const showSt = !(st === 'backlog' && key === 'NONE') && !(st === 'done' && key === 'COMPLETE');
      const blocked = t.readiness && t.readiness.state === 'blocked' && st !== 'done' && st !== 'cancelled';
      list.append(el('li', { class: `card${blocked ? ' blocked' : ''}`, 'data-task': t.task_id || '' },
        el('div', { class: 'card-top' },
          el('span', { class: 'mono id' }, t.task_id ? String(t.task_id) : `#${t.id}`),
          el('span', { class: 'chips' },
            showSt ? chip(st.replace(/_/g, ' '), `st st-${st}`) : null,
            chip(pname, `prio p-${pname}`))),
        el('p', { class: 'card-title' }, String(t.title || '(untitled)')),
        readinessEl(t),
        !state.project ? el('p', { class: 'card-meta' }, projectLink(t.project_id)) : null));
    }
    root.append(col);
  }
}

/* ---------- Add task: on the board and on a project's page ---------- */

/* The project's tasks as the options of a "Waits on" list, keeping what
 * was chosen. */
function fillDeps(sel, tasks) {
  const keep = new Set([...sel.selectedOptions].map((o) => o.value));
  clear(sel);
  for (const t of Array.isArray(tasks) ? tasks : []) {
    if (!t.task_id) continue;
    const id = String(t.task_id);
    sel.append(el('option', { value: id, selected: keep.has(id) }, `${id} — ${t.title || ''}`));
  }
}

/* A task id for a task added without one: T-n, one past the largest n
 * the project has. */
function nextTaskId(tasks) {
  let n = 0;
  for (const t of Array.isArray(tasks) ? tasks : []) {
    const m = /^T-?(\d+)$/.exec(String(t.task_id || ''));
    if (m) n = Math.max(n, Number(m[1]));
  }
  return `T-${n + 1}`;
}

/* The body of a new task from the form whose ids start with p. */
function taskBody(p) {
  const b = bodyOf([['task_id', $(`${p}-id`).value], ['title', $(`${p}-title`).value],
    ['priority', Number($(`${p}-priority`).value)], ['description', $(`${p}-desc`).value]]);
  const ac = $(`${p}-ac`).value.split('\n').map((l) => l.trim()).filter(Boolean);
  const deps = [...$(`${p}-deps`).selectedOptions].map((o) => o.value);
  if (ac.length) b.acceptance_criteria = ac;
  if (deps.length) b.blocked_by = deps;
  return b;
}

function clearTaskForm(p) {
  for (const f of ['id', 'title', 'desc', 'ac']) $(`${p}-${f}`).value = '';
  for (const o of $(`${p}-deps`).options) o.selected = false;
}

const boardTask = { pid: '', tasks: [] };

async function loadBoardDeps() {
  const pid = $('bt-project').value;
  boardTask.pid = pid;
  boardTask.tasks = [];
  clear($('bt-deps'));
  if (!pid) return;
  try {
    const tasks = await api(`/api/projects/${encodeURIComponent(pid)}/tasks`);
    if (boardTask.pid !== pid) return;  // the choice moved on meanwhile
    boardTask.tasks = Array.isArray(tasks) ? tasks : [];
    fillDeps($('bt-deps'), boardTask.tasks);
  } catch (e) {
    // the banner says the server is gone; the list stays empty
  }
}

function toggleBoardTask(open) {
  $('board-task-form').hidden = !open;
  $('board-add-task').setAttribute('aria-expanded', String(open));
  if (!open) return;
  if (!$('bt-project').value && state.project) $('bt-project').value = state.project;
  loadBoardDeps();
  ($('bt-project').value ? $('bt-title') : $('bt-project')).focus();
}

function createBoardTask(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const pid = $('bt-project').value;
  if (!pid) {
    notify('A project is needed.', 'error');
    $('bt-project').focus();
    return;
  }
  if (!need($('bt-title'), 'A title')) return;
  submitting(form, async () => {
    const body = taskBody('bt');
    if (!body.task_id) body.task_id = nextTaskId(boardTask.tasks);
    const out = await post(`/api/projects/${encodeURIComponent(pid)}/tasks/create`, body);
    notify(`Task ${out && out.task_id ? out.task_id : ''} added to ${projectName(Number(pid))}.`);
    clearTaskForm('bt');
    toggleBoardTask(false);
    refreshNow();
  });
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
          el('a', { class: 'mono id', href: `#/runs/${r.id}`, 'aria-label': `Open run ${r.id}` }, `#${r.id}`),
          chip(st, `state ${stateChipClass(st)}`)),
        el('p', { class: 'card-title', title: name }, name),
        el('p', { class: 'card-meta' },
          `iteration ${num(r.iteration)} · tokens ${fmtInt(r.tokens_in)} in / ${fmtInt(r.tokens_out)} out`),
        !state.project ? el('p', { class: 'card-meta' }, projectLink(r.project_id)) : null);
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
  for (const [id, first] of [['filter-project', 'All projects'], ['start-project', 'Select a project…'],
    ['bt-project', 'Select a project…']]) {
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

/* ---------- the other views ---------- */

const TASK_STATUSES = TASK_COLS.map(([k]) => k);
const BUG_STATUSES = ['open', 'in_progress', 'resolved', 'closed'];
const ROLE_ORDER = ['pm', 'dev', 'qa', 'qa_tdd', 'sec', 'docs', 'deploy'];

function dash() {
  return el('span', { class: 'muted' }, '—');
}

function whenEl(iso) {
  if (!iso) return dash();
  const w = fmtWhen(iso);
  return el('time', { class: 'when', dateTime: w.long, title: w.long }, w.short);
}

function stateChip(st) {
  const s = String(st || '?');
  return chip(s.replace(/_/g, ' '), `state ${stateChipClass(s)}`);
}

function prioChip(p) {
  const name = PRIORITIES[p] || 'none';
  return chip(name, `prio p-${name}`);
}

/* Only an http(s) address becomes a link: a javascript: one from the
 * store must not run on a click. */
function urlEl(u) {
  if (!u) return dash();
  const s = String(u);
  return /^https?:\/\//i.test(s)
    ? el('a', { href: s, rel: 'noopener noreferrer', target: '_blank', class: 'url' }, s)
    : el('span', { class: 'url' }, s);
}

function emptyRow(tb, cols, text) {
  tb.append(el('tr', {}, el('td', { colSpan: cols, class: 'empty' }, text)));
}

/* statusSelect: a select that posts the new status; on a refusal it goes
 * back to what the store holds. */
function statusSelect(cur, options, label, onpick) {
  const sel = el('select', { class: `status-sel st-${cur}`, 'aria-label': label });
  for (const o of options) sel.append(el('option', { value: o }, o.replace(/_/g, ' ')));
  if (!options.includes(cur)) sel.prepend(el('option', { value: cur }, String(cur)));
  sel.value = cur;
  sel.addEventListener('change', async () => {
    const to = sel.value;
    sel.disabled = true;
    try {
      await onpick(to);
    } catch (e) {
      sel.value = cur;  // post() has said why
    } finally {
      sel.disabled = false;
    }
  });
  return sel;
}

function fillSelect(sel, first, items) {
  const keep = sel.value;
  clear(sel);
  sel.append(el('option', { value: '' }, first));
  for (const [v, label] of items) sel.append(el('option', { value: String(v) }, label));
  sel.value = items.some(([v]) => String(v) === keep) ? keep : '';
}

function fillProjectFilter(sel, first) {
  if (!changed(`sel.${sel.id}`, state.projects.map((p) => [p.id, p.name]))) return;
  fillSelect(sel, first, state.projects.map((p) => [p.id, String(p.name || `#${p.id}`)]));
}

function projectLink(id) {
  if (id === undefined || id === null) return dash();
  return el('a', { href: `#/projects/${id}` }, projectName(id));
}

function runRow(r, withProject) {
  const name = r.name ? String(r.name) : '(unnamed)';
  return el('tr', { 'data-run': String(r.id), class: r.waiting_for_human ? 'waiting' : '' },
    el('td', { class: 'mono' }, el('a', { href: `#/runs/${r.id}`, class: 'strong' }, `#${r.id}`)),
    el('td', {}, el('a', { href: `#/runs/${r.id}` }, name),
      r.waiting_for_human ? el('span', { class: 'chip warn human-chip', title: r.waiting_reason || '' }, 'needs a human') : null),
    withProject ? el('td', {}, projectLink(r.project_id)) : null,
    el('td', {}, stateChip(r.state)),
    el('td', { class: 'num' }, `${num(r.iteration)}${r.max_iter ? ` / ${r.max_iter}` : ''}`),
    el('td', { class: 'num' }, `${fmtInt(r.tokens_in)} / ${fmtInt(r.tokens_out)}`),
    el('td', {}, whenEl(r.updated_at || r.created_at)));
}

function byNewest(a, b) {
  return num(b.id) - num(a.id);
}

/* #/projects */

async function loadProjects(route, gen) {
  const out = await fetchAll(['/api/projects', '/api/board']);
  if (!out || gen !== state.gen) return;
  const [projects, board] = out;
  if (Array.isArray(projects)) state.projects = projects;
  const counts = board && !(board instanceof Error) ? countsByProject(board) : {};
  if (!changed('plist', { p: state.projects, counts })) return;
  const tb = $('plist-body');
  clear(tb);
  if (!state.projects.length) {
    emptyRow(tb, 6, 'No project yet: make one with wf project create --name NAME --repo-path DIR.');
    return;
  }
  for (const p of state.projects) {
    const c = counts[p.id] || { tasks: 0, runs: 0 };
    const stack = [...(Array.isArray(p.languages) ? p.languages : []), ...(Array.isArray(p.frameworks) ? p.frameworks : [])];
    tb.append(el('tr', { 'data-project': String(p.id) },
      el('td', {}, el('a', { href: `#/projects/${p.id}`, class: 'strong' }, String(p.name || `#${p.id}`))),
      el('td', { class: 'desc', title: p.description || '' }, p.description ? String(p.description) : dash()),
      el('td', { class: 'mono small' }, p.repo_path ? String(p.repo_path) : '—',
        p.primary_branch ? el('span', { class: 'muted' }, ` @ ${p.primary_branch}`) : null),
      el('td', {}, stack.length ? el('span', { class: 'chips' }, stack.slice(0, 6).map((l) => chip(String(l), 'lang'))) : dash()),
      el('td', { class: 'num' }, fmtInt(c.tasks)),
      el('td', { class: 'num' }, fmtInt(c.runs))));
  }
}

function createProject(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  if (!need($('proj-name'), 'A name')) return;
  submitting(form, async () => {
    const out = await post('/api/projects/create', bodyOf([
      ['name', $('proj-name').value], ['repo_path', $('proj-repo').value],
      ['primary_branch', $('proj-branch').value], ['description', $('proj-desc').value]]));
    notify(`Project ${out && out.name ? out.name : ''} created.`);
    for (const id of ['proj-name', 'proj-repo', 'proj-branch', 'proj-desc']) $(id).value = '';
    // its page is where the next steps are: tasks, credentials, environments
    if (out && out.id !== undefined) location.hash = `#/projects/${out.id}`;
    else refreshNow();
  });
}

/* #/projects/N */

function drawOverview(p) {
  if (!changed('p.overview', p)) return;
  $('project-h').textContent = String(p.name || `Project #${p.id}`);
  document.title = `${$('project-h').textContent} · wf — Workflow Hub`;
  $('project-desc').textContent = p.description ? String(p.description) : 'No description.';
  const box = $('project-overview');
  clear(box);
  const fact = (label, value) => el('div', { class: 'fact' }, el('dt', {}, label), el('dd', {}, value || dash()));
  const chips = (arr) => (Array.isArray(arr) && arr.length
    ? el('span', { class: 'chips' }, arr.map((x) => chip(String(x), 'lang'))) : null);
  const files = Array.isArray(p.key_files) && p.key_files.length
    ? el('ul', { class: 'files' }, p.key_files.map((f) => el('li', { class: 'mono' }, String(f)))) : null;
  box.append(
    el('div', { class: 'ov-col' },
      el('h3', { class: 'mini-h' }, 'Repository and tech stack'),
      el('dl', { class: 'facts' },
        fact('Repository', p.repo_path ? el('span', { class: 'mono', 'data-field': 'repo_path' }, String(p.repo_path)) : null),
        fact('Primary branch', p.primary_branch ? el('span', { class: 'mono', 'data-field': 'primary_branch' }, String(p.primary_branch)) : null),
        p.repository_url ? fact('Hosted at', urlEl(p.repository_url)) : null,
        fact('Languages', chips(p.languages)),
        fact('Frameworks', chips(p.frameworks)),
        fact('Key files', files))),
    el('div', { class: 'ov-col' },
      el('h3', { class: 'mini-h' }, 'Commands'),
      el('dl', { class: 'facts' },
        ['build', 'test', 'run', 'deploy', 'lint'].map((k) => {
          const c = p[`${k}_command`];
          return fact(k[0].toUpperCase() + k.slice(1),
            c ? el('code', { class: 'cmd', 'data-field': `${k}_command` }, String(c)) : null);
        }))));
}

/* The settings a person edits, as [field, label, is a list]; the rest of
 * a project is wf's. */
const PROJECT_SETTINGS = [
  ['name', 'Name'], ['description', 'Description'], ['repo_path', 'Repository path'],
  ['repository_url', 'Repository URL'], ['primary_branch', 'Primary branch'],
  ['languages', 'Languages', true], ['frameworks', 'Frameworks', true], ['key_files', 'Key files', true],
  ['build_command', 'Build command'], ['test_command', 'Test command'], ['run_command', 'Run command'],
  ['deploy_command', 'Deploy command'], ['lint_command', 'Lint command'],
];

function settingValue(p, k, list) {
  const v = p[k];
  if (list) return Array.isArray(v) ? v.join(', ') : '';
  return v === null || v === undefined ? '' : String(v);
}

function buildSettings() {
  const box = $('settings-fields');
  for (const [k, label] of PROJECT_SETTINGS) {
    box.append(el('label', { class: 'field' }, el('span', {}, label),
      el('input', { type: 'text', id: `ps-${k}`, autocomplete: 'off', spellcheck: false })));
  }
}

/* Opening fills the form from the record as it is then: the poll does not
 * touch it, so that nothing typed is lost. */
function toggleSettings(open) {
  const form = $('project-settings');
  const p = state.projectRec;
  if (open && !p) return;
  form.hidden = !open;
  $('project-edit').setAttribute('aria-expanded', open ? 'true' : 'false');
  if (!open) return;
  for (const [k, , list] of PROJECT_SETTINGS) $(`ps-${k}`).value = settingValue(p, k, list);
  $('ps-name').focus();
}

function saveSettings(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const p = state.projectRec;
  if (!p) return;
  const body = {};
  for (const [k, , list] of PROJECT_SETTINGS) {
    const v = $(`ps-${k}`).value.trim();
    if (v === settingValue(p, k, list)) continue;  // only what changed
    body[k] = list ? v.split(',').map((x) => x.trim()).filter(Boolean) : v;
  }
  if (!Object.keys(body).length) {
    toggleSettings(false);
    return;
  }
  submitting(form, async () => {
    const out = await patch(`/api/projects/${encodeURIComponent(p.id)}/update`, body);
    notify(`Project ${out && out.name ? out.name : p.name} saved.`);
    toggleSettings(false);
    refreshNow();
  });
}

function drawProjectTasks(tasks) {
  if (!changed('p.tasks', tasks)) return;
  fillDeps($('task-deps'), tasks);
  const tb = $('ptasks-body');
  clear(tb);
  if (!tasks.length) {
    emptyRow(tb, 6, 'No task yet: add one below.');
    return;
  }
  const sorted = [...tasks].sort((a, b) => TASK_STATUSES.indexOf(a.status) - TASK_STATUSES.indexOf(b.status)
    || (num(a.priority) || 9) - (num(b.priority) || 9) || num(a.id) - num(b.id));
  for (const t of sorted) {
    const tid = t.task_id ? String(t.task_id) : `#${t.id}`;
    tb.append(el('tr', { 'data-task': tid },
      el('td', { class: 'mono strong' }, tid),
      el('td', {}, el('span', { class: 'strong' }, String(t.title || '(untitled)')),
        t.description ? el('p', { class: 'sub' }, String(t.description)) : null),
      el('td', {}, prioChip(t.priority)),
      el('td', { class: 'small' }, String(t.pipeline_stage || 'NONE') === 'NONE' ? 'Backlog'
        : t.pipeline_stage === 'COMPLETE' ? 'Complete' : String(t.pipeline_stage)),
      el('td', { class: 'small' }, Array.isArray(t.blocked_by) && t.blocked_by.length
        ? [el('span', { class: 'mono' }, t.blocked_by.join(', ')), readinessEl(t)] : dash()),
      el('td', {}, statusSelect(String(t.status || 'backlog'), TASK_STATUSES, `Status of task ${tid}`, async (to) => {
        await post(`/api/tasks/${encodeURIComponent(t.id)}/status`, { status: to });
        notify(`Task ${tid} is now ${to.replace(/_/g, ' ')}.`);
        refreshNow();
      }))));
  }
}

function drawCreds(creds, pid) {
  if (!changed('p.creds', creds)) return;
  const tb = $('pcreds-body');
  clear(tb);
  if (!creds.length) {
    emptyRow(tb, 5, 'No credential: add one below.');
    return;
  }
  for (const c of creds) {
    const name = String(c.name || `#${c.id}`);
    tb.append(el('tr', { 'data-cred': name },
      el('td', {}, el('span', { class: 'strong' }, name),
        c.description ? el('p', { class: 'sub' }, String(c.description)) : null),
      el('td', {}, chip(String(c.credential_type || '?'), 'lang')),
      el('td', {}, c.service ? String(c.service) : dash()),
      el('td', {}, c.username ? String(c.username) : dash()),
      el('td', { class: 'num' }, el('button', {
        type: 'button', class: 'btn small danger',
        'aria-label': `Delete credential ${name}`,
        onclick: (ev) => deleteCred(c, ev.currentTarget),
      }, 'Delete'))));
  }
}

function drawEnvs(envs) {
  if (!changed('p.envs', envs)) return;
  const tb = $('penvs-body');
  clear(tb);
  if (!envs.length) {
    emptyRow(tb, 5, 'No environment: add one below.');
    return;
  }
  for (const e of envs) {
    const name = String(e.name || `#${e.id}`);
    const ssh = e.ssh_host ? `${e.ssh_user ? `${e.ssh_user}@` : ''}${e.ssh_host}${e.ssh_port ? `:${e.ssh_port}` : ''}` : '';
    tb.append(el('tr', { 'data-env': String(e.name || e.id) },
      el('td', { class: 'strong' }, name),
      el('td', {}, chip(String(e.env_type || 'development'), `env e-${String(e.env_type || 'development')}`)),
      el('td', {}, urlEl(e.url)),
      el('td', { class: 'mono small' }, ssh || (e.deploy_command ? String(e.deploy_command) : '—')),
      el('td', { class: 'num' }, el('span', { class: 'row-actions' },
        el('button', {
          type: 'button', class: 'btn small', 'data-action': 'edit',
          'aria-label': `Edit environment ${name}`, 'aria-controls': 'env-edit',
          onclick: () => openEnvEdit(e),
        }, 'Edit'),
        el('button', {
          type: 'button', class: 'btn small danger', 'data-action': 'delete',
          'aria-label': `Delete environment ${name}`,
          onclick: (ev) => deleteEnv(e, ev.currentTarget),
        }, 'Delete')))));
  }
}

function drawProjectRuns(runs) {
  if (!changed('p.runs', runs)) return;
  const tb = $('pruns-body');
  clear(tb);
  if (!runs.length) {
    emptyRow(tb, 6, 'No run yet: start a pipeline.');
    return;
  }
  for (const r of [...runs].sort(byNewest)) tb.append(runRow(r, false));
}

async function loadProject(route, gen) {
  const id = encodeURIComponent(route.id);
  const out = await fetchAll([`/api/projects/${id}`, `/api/projects/${id}/tasks`,
    `/api/projects/${id}/credentials`, `/api/projects/${id}/environments`, `/api/runs?project_id=${id}`, '/api/projects']);
  if (!out || gen !== state.gen) return;
  const [p, tasks, creds, envs, runs, projects] = out;
  if (Array.isArray(projects)) state.projects = projects;
  if (p instanceof ApiError) {
    $('project-h').textContent = p.status === 404 ? `No project ${route.id}` : 'Project';
    $('project-desc').textContent = p.message;
    return;
  }
  if (!p || p instanceof Error) return;
  state.projectRec = p;
  drawOverview(p);
  if (Array.isArray(tasks)) drawProjectTasks(tasks);
  if (Array.isArray(creds)) drawCreds(creds, p.id);
  if (Array.isArray(envs)) drawEnvs(envs);
  if (Array.isArray(runs)) drawProjectRuns(runs);
}

/* Read the fields of a form as a body, leaving out the empty ones: the
 * store refuses an empty string where it wants a URL or a number. */
function bodyOf(pairs) {
  const b = {};
  for (const [k, v] of pairs) {
    if (typeof v === 'string') {
      if (v.trim() !== '') b[k] = v.trim();
    } else if (v !== null && v !== undefined) b[k] = v;
  }
  return b;
}

function need(input, what) {
  if (input.value.trim()) return true;
  notify(`${what} is needed.`, 'error');
  input.focus();
  return false;
}

async function submitting(form, fn) {
  const btn = form.querySelector('button[type="submit"]');
  btn.disabled = true;
  try {
    await fn();
  } catch (e) {
    // post() has said why
  } finally {
    btn.disabled = false;
  }
}

function createTask(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  if (!need($('task-id'), 'A task id') || !need($('task-title'), 'A title')) return;
  submitting(form, async () => {
    const out = await post(`/api/projects/${encodeURIComponent(state.route.id)}/tasks/create`, taskBody('task'));
    notify(`Task ${out && out.task_id ? out.task_id : ''} added.`);
    clearTaskForm('task');
    refreshNow();
  });
}

function createCred(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  if (!need($('cred-name'), 'A name') || !need($('cred-secret'), 'The secret')) return;
  submitting(form, async () => {
    const body = bodyOf([['name', $('cred-name').value], ['credential_type', $('cred-type').value],
      ['service', $('cred-service').value], ['username', $('cred-user').value]]);
    body.secret = $('cred-secret').value;  // as typed: its spaces are its own
    try {
      const out = await post(`/api/projects/${encodeURIComponent(state.route.id)}/credentials/create`, body);
      notify(`Credential ${out && out.name ? out.name : ''} stored, sealed.`);
      for (const id of ['cred-name', 'cred-service', 'cred-user']) $(id).value = '';
      refreshNow();
    } finally {
      // never left in the page, even when refused
      $('cred-secret').value = '';
    }
  });
}

async function deleteCred(c, btn) {
  if (!window.confirm(`Delete the credential ${c.name || `#${c.id}`}? Its secret is lost.`)) return;
  btn.disabled = true;
  try {
    await del(`/api/credentials/${encodeURIComponent(c.id)}/delete`);
    notify(`Credential ${c.name || `#${c.id}`} deleted.`);
    refreshNow();
  } catch (e) {
    btn.disabled = false;
  }
}

function createEnv(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  if (!need($('env-name'), 'A name')) return;
  submitting(form, async () => {
    const out = await post(`/api/projects/${encodeURIComponent(state.route.id)}/environments/create`, bodyOf([
      ['name', $('env-name').value], ['env_type', $('env-type').value], ['url', $('env-url').value]]));
    notify(`Environment ${out && out.name ? out.name : ''} added.`);
    $('env-name').value = '';
    $('env-url').value = '';
    refreshNow();
  });
}

/* The fields of an environment a person edits, as [field, label, is a
 * number]; env_type is a select with the new environment form's types. */
const ENV_FIELDS = [
  ['name', 'Name'], ['env_type', 'Type'], ['url', 'URL'],
  ['deploy_command', 'Deploy command'], ['health_check_url', 'Health check URL'],
  ['health_check_command', 'Health check command'], ['health_check_timeout', 'Health check timeout (s)', true],
  ['test_command', 'Test command'], ['rollback_command', 'Rollback command'],
  ['ssh_host', 'SSH host'], ['ssh_user', 'SSH user'], ['ssh_port', 'SSH port', true],
];

function buildEnvEdit() {
  const box = $('env-edit-fields');
  for (const [k, label, isNum] of ENV_FIELDS) {
    const input = k === 'env_type'
      ? el('select', { id: `ee-${k}` }, [...$('env-type').options].map((o) => el('option', { value: o.value }, o.value)))
      : el('input', { type: 'text', id: `ee-${k}`, autocomplete: 'off', spellcheck: false, inputMode: isNum ? 'numeric' : null });
    box.append(el('label', { class: 'field' }, el('span', {}, label), input));
  }
}

function envValue(e, k) {
  const v = e[k];
  return v === null || v === undefined ? '' : String(v);
}

/* Opening fills the form from the record as the table last showed it;
 * the poll leaves the form alone, so that nothing typed is lost. */
function openEnvEdit(e) {
  state.envRec = e;
  for (const [k] of ENV_FIELDS) $(`ee-${k}`).value = envValue(e, k);
  // a type the form does not list is kept as it is
  if (e.env_type && $('ee-env_type').value !== String(e.env_type)) {
    $('ee-env_type').append(el('option', { value: String(e.env_type) }, String(e.env_type)));
    $('ee-env_type').value = String(e.env_type);
  }
  $('env-edit-name').textContent = String(e.name || `#${e.id}`);
  $('env-edit').hidden = false;
  $('ee-name').focus();
}

function closeEnvEdit() {
  state.envRec = null;
  $('env-edit').hidden = true;
}

function saveEnv(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const e = state.envRec;
  if (!e) return;
  const body = {};
  for (const [k, label, isNum] of ENV_FIELDS) {
    const input = $(`ee-${k}`);
    const v = input.value.trim();
    if (v === envValue(e, k)) continue;  // only what changed
    if (isNum && v !== '' && !/^[0-9]+$/.test(v)) {
      notify(`${label}: a whole number is needed.`, 'error');
      input.focus();
      return;
    }
    // an emptied field is cleared: a number by null, a string by ""
    body[k] = isNum ? (v === '' ? null : Number(v)) : v;
  }
  if (!Object.keys(body).length) {
    closeEnvEdit();
    return;
  }
  submitting(form, async () => {
    const out = await patch(`/api/environments/${encodeURIComponent(e.id)}/update`, body);
    notify(`Environment ${out && out.name ? out.name : e.name} saved.`);
    closeEnvEdit();
    refreshNow();
  });
}

async function deleteEnv(e, btn) {
  const name = e.name || `#${e.id}`;
  if (!window.confirm(`Delete the environment ${name}? No deploy can go to it any more.`)) return;
  btn.disabled = true;
  try {
    await del(`/api/environments/${encodeURIComponent(e.id)}/delete`);
    notify(`Environment ${name} deleted.`);
    if (state.envRec && state.envRec.id === e.id) closeEnvEdit();
    refreshNow();
  } catch (err) {
    btn.disabled = false;
  }
}

async function startProjectPipeline() {
  const btn = $('project-start');
  btn.disabled = true;
  try {
    const out = await post(`/api/projects/${encodeURIComponent(state.route.id)}/execute`, {});
    notify(`Run #${out && out.id !== undefined ? out.id : '?'} started for ${projectName(Number(state.route.id))}.`);
    refreshNow();
  } catch (e) {
    // post() has said why
  } finally {
    btn.disabled = false;
  }
}

/* #/runs */

async function loadRuns(route, gen) {
  const q = state.runsProject ? `?project_id=${encodeURIComponent(state.runsProject)}` : '';
  const out = await fetchAll([`/api/runs${q}`, '/api/projects']);
  if (!out || gen !== state.gen) return;
  const [runs, projects] = out;
  if (Array.isArray(projects)) state.projects = projects;
  fillProjectFilter($('runs-project'), 'All projects');
  if (!Array.isArray(runs)) return;
  const shown = runs.filter((r) => !state.runsState || r.state === state.runsState).sort(byNewest);
  if (!changed('runs.list', { shown, n: state.projects.map((p) => p.name) })) return;
  const tb = $('runs-body');
  clear(tb);
  if (!shown.length) {
    emptyRow(tb, 7, runs.length ? 'No run in that state.' : 'No run yet: start a pipeline from the dashboard or a project.');
    return;
  }
  for (const r of shown) tb.append(runRow(r, true));
}

/* #/runs/N */

const RUN_ACTIONS = {
  merge: { label: 'Merge', path: 'merge', primary: true, done: 'merged' },
  approve: { label: 'Approve deploy', path: 'approve-deploy', primary: true, done: 'deploy approved' },
  retry: { label: 'Retry', path: 'retry', primary: true, done: 'sent back to DEV' },
  reset: { label: 'Reset to DEV', path: 'reset-to-dev', done: 'reset to DEV' },
  advance: { label: 'Advance', path: 'advance', done: 'advanced' },
  abandon: { label: 'Abandon', path: 'abandon', danger: true, done: 'abandoned' },
};

const ENDED = ['DEPLOYED', 'ABANDONED'];

/* What a human may do in a run's state, and a sentence on it.  In
 * PM…SEC, advance works once that role has passed (the gate usually does
 * it); the pipeline says no with its reason otherwise.  Any state that
 * has not ended may be abandoned. */
function runActions(r, envs) {
  const st = String(r.state || '?');
  const branch = r.branch ? String(r.branch) : '';
  const into = r.base_branch ? String(r.base_branch) : 'its base branch';
  const ab = ' Abandon ends the run: its worktree goes, its branch stays.';
  if (st === 'DEPLOYED') return [[], 'Deployed: nothing left to do.'];
  if (st === 'ABANDONED') return [[], branch ? 'Abandoned: its worktree is gone, its branch stays.' : 'Abandoned.'];
  if (st === 'READY_FOR_COMMIT') {
    if (branch) return [['merge', 'advance', 'abandon'], `Merge puts ${branch} into ${into}: a fast-forward where it can, else a merge commit. A conflict, or uncommitted work of yours where the merge writes, is refused and nothing changes. Advance is for a branch merged by other means.${ab}`];
    return [['advance', 'abandon'], `This run has no branch of its own: commit its work yourself, then advance it.${ab}`];
  }
  if (st === 'READY_FOR_DEPLOY') return [['approve', 'abandon'], 'A human approves every deploy. With an environment, the run goes to TESTING while a job deploys it, checks its health and runs its tests.'];
  if (st === 'DEPLOY_FAILED') {
    if (!envs.length) return [['abandon'], `The deploy failed. Approving again needs an environment with a deploy command: add one to the project.${ab}`];
    return [['approve', 'abandon'], `The deploy failed: approve it again to an environment to retry it, or abandon the run.`];
  }
  if (st === 'QA_FAILED' || st === 'SEC_FAILED') return [['retry', 'reset', 'abandon'], 'Retry sends it back to DEV; reset to DEV can also make tasks of the findings.'];
  if (st === 'MERGED') return [['advance', 'abandon'], 'Advance moves it on to READY FOR DEPLOY.'];
  if (['PM', 'DEV', 'QA', 'SEC'].includes(st)) return [['advance', 'abandon'], `Advance works once the ${st} role has passed; wf-gate usually does it.`];
  if (st === 'TESTING') return [['abandon'], `A job deploys it; wf-gate moves it on when the job reports.${ab}`];
  return [['abandon'], `Nothing to do in this state but abandon it.${ab}`];
}

const short = (sha) => String(sha || '').slice(0, 7);

/* How a merged run was merged, in words. */
function mergeText(m) {
  const how = m.how ? String(m.how) : 'merged';
  return `${how} into ${m.into ? String(m.into) : '?'}${m.commit ? ` as ${short(m.commit)}` : ''}${m.by ? ` by ${m.by}` : ''}`;
}

/* ---------- the run's diff: bounded, so that a huge one cannot freeze the page ---------- */

const DIFF_CHUNK = 128 * 1024;   // characters of the patch drawn at a time
const STAT_MAX_LINES = 200;      // files listed in the stat

function fmtSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1048576).toFixed(1)} MB`;
}

function countLines(s) {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return s && !s.endsWith('\n') ? n + 1 : n;
}

/* git diff --stat: each file's bar of + and - coloured */
function drawStat(stat) {
  let lines = stat.split('\n').filter((l) => l.length);
  const pre = el('pre', { id: 'run-stat', class: 'diffstat' });
  let more = 0;
  if (lines.length > STAT_MAX_LINES + 1) {
    more = lines.length - 1 - STAT_MAX_LINES;
    lines = [...lines.slice(0, STAT_MAX_LINES), lines[lines.length - 1]];
  }
  lines.forEach((l, i) => {
    const m = /^(.*\|\s*(?:\d+|Bin.*?)\s)(\+*)(-*)$/.exec(l);
    if (m) pre.append(m[1], el('span', { class: 'd-add' }, m[2]), el('span', { class: 'd-del' }, m[3]));
    else pre.append(el('span', { class: i === lines.length - 1 ? 'd-sum' : '' }, l));
    if (more && i === STAT_MAX_LINES - 1) pre.append(`\n … and ${fmtInt(more)} more files`);
    pre.append('\n');
  });
  return pre;
}

/* the patch as lines, each a span with a class: the file's header, a
 * hunk's head, an added, a removed or a context line */
function drawPatch(text) {
  const pre = el('pre', { id: 'run-patch-text', class: 'diff' });
  const frag = document.createDocumentFragment();
  let head = false;
  for (const l of text.split('\n')) {
    let cls = 'd-ctx';
    if (l.startsWith('diff --git ')) { cls = 'd-file'; head = true; }
    else if (l.startsWith('@@')) { cls = 'd-hunk'; head = false; }
    else if (head) cls = 'd-meta';
    else if (l.startsWith('+')) cls = 'd-add';
    else if (l.startsWith('-')) cls = 'd-del';
    else if (l.startsWith('\\')) cls = 'd-meta';
    frag.append(el('span', { class: cls }, l || ' '));
  }
  pre.append(frag);
  return pre;
}

/* What the run changed (GET /api/runs/N/diff, in d), before its actions:
 * its branch against where it began, the stat, the patch. */
function drawChanges(r, d) {
  const show = state.diffShow.id === r.id ? state.diffShow.chunks : 1;
  if (!changed('run.changes', [r.id, r.branch, r.base_branch, r.base_commit, r.worktree_note, r.merge, d && d.key, d && d.err, show])) return;
  const line = $('run-branch');
  clear(line);
  if (r.branch) {
    line.append(el('code', { class: 'cmd' }, String(r.branch)), ' from ',
      el('code', { class: 'cmd' }, String(r.base_branch || '?')), ' at ',
      el('code', { class: 'cmd', title: String(r.base_commit || '') }, short(r.base_commit)));
  }
  const body = $('run-changes-body');
  const prev = $('run-patch');
  const open = prev && prev.dataset.run === String(r.id) ? prev.open : true;
  clear(body);
  if (!r.branch) {
    body.append(el('p', { id: 'run-worktree-note', class: 'note' }, r.worktree_note ? String(r.worktree_note)
      : 'This run was made before runs had worktrees: it has no branch of its own, and no diff to show.'));
    return;
  }
  if (r.merge && typeof r.merge === 'object') {
    body.append(el('p', { id: 'run-merged', class: 'merged' }, chip('merged', 'good'), ' ',
      `${mergeText(r.merge)}`, r.merge.at ? [' · ', whenEl(r.merge.at)] : null));
  }
  if (!d) return;
  if (d.err) {
    body.append(el('p', { class: 'action-msg' }, `The diff could not be read: ${d.err}`));
    return;
  }
  const stat = typeof d.data.stat === 'string' ? d.data.stat : '';
  const diff = typeof d.data.diff === 'string' ? d.data.diff : '';
  if (!stat && !diff) {
    body.append(el('p', { class: 'empty small' }, `No change: ${r.branch} is where ${r.base_branch || 'its base'} was at ${short(r.base_commit)}.`));
    return;
  }
  body.append(drawStat(stat));
  let cut = diff;
  if (diff.length > show * DIFF_CHUNK) {
    cut = diff.slice(0, show * DIFF_CHUNK);
    const nl = cut.lastIndexOf('\n');
    if (nl > 0) cut = cut.slice(0, nl + 1);
  }
  const sum = stat.trim().split('\n').pop() || 'the patch';
  const det = el('details', { id: 'run-patch', class: 'patch', 'data-run': String(r.id), open },
    el('summary', {}, `Patch · ${sum.trim()}`), drawPatch(cut.replace(/\n$/, '')));
  if (cut.length < diff.length) {
    const total = new Blob([diff]).size;
    det.append(el('p', { id: 'run-patch-more', class: 'note' },
      `Showing the first ${fmtSize(new Blob([cut]).size)} of ${fmtSize(total)} (${fmtInt(countLines(cut))} of ${fmtInt(countLines(diff))} lines): the page draws no more at once. `,
      el('code', { class: 'cmd' }, `wf run diff ${r.id}`), ' prints it all. ',
      el('button', {
        type: 'button', class: 'btn small', id: 'run-patch-next',
        onclick: () => { state.diffShow = { id: r.id, chunks: show + 1 }; drawChanges(r, d); },
      }, `Show ${fmtSize(DIFF_CHUNK)} more`)));
  }
  body.append(det);
}

function drawRun(r, envs) {
  if (!changed('run.head', { r, envs })) return;
  const name = r.name ? String(r.name) : '(unnamed)';
  $('run-h').textContent = `Run #${r.id} · ${name}`;
  const st = String(r.state || '?');
  document.title = `Run #${r.id} (${st.replace(/_/g, ' ')}) · wf — Workflow Hub`;
  const sub = $('run-sub');
  clear(sub);
  sub.append('Project ', projectLink(r.project_id), ' · started ', whenEl(r.created_at));
  const sc = $('run-state');
  sc.textContent = st.replace(/_/g, ' ');
  sc.className = `chip state big ${stateChipClass(st)}`;

  const human = $('run-human');
  clear(human);
  human.hidden = !r.waiting_for_human;
  if (r.waiting_for_human) {
    human.append(icon('M12 8v4l2.5 2.5M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18Z', 'human-icon'),
      el('span', {}, `Waiting for a human: ${r.waiting_reason ? String(r.waiting_reason) : 'no reason given'}`));
  }

  const facts = $('run-facts');
  clear(facts);
  const fact = (label, value) => facts.append(el('div', { class: 'fact' }, el('dt', {}, label), el('dd', {}, value)));
  fact('State', stateChip(st));
  fact('Iteration', `${num(r.iteration)}${r.max_iter ? ` of ${r.max_iter}` : ''}`);
  fact('Tokens', `${fmtInt(r.tokens_in)} in / ${fmtInt(r.tokens_out)} out${num(r.token_budget) ? ` · budget ${fmtInt(r.token_budget)}` : ''}`);
  if (r.task_id) fact('Task', `#${r.task_id}`);
  if (typeof r.request === 'string' && r.request) fact('Request', el('span', { class: 'request' }, r.request));
  fact('Updated', whenEl(r.updated_at));
  if (r.approved_by) fact('Approved by', String(r.approved_by));
  if (r.branch) {
    fact('Branch', el('code', { class: 'cmd' }, String(r.branch)));
    fact('Base', [el('code', { class: 'cmd' }, String(r.base_branch || '?')), ' at ',
      el('code', { class: 'cmd', title: String(r.base_commit || '') }, short(r.base_commit))]);
    if (r.worktree && !ENDED.includes(st)) fact('Worktree', el('span', { class: 'mono' }, String(r.worktree)));
  } else if (r.worktree_note) {
    fact('Worktree', 'none: not a git repository');
  }
  if (r.merge && typeof r.merge === 'object') fact('Merged', [mergeText(r.merge), r.merge.at ? [' · ', whenEl(r.merge.at)] : null]);

  // the buttons only when the state moves: a poll must not take the focus
  if (changed('run.actions', [r.id, st, r.branch, envs.map((e) => e.name)])) {
    const box = $('run-actions');
    clear(box);
    $('run-action-msg').hidden = true;
    const [acts, hint] = runActions(r, envs);
    for (const k of acts) {
      const a = RUN_ACTIONS[k];
      const btn = el('button', {
        type: 'button', class: `btn${a.primary ? ' primary' : ''}${a.danger ? ' danger' : ''}`, 'data-action': a.path,
        onclick: (ev) => runAction(r, k, ev.currentTarget),
      }, a.label);
      // abandon, apart from the rest, with its reason beside it
      if (k === 'abandon') {
        box.append(el('span', { class: 'action-group push' },
          el('label', { class: 'field inline small' }, el('span', {}, 'Why'),
            el('input', { type: 'text', id: 'abandon-why', placeholder: 'optional', maxLength: 200 })),
          btn));
      } else {
        box.append(btn);
      }
      if (k === 'approve' && envs.length) {
        // after a failed deploy, only to an environment: the one that failed first
        const again = st === 'DEPLOY_FAILED';
        const sel = el('select', { id: 'deploy-env' }, again ? null : el('option', { value: '' }, 'none: approve only'));
        for (const e of envs) {
          sel.append(el('option', { value: String(e.name), selected: again && e.id === r.deploy_environment_id },
            `${e.name} (${e.env_type || 'development'})`));
        }
        box.append(el('label', { class: 'field inline small' }, el('span', {}, 'Deploy to'), sel));
      }
      if (k === 'reset') {
        box.append(el('label', { class: 'check small' }, el('input', { type: 'checkbox', id: 'reset-tasks' }), 'make tasks of the findings'));
      }
    }
    $('run-actions-hint').textContent = hint;
  }

  const hist = $('run-history');
  clear(hist);
  const h = Array.isArray(r.history) ? [...r.history].reverse() : [];  // newest first
  if (!h.length) hist.append(el('li', { class: 'empty' }, 'No transition yet: the run is in its first state.'));
  for (const e of h) {
    if (!e || typeof e !== 'object') continue;
    const w = fmtWhen(e.at);
    hist.append(el('li', { class: 'tl' },
      el('span', { class: `act-dot d-${stateChipClass(String(e.to || ''))}`, 'aria-hidden': 'true' }),
      el('div', { class: 'act-main' },
        el('p', { class: 'act-line' }, stateChip(e.from), el('span', { class: 'arrow' }, ' → '), stateChip(e.to)),
        el('p', { class: 'act-sub' }, `by ${e.actor ? String(e.actor) : 'unknown'}${e.why ? ` · ${e.why}` : ''}`)),
      el('time', { class: 'act-time', dateTime: w.long, title: w.long }, `${w.short}`)));
  }

  const res = $('run-results');
  clear(res);
  const results = r.results && typeof r.results === 'object' ? Object.entries(r.results) : [];
  results.sort(([a], [b]) => ((ROLE_ORDER.indexOf(a) + 1) || 99) - ((ROLE_ORDER.indexOf(b) + 1) || 99));
  if (!results.length) res.append(el('p', { class: 'panel empty' }, 'No role has reported yet.'));
  for (const [role, rep] of results) {
    const o = rep && typeof rep === 'object' ? rep : {};
    const status = String(o.status || '?');
    const cls = status === 'pass' ? 'good' : status === 'fail' ? 'bad' : 'warn';
    const tok = num(o.tokens_in) || num(o.tokens_out) ? `tokens ${fmtInt(o.tokens_in)} in / ${fmtInt(o.tokens_out)} out` : '';
    const details = o.details && typeof o.details === 'object' && Object.keys(o.details).length
      ? el('details', { class: 'raw' }, el('summary', {}, 'Details'), el('pre', {}, JSON.stringify(o.details, null, 2))) : null;
    res.append(el('article', { class: `result panel r-${cls}`, 'data-role': role },
      el('header', { class: 'card-top' }, el('h3', {}, role.toUpperCase().replace(/_/g, ' ')), chip(status, cls)),
      el('p', { class: 'summary' }, o.summary ? String(o.summary) : el('span', { class: 'muted' }, 'No summary.')),
      tok ? el('p', { class: 'card-meta' }, tok) : null,
      details));
  }
  drawHandoffs(r);
}

/* The stages' handoffs, oldest first: each what it was asked, what it
   did and what the gate judged (lib/handoff.c makes them). */
function drawHandoffs(r) {
  const box = $('run-handoffs');
  const hs = Array.isArray(r.handoffs) ? r.handoffs.filter((h) => h && typeof h === 'object') : [];
  const opened = new Set([...box.querySelectorAll('details[open]')].map((d) => d.dataset.key));
  clear(box);
  if (!hs.length) {
    box.append(el('li', { class: 'panel empty' }, 'No stage has handed over yet.'));
    return;
  }
  const str = (v) => (typeof v === 'string' ? v : '');
  const pre = (key, label, text) => el('details', { class: 'raw', 'data-key': key, open: opened.has(key) },
    el('summary', {}, label), el('pre', {}, text));
  for (const h of hs) {
    const n = num(h.n);
    const status = str(h.status) || '?';
    const cls = status === 'pass' ? 'good' : status === 'fail' ? 'bad' : 'warn';
    const role = (str(h.role) || '?').replace(/^security$/, 'sec').toUpperCase();
    const dl = el('dl', { class: 'hf' });
    const row = (label, ...v) => dl.append(el('dt', {}, label), el('dd', {}, ...v));
    const a = h.asked && typeof h.asked === 'object' ? h.asked : null;
    if (a) {
      const asked = [];
      if (a.task && typeof a.task === 'object') asked.push(el('p', {}, `Task #${num(a.task.id)} ${str(a.task.task_id)}: ${str(a.task.title)}`));
      if (str(a.request)) asked.push(el('p', { class: 'request' }, `Request: ${a.request}`));
      if (Array.isArray(a.tdd_tests) && a.tdd_tests.length) asked.push(el('p', {}, `Make pass: ${a.tdd_tests.map(String).join(', ')}`));
      for (const f of Array.isArray(a.findings) ? a.findings : []) {
        if (!f || typeof f !== 'object') continue;
        const items = [...(Array.isArray(f.findings) ? f.findings : []), ...(Array.isArray(f.failures) ? f.failures : [])];
        asked.push(el('p', {}, `Given ${str(f.from)}'s findings: ${str(f.summary)}`),
          items.length ? el('ul', {}, items.map((x) => el('li', {}, typeof x === 'string' ? x : JSON.stringify(x)))) : null);
      }
      row('Asked', asked.length ? asked : el('span', { class: 'muted' }, 'the project as it is: no task, no request, no findings'));
    }
    row('Summary', str(h.summary) || el('span', { class: 'muted' }, 'No summary.'));
    if (Array.isArray(h.tasks) && h.tasks.length) {
      row('Tasks made', el('ul', {}, h.tasks.map((t) => el('li', {}, `${str(t && t.task_id)}: ${str(t && t.title)}`,
        t && Array.isArray(t.blocked_by) && t.blocked_by.length ? ` (after ${t.blocked_by.map(String).join(', ')})` : ''))));
    }
    if (str(h.refused)) row('Refused', str(h.refused));
    if (str(h.outcome)) row('Outcome', str(h.next) ? [stateChip(h.next), ' ', str(h.outcome)] : str(h.outcome));
    if (Array.isArray(h.commits)) {
      row('Commits', h.commits.length
        ? el('ul', { class: 'commits' }, h.commits.map((c) => el('li', {}, el('code', { class: 'cmd' }, str(c && c.sha)), ' ', str(c && c.subject))),
          h.commits_cut ? el('li', { class: 'muted' }, '… and more') : null)
        : el('span', { class: 'muted' }, 'none'));
    }
    if (str(h.diff_stat)) row('Diff stat', el('pre', { class: 'stat' }, h.diff_stat));
    const t = h.tests && typeof h.tests === 'object' ? h.tests : null;
    if (t) row('Tests', `${fmtInt(t.tests_run)} run, ${fmtInt(t.tests_passed)} passed, ${fmtInt(t.tests_failed)} failed${str(t.verified_by) ? ` (counted by ${t.verified_by})` : ''}`);
    if (typeof h.findings === 'number') row('Findings', fmtInt(h.findings));
    const g = h.gate && typeof h.gate === 'object' ? h.gate : null;
    if (g && str(g.job_id)) {
      row('Gate', `its own test run: ${fmtInt(g.tests_run)} run, ${fmtInt(g.tests_failed)} failed, exit ${num(g.exit_code)}; ${g.agrees ? 'it agrees' : 'it disagrees'}`,
        str(g.output) ? pre(`g${n}`, `The output the gate judged (${str(g.log)})`, g.output) : null);
    }
    if (g && Array.isArray(g.offending_paths) && g.offending_paths.length) {
      row('Not its paths', g.offending_paths.map((o) => (o && typeof o === 'object' ? `${str(o.path)} (${str(o.owner) || 'no role'}'s)` : '')).join(', '));
    }
    if (str(h.log)) row('Log', el('code', { class: 'cmd' }, h.log));
    box.append(el('li', { class: `handoff panel r-${cls}`, 'data-role': str(h.role), 'data-n': String(n) },
      el('header', { class: 'card-top' },
        el('h3', {}, `${n} · ${role}${h.phase === 'tdd' ? ' · failing tests first' : ''} · iteration ${num(h.iteration) || 1}`),
        chip(status, cls), h.at ? whenEl(h.at) : null),
      dl));
  }
}

async function loadRun(route, gen) {
  const out = await fetchAll([`/api/runs/${encodeURIComponent(route.id)}`, '/api/projects']);
  if (!out || gen !== state.gen) return;
  const [r, projects] = out;
  if (Array.isArray(projects)) state.projects = projects;
  if (r instanceof ApiError) {
    $('run-h').textContent = r.status === 404 ? `No run ${route.id}` : 'Run';
    $('run-sub').textContent = r.message;
    $('run-changes').hidden = true;
    return;
  }
  if (!r || r instanceof Error) return;
  $('run-changes').hidden = false;
  // where it may deploy: asked only while a deploy waits for approval
  let envs = [];
  if ((r.state === 'READY_FOR_DEPLOY' || r.state === 'DEPLOY_FAILED') && r.project_id) {
    const e = await fetchAll([`/api/projects/${encodeURIComponent(r.project_id)}/environments`]);
    if (gen !== state.gen) return;
    if (e && Array.isArray(e[0])) {
      // after a failed deploy, approving again needs a deploy command
      envs = r.state === 'DEPLOY_FAILED' ? e[0].filter((x) => x && x.deploy_command) : e[0];
    }
  }
  // the diff, asked again only when the run has moved: it may be megabytes
  let d = null;
  if (r.branch) {
    const key = `${r.id}|${r.state}|${r.updated_at}`;
    if (state.diff.key !== key) {
      let next;
      try {
        next = { key, data: await api(`/api/runs/${encodeURIComponent(r.id)}/diff`), err: null };
      } catch (e) {
        if (e instanceof Unreachable) return;
        next = { key, data: null, err: e.message };
      }
      if (gen !== state.gen) return;
      state.diff = next;
    }
    d = state.diff;
  }
  drawChanges(r, d);
  drawRun(r, envs);
}

async function runAction(r, key, btn) {
  const a = RUN_ACTIONS[key];
  const env = key === 'approve' && $('deploy-env') ? $('deploy-env').value : '';
  const why = key === 'abandon' && $('abandon-why') ? $('abandon-why').value.trim() : '';
  const name = r.name || 'unnamed';
  if (key === 'approve' && !window.confirm(`Approve the deploy of run #${r.id} (${name})${env ? ` to ${env}` : ''}?`)) return;
  if (key === 'merge' && !window.confirm(`Merge ${r.branch} (run #${r.id}, ${name}) into ${r.base_branch || 'its base branch'}?`)) return;
  if (key === 'abandon' && !window.confirm(`Abandon run #${r.id} (${name})? Its worktree is removed${r.branch ? `; its branch ${r.branch} stays` : ''}.`)) return;
  const msg = $('run-action-msg');
  msg.hidden = true;
  btn.disabled = true;
  const body = {};
  if (key === 'reset' && $('reset-tasks') && $('reset-tasks').checked) body.tasks = true;
  if (env) body.env = env;
  if (why) body.why = why;
  try {
    const out = await post(`/api/runs/${encodeURIComponent(r.id)}/${a.path}`, body);
    notify(`Run #${r.id} ${a.done}${out && out.state ? `: now ${out.state}` : ''}.`);
    refreshNow();
  } catch (e) {
    // the pipeline's reason, beside the button too: it answers this click
    if (e instanceof ApiError && e.status !== 401) {
      msg.textContent = e.message;
      msg.hidden = false;
    }
  } finally {
    btn.disabled = false;
  }
}

/* #/bugs */

async function loadBugs(route, gen) {
  const qs = new URLSearchParams();
  if (state.bugsProject) qs.set('project_id', state.bugsProject);
  if (state.bugsStatus) qs.set('status', state.bugsStatus);
  const q = qs.toString();
  const out = await fetchAll([`/api/bugs${q ? `?${q}` : ''}`, '/api/projects']);
  if (!out || gen !== state.gen) return;
  const [bugs, projects] = out;
  if (Array.isArray(projects)) state.projects = projects;
  fillProjectFilter($('bugs-project'), 'All projects');
  fillProjectFilter($('bug-project'), 'None');
  if (!Array.isArray(bugs)) return;
  if (!changed('bugs.list', { bugs, n: state.projects.map((p) => p.name) })) return;
  const tb = $('bugs-body');
  clear(tb);
  if (!bugs.length) {
    emptyRow(tb, 6, state.bugsStatus || state.bugsProject ? 'No bug matches.' : 'No bug reported. Good.');
    return;
  }
  for (const b of [...bugs].sort(byNewest)) {
    const where = [b.app_name ? chip(String(b.app_name), 'lang') : null, b.url ? urlEl(b.url) : null].filter(Boolean);
    tb.append(el('tr', { 'data-bug': String(b.id), class: `bug b-${String(b.status || 'open')}` },
      el('td', { class: 'mono strong' }, `#${b.id}`),
      el('td', {}, el('span', { class: 'strong' }, String(b.title || '(untitled)')),
        b.description ? el('p', { class: 'sub' }, String(b.description)) : null),
      el('td', {}, b.project_id ? projectLink(b.project_id) : dash()),
      el('td', {}, where.length ? el('span', { class: 'where' }, where) : dash()),
      el('td', {}, statusSelect(String(b.status || 'open'), BUG_STATUSES, `Status of bug ${b.id}`, async (to) => {
        await post(`/api/bugs/${encodeURIComponent(b.id)}/status`, { status: to });
        notify(`Bug #${b.id} is now ${to.replace(/_/g, ' ')}.`);
        refreshNow();
      })),
      el('td', {}, whenEl(b.created_at))));
  }
}

function createBug(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  if (!need($('bug-title'), 'A title')) return;
  submitting(form, async () => {
    const pid = $('bug-project').value;
    const out = await post('/api/bugs/create', bodyOf([
      ['title', $('bug-title').value], ['description', $('bug-desc').value], ['url', $('bug-url').value],
      ['app_name', $('bug-app').value], ['project_id', pid ? Number(pid) : null]]));
    notify(`Bug #${out && out.id !== undefined ? out.id : '?'} reported.`);
    for (const id of ['bug-title', 'bug-desc', 'bug-url', 'bug-app']) $(id).value = '';
    refreshNow();
  });
}

/* #/webhooks.  GET /api/webhooks has no secret, only has_secret; the
 * reply of a create holds the one wf made (none when one was typed),
 * which the page drops unread: it is never shown, nor kept. */

/* wf webhook's check of an event glob (lib/webhook: wf_webhook_pattern_ok) */
const EVENT_GLOB = /^[A-Za-z0-9._*?-]{1,128}$/;

async function loadWebhooks(route, gen) {
  const out = await fetchAll(['/api/webhooks', '/api/projects', '/api/webhooks/deliveries?dead=1']);
  if (!out || gen !== state.gen) return;
  const [hooks, projects, dead] = out;
  if (Array.isArray(projects)) state.projects = projects;
  if (!Array.isArray(hooks)) return;
  if (Array.isArray(dead)) drawDead(dead, hooks);
  if (!changed('hooks.list', { hooks, n: state.projects.map((p) => p.name) })) return;
  const tb = $('hooks-body');
  clear(tb);
  if (!hooks.length) {
    emptyRow(tb, 6, 'No webhook: add one below, or with wf webhook create.');
    return;
  }
  for (const h of hooks) {
    const name = String(h.name || `#${h.id}`);
    const events = Array.isArray(h.events) && h.events.length ? h.events : ['*'];
    const on = h.active !== false;
    tb.append(el('tr', { 'data-hook': name, class: on ? '' : 'off' },
      el('td', {}, el('span', { class: 'strong' }, name),
        h.project_id ? el('p', { class: 'sub' }, 'for ', projectLink(h.project_id)) : null,
        h.description ? el('p', { class: 'sub' }, String(h.description)) : null),
      // as text, not a link: a receiver's address is for wf-notify to POST to
      el('td', {}, h.url ? el('span', { class: 'url mono' }, String(h.url)) : dash()),
      el('td', {}, el('span', { class: 'chips' }, events.map((x) => chip(String(x), 'lang')))),
      el('td', {}, chip(on ? 'active' : 'inactive', on ? 'good' : 'warn'),
        h.disabled_reason ? el('p', { class: 'sub' }, String(h.disabled_reason)) : null),
      el('td', {}, h.last_delivery_at || typeof h.last_status === 'number'
        ? el('span', { class: 'where' },
          chip(num(h.last_status) ? String(h.last_status) : 'no answer', num(h.last_status) >= 200 && num(h.last_status) < 300 ? 'good' : 'bad'),
          whenEl(h.last_delivery_at))
        : el('span', { class: 'muted' }, 'none yet')),
      el('td', { class: 'num' }, el('button', {
        type: 'button', class: 'btn small danger',
        'aria-label': `Delete webhook ${name}`,
        onclick: (ev) => deleteWebhook(h, ev.currentTarget),
      }, 'Delete'))));
  }
}

/* The dead letters (GET /api/webhooks/deliveries?dead=1: no body, so no
 * secret), each with Redeliver, and Redeliver all. */
function drawDead(dead, hooks) {
  $('dead-all').disabled = !dead.length;
  if (!changed('hooks.dead', { dead, h: hooks.map((h) => [h.id, h.name]) })) return;
  const tb = $('dead-body');
  clear(tb);
  if (!dead.length) {
    emptyRow(tb, 6, 'No dead letter: every delivery was made, or is still being tried.');
    return;
  }
  const names = new Map(hooks.map((h) => [h.id, String(h.name || `#${h.id}`)]));
  for (const d of dead) {
    const id = String(d.id || '');
    const hook = d.hooks === true ? 'hooks.d'
      : names.get(d.webhook_id) || `#${d.webhook_id} (deleted)`;
    const when = num(d.dead_at) ? new Date(num(d.dead_at)).toISOString() : d.created_at;
    tb.append(el('tr', { 'data-dead': id },
      el('td', {}, el('span', { class: 'strong mono' }, String(d.event || '?')),
        el('p', { class: 'sub mono' }, id)),
      el('td', {}, hook),
      el('td', {}, d.last_error ? String(d.last_error) : dash()),
      el('td', { class: 'num' }, `${fmtInt(d.attempt)}${num(d.max_attempts) ? ` of ${fmtInt(d.max_attempts)}` : ''}`),
      el('td', {}, whenEl(when)),
      el('td', { class: 'num' }, el('button', {
        type: 'button', class: 'btn small',
        'aria-label': `Redeliver ${id}`,
        onclick: (ev) => redeliver(d, ev.currentTarget),
      }, 'Redeliver'))));
  }
}

async function redeliver(d, btn) {
  btn.disabled = true;
  try {
    await post(`/api/webhooks/deliveries/${encodeURIComponent(d.id)}/redeliver`);
    notify(`Delivery of ${d.event || d.id} put back in the queue: wf-notify sends it again.`);
    refreshNow();
  } catch (e) {
    btn.disabled = false;
  }
}

async function redeliverAll() {
  const btn = $('dead-all');
  btn.disabled = true;
  try {
    const out = await post('/api/webhooks/deliveries/redeliver-all');
    const ok = out && Array.isArray(out.redelivered) ? out.redelivered.length : 0;
    const bad = out && Array.isArray(out.failed) ? out.failed : [];
    notify(bad.length
      ? `${ok} redelivered; ${bad.length} refused: ${bad.map((f) => `${f.id}: ${f.error}`).join('; ')}`
      : `${ok} redelivered: wf-notify sends them again.`, bad.length ? 'error' : undefined);
    refreshNow();
  } catch (e) {
    btn.disabled = false;
  }
}

function createWebhook(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  if (!need($('hook-name'), 'A name') || !need($('hook-url'), 'A URL')) return;
  const events = $('hook-events').value.split(/[\s,]+/).filter(Boolean);
  const bad = events.find((x) => !EVENT_GLOB.test(x));
  if (bad !== undefined) {
    notify(`Events: '${bad.slice(0, 64)}' is not an event name or a glob of letters, digits and . _ * ? -`, 'error');
    $('hook-events').focus();
    return;
  }
  submitting(form, async () => {
    const body = bodyOf([['name', $('hook-name').value], ['url', $('hook-url').value]]);
    if (events.length) body.events = events;
    const typed = $('hook-secret').value;
    if (typed !== '') body.secret = typed;  // as typed: its spaces are its own
    try {
      const out = await post('/api/webhooks/create', body);
      const made = !!(out && typeof out === 'object' && 'secret' in out);
      if (made) delete out.secret;  // the one wf made: never in the page
      const name = out && out.name ? out.name : body.name;
      notify(made
        ? `Webhook ${name} created. wf made its secret, which this page does not show: wf webhook show ${out && out.id !== undefined ? out.id : 'ID'} --reveal-secret prints it.`
        : `Webhook ${name} created, signed with the secret typed.`);
      for (const id of ['hook-name', 'hook-url', 'hook-events']) $(id).value = '';
      refreshNow();
    } finally {
      // never left in the page, even when refused
      $('hook-secret').value = '';
    }
  });
}

async function deleteWebhook(h, btn) {
  const name = h.name || `#${h.id}`;
  if (!window.confirm(`Delete the webhook ${name}? wf-notify stops sending it events.`)) return;
  btn.disabled = true;
  try {
    await del(`/api/webhooks/${encodeURIComponent(h.id)}/delete`);
    notify(`Webhook ${name} deleted.`);
    refreshNow();
  } catch (e) {
    btn.disabled = false;
  }
}

/* ---------- the route ---------- */

const VIEWS = {
  dashboard: { load: loadDashboard, title: 'Dashboard' },
  projects: { load: loadProjects, title: 'Projects' },
  project: { load: loadProject, title: 'Project', nav: 'projects' },
  runs: { load: loadRuns, title: 'Runs' },
  run: { load: loadRun, title: 'Run', nav: 'runs' },
  bugs: { load: loadBugs, title: 'Bugs' },
  webhooks: { load: loadWebhooks, title: 'Webhooks' },
  notfound: { load: null, title: 'No such page' },
};

/* parseRoute: the view a hash names; null for a hash that is an anchor
 * in the page (#main), which keeps the view as it is. */
function parseRoute(hash) {
  if (!hash || hash === '#' || hash === '#/') return { view: 'dashboard' };
  if (!hash.startsWith('#/')) return null;
  const [a, b, ...rest] = hash.slice(2).split('/').filter(Boolean);
  const id = b && /^[1-9][0-9]*$/.test(b) ? b : null;
  if (rest.length || (b && !id)) return { view: 'notfound' };
  if (a === 'projects') return id ? { view: 'project', id } : { view: 'projects' };
  if (a === 'runs') return id ? { view: 'run', id } : { view: 'runs' };
  if (a === 'bugs' && !b) return { view: 'bugs' };
  if (a === 'webhooks' && !b) return { view: 'webhooks' };
  return { view: 'notfound' };
}

function route(first) {
  const r = parseRoute(location.hash) || (first ? { view: 'dashboard' } : null);
  if (!r) return;
  const same = r.view === state.route.view && r.id === state.route.id;
  if (same && !first) return;
  state.route = r;
  state.gen++;
  // a view drawn for another id must not show while the new one loads
  for (const k of Object.keys(state.drawn)) {
    if (/^(p|run|runs|bugs|hooks|plist)\./.test(k) || k === 'plist') delete state.drawn[k];
  }
  state.projectRec = null;
  toggleSettings(false);
  closeEnvEdit();
  if (r.view === 'project') {
    $('project-h').textContent = `Project #${r.id}`;
    $('project-desc').textContent = 'Loading…';
  }
  if (r.view === 'run') {
    $('run-h').textContent = `Run #${r.id}`;
    $('run-sub').textContent = 'Loading…';
    $('run-action-msg').hidden = true;
  }
  for (const v of document.querySelectorAll('main > .view')) v.hidden = v.id !== `view-${r.view}`;
  // the dashboard's poll titles its tab with the count of waiting runs
  if (r.view !== 'dashboard') document.title = `${VIEWS[r.view].title} · wf — Workflow Hub`;
  const nav = VIEWS[r.view].nav || r.view;
  for (const a of document.querySelectorAll('.nav a')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // the board's project filter in the header is the dashboard's only
  $('filter-project').closest('label').hidden = r.view !== 'dashboard';
  if (!first) {
    const h = document.querySelector(`#view-${r.view} h1`);
    if (h) h.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
  refreshNow();
}

/* ---------- the poll ---------- */

/* fetchAll(paths): each path's answer, or its ApiError, or null for a
 * null path; null for all when the server is unreachable.  The banner and
 * the connection chip follow; a failing endpoint is told once. */
async function fetchAll(paths) {
  const out = await Promise.allSettled(paths.map((p) => (p ? api(p) : Promise.resolve(null))));
  const down = out.find((r) => r.status === 'rejected' && r.reason instanceof Unreachable);
  if (down) {
    setReachable(false, down.reason.message);
    return null;
  }
  setReachable(true);
  const errs = out.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
  // a failing endpoint fails every poll: say so once, not every 2.5 s
  const err = errs.length ? errs[0] : null;
  if (err && err !== state.lastErr) notify(`The server said: ${err}`, 'error');
  state.lastErr = err;
  return out.map((r) => (r.status === 'fulfilled' ? r.value : r.reason));
}

async function refresh() {
  if (state.inflight) {
    state.again = true;  // a route change while a poll is out: poll again
    return;
  }
  state.inflight = true;
  try {
    do {
      state.again = false;
      const v = VIEWS[state.route.view];
      if (v && v.load) await v.load(state.route, state.gen);
    } while (state.again);
  } finally {
    state.inflight = false;
  }
}

async function loadDashboard(route, gen) {
  const q = state.project ? `?project_id=${encodeURIComponent(state.project)}` : '';
  // the whole board too when filtered: the projects table counts every project
  const out = await fetchAll([
    `/api/board${q}`, '/api/queue/status', '/api/projects', `/api/log?limit=${LOG_LIMIT}`,
    '/api/health', state.project ? '/api/board' : null,
  ]);
  if (!out || gen !== state.gen) return;
  const [board, queue, projects, log, health, allBoard] = out.map((v) => (v instanceof Error ? null : v));

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
  const request = $('start-request').value;
  const btn = $('start-btn');
  btn.disabled = true;
  try {
    const body = {};
    if (task) body.task_id = Number(task);
    // as typed; a blank one is none (the server says so too)
    if (request.trim()) body.request = request;
    // The reply is the new run's record.
    const out = await post(`/api/projects/${encodeURIComponent(pid)}/execute`, body);
    notify(`Run #${out && out.id !== undefined ? out.id : '?'} started for ${projectName(Number(pid))}${task ? ` (task ${label || task})` : ''}${body.request ? ', with your request for PM' : ''}.`);
    $('start-request').value = '';
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
  $('board-add-task').addEventListener('click', () => toggleBoardTask($('board-task-form').hidden));
  $('bt-cancel').addEventListener('click', () => toggleBoardTask(false));
  $('bt-project').addEventListener('change', loadBoardDeps);
  $('board-task-form').addEventListener('submit', createBoardTask);
  $('notice-close').addEventListener('click', () => { $('notice').hidden = true; });

  let theme = localStorage.getItem('wf.theme') || 'auto';
  if (!THEMES.includes(theme)) theme = 'auto';
  applyTheme(theme);
  $('theme').addEventListener('click', () => {
    theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    localStorage.setItem('wf.theme', theme);
    applyTheme(theme);
  });

  $('project-form').addEventListener('submit', createProject);
  $('project-start').addEventListener('click', startProjectPipeline);
  buildSettings();
  $('project-edit').addEventListener('click', () => toggleSettings($('project-settings').hidden));
  $('settings-cancel').addEventListener('click', () => toggleSettings(false));
  $('project-settings').addEventListener('submit', saveSettings);
  $('task-form').addEventListener('submit', createTask);
  $('cred-form').addEventListener('submit', createCred);
  $('env-form').addEventListener('submit', createEnv);
  buildEnvEdit();
  $('env-edit').addEventListener('submit', saveEnv);
  $('env-edit-cancel').addEventListener('click', closeEnvEdit);
  $('hook-form').addEventListener('submit', createWebhook);
  $('dead-all').addEventListener('click', redeliverAll);
  $('bug-form').addEventListener('submit', createBug);
  fillSelect($('runs-state'), 'All states', RUN_STATES.map((s) => [s, s.replace(/_/g, ' ')]));
  const filter = (id, key) => $(id).addEventListener('change', (e) => {
    state[key] = e.target.value;
    refreshNow();
  });
  filter('runs-project', 'runsProject');
  filter('runs-state', 'runsState');
  filter('bugs-project', 'bugsProject');
  filter('bugs-status', 'bugsStatus');

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) schedule();  // stops the timer
    else refreshNow();
  });
  window.addEventListener('hashchange', () => route(false));
  route(true);
  // the footer's version on every view; the dashboard's poll keeps it
  api('/api/health').then((h) => {
    if (h && h.version) $('version').textContent = String(h.version);
  }).catch(() => {});
}

init();
