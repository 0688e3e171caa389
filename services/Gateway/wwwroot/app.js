// Agents console: a plain client of the public API (the same calls a program would make). No framework, no build step.
'use strict';

const TOKEN_KEY = 'agents.console.token';
const TERMINAL = new Set(['task_completed', 'task_failed', 'task_cancelled']);
const EVENT_TYPES = ['task_started', 'thinking_chunk', 'text_chunk', 'tool_start', 'tool_end', 'interrupt', 'resumed',
  'attempt_restarted', 'task_completed', 'task_failed', 'task_cancelled'];

const $ = (id) => document.getElementById(id);
const state = {
  token: localStorage.getItem(TOKEN_KEY) || '',
  conversationId: null,
  openGen: 0,          // bumped by every open (and by a send that starts a conversation): stale loads stop drawing
  task: null,          // { id, view } of the task the composer controls
  follower: null,      // stops the current live follow
  filesPath: '.',
  memoryOffset: 0,
};

// ------------------------------------------------------------------ API

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + state.token };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return readJson(res);
}

async function readJson(res) {
  let json = null;
  try { json = await res.json(); } catch { /* not JSON: reported by status below */ }
  if (res.status === 401) { signOut('Your token was rejected (401): sign in again.'); throw new ApiError(401, 'unauthorized'); }
  if (!res.ok || (json && json.success === false)) {
    throw new ApiError(res.status, (json && json.error) || `${res.status} ${res.statusText}`);
  }
  return json;
}

function fail(err) {
  if (err instanceof ApiError && err.status === 401) return;
  showBanner(err.message || String(err));
}

function showBanner(text) { $('banner-text').textContent = text; $('banner').hidden = false; }

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ sign in / out, views

function signOut(message) {
  stopFollowing();
  localStorage.removeItem(TOKEN_KEY);
  state.token = '';
  state.conversationId = null;
  $('app').hidden = true;
  $('signin').hidden = false;
  $('token-input').value = '';
  $('signin-error').hidden = !message;
  $('signin-error').textContent = message || '';
  $('token-input').focus();
}

async function signIn(token) {
  state.token = token.trim();
  $('signin-error').hidden = true;
  try {
    // A cheap authenticated call checks the token before anything is shown.
    const res = await fetch('/api/v1/conversations', { headers: { Authorization: 'Bearer ' + state.token } });
    if (res.status === 401) throw new Error('This token was rejected.');
    if (!res.ok) throw new Error(`The server answered ${res.status}.`);
  } catch (e) {
    state.token = '';
    $('signin-error').textContent = e.message;
    $('signin-error').hidden = false;
    return;
  }
  localStorage.setItem(TOKEN_KEY, state.token);
  $('signin').hidden = true;
  $('app').hidden = false;
  route();
}

function route() {
  if (!state.token) return;
  const view = (location.hash || '#chat').slice(1);
  const views = ['chat', 'files', 'memory', 'tools', 'usage', 'webhooks'];
  const known = views.includes(view) ? view : 'chat';
  for (const v of views) $('view-' + v).hidden = v !== known;
  for (const a of document.querySelectorAll('.tabs a')) a.classList.toggle('active', a.dataset.view === known);
  if (known === 'chat') loadConversations().catch(fail);
  if (known === 'files') loadFiles(state.filesPath).catch(fail);
  if (known === 'memory') loadMemories(true).catch(fail);
  if (known === 'tools') loadTools().catch(fail);
  if (known === 'usage') loadUsage().catch(fail);
  if (known === 'webhooks') { $('webhook-secret').hidden = true; loadWebhooks().catch(fail); } // a secret is shown once
}

// ------------------------------------------------------------------ conversations

async function loadConversations() {
  const { items } = await api('GET', '/api/v1/conversations');
  const list = $('conversations');
  list.replaceChildren();
  for (const c of items) {
    const li = el('li', { class: c.conversation_id === state.conversationId ? 'active' : '' });
    const b = el('button', { type: 'button', class: 'conversation', title: c.conversation_id });
    b.append(el('span', { class: 'title' }, c.title || c.conversation_id), el('span', { class: 'when muted' }, when(c.updated_at)));
    b.addEventListener('click', () => openConversation(c.conversation_id, c.title).catch(fail));
    li.append(b);
    list.append(li);
  }
  if (items.length === 0) list.append(el('li', { class: 'muted empty' }, 'No conversations yet.'));
}

async function newConversation() {
  const { conversation_id } = await api('POST', '/api/v1/conversations');
  await openConversation(conversation_id, null);
  await loadConversations();
  $('message-input').focus();
}

async function openConversation(id, title) {
  const gen = ++state.openGen;
  const current = () => gen === state.openGen;
  stopFollowing();
  state.conversationId = id;
  state.task = null;
  setRunning(null);
  $('chat-title').textContent = title || id;
  $('chat-title').classList.remove('muted');
  $('messages').replaceChildren();
  setSidebar(false);
  for (const li of $('conversations').children) li.classList.toggle('active', li.firstChild?.title === id);
  // Every turn of the conversation, wherever it was sent from, oldest first; each one's log is then replayed.
  const { items: tasks } = await api('GET', `/api/v1/conversations/${encodeURIComponent(id)}/tasks`);
  if (!current()) return;
  if (tasks.length === 0) $('messages').append(el('p', { class: 'muted hint' }, 'Nothing here yet: send a message.'));
  for (const t of tasks) {
    if (!current()) return;
    const view = renderTurn(t.message, t.task_id);
    const done = await replay(t.task_id, view);
    // Another conversation (or this one again) was opened meanwhile: its own load draws and follows, not this one.
    if (!current()) return;
    if (!done) { state.task = { id: t.task_id, view }; follow(t.task_id, view); }
  }
}

// A finished task's whole log, read page by page; false when the task is still going.
async function replay(taskId, view) {
  try {
    for (;;) {
      const { data } = await api('GET', `/api/v1/tasks/${encodeURIComponent(taskId)}?from=${view.next}`);
      for (const e of data.events) apply(view, e);
      if (view.done) return true;
      if (data.events.length === 0) return false;
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) { view.status('deleted'); return true; }
    throw e;
  }
}

// ------------------------------------------------------------------ sending, following

async function send() {
  const input = $('message-input');
  const message = input.value.trim();
  if (!message || state.task) return;
  const body = { message, run_mode: $('run-mode').value };
  if (state.conversationId) body.conversation_id = state.conversationId;
  $('send').disabled = true;
  try {
    const r = await api('POST', '/api/v1/messages', body);
    input.value = '';
    if (state.conversationId !== r.conversation_id) {
      state.openGen++;
      state.conversationId = r.conversation_id;
      $('chat-title').textContent = r.conversation_id;
      $('chat-title').classList.remove('muted');
      $('messages').replaceChildren();
    }
    $('messages').querySelector('.hint')?.remove();
    const view = renderTurn(message, r.task_id);
    state.task = { id: r.task_id, view };
    setRunning(r.task_id);
    follow(r.task_id, view);
    loadConversations().catch(() => {});
  } catch (e) {
    fail(e);
  } finally {
    $('send').disabled = !!state.task;
  }
}

function stopFollowing() {
  if (state.follower) state.follower();
  state.follower = null;
}

// Live events: Server-Sent Events when the server offers them (EventSource cannot send headers, so the token goes in
// access_token), else polling from the last offset. Events are applied by idx, so a reconnect never repeats one.
function follow(taskId, view) {
  stopFollowing();
  let stopped = false;
  let source = null;
  state.follower = () => { stopped = true; source?.close(); };
  setRunning(taskId);

  const base = `/api/v1/tasks/${encodeURIComponent(taskId)}`;
  const onEvent = (e) => {
    let parsed;
    try { parsed = JSON.parse(e.data); } catch { return; }
    // data: is the event as polling returns it ({idx, type, data, ts}); a bare payload with id:/event: works too.
    const whole = parsed && typeof parsed === 'object' && 'idx' in parsed && 'type' in parsed && 'data' in parsed;
    apply(view, whole ? parsed : { idx: Number(e.lastEventId), type: e.type, data: parsed });
    if (view.done) { source.close(); finished(view); }
  };
  // Reconnects are ours, not the browser's: a new stream asks for ?from=<next idx>, so resuming does not depend on a
  // proxy passing Last-Event-ID, and the idx check in apply() drops anything sent twice.
  let everReceived = false;
  let failures = 0;
  const connect = () => {
    if (stopped || view.done) return;
    let received = false;
    source = new EventSource(`${base}/events?from=${view.next}&access_token=${encodeURIComponent(state.token)}`);
    for (const t of [...EVENT_TYPES, 'message']) {
      source.addEventListener(t, (e) => { received = everReceived = true; failures = 0; onEvent(e); });
    }
    source.onerror = () => {
      source.close();
      if (stopped || view.done) return;
      // A server without the stream (404), or one that keeps refusing it: poll instead.
      if (!everReceived || failures >= 3) { poll(); return; }
      if (!received) failures++;
      setTimeout(connect, 250 * (failures + 1));
    };
  };
  if (typeof EventSource === 'function') connect(); else poll();
  showQueued();

  // A task accepted but waiting for a worker (its user's other tasks, or everyone's, fill the slots) says so, and where.
  // Asked only when nothing arrived within a second: a task that starts at once costs no extra request.
  async function showQueued() {
    await sleep(1000);
    while (!stopped && !view.done && view.next === 0) {
      try {
        const { data } = await api('GET', `${base}?from=0&limit=1`);
        if (data.queue_position == null || view.next > 0) return;
        view.status(`waiting for a free worker (${data.queue_position} in the queue)`, 'warn');
      } catch { return; }
      await sleep(2000);
    }
  }

  async function poll() {
    while (!stopped && !view.done) {
      try {
        // wait= makes it a long poll where the server supports it; elsewhere the short pause below paces the loop.
        const { data } = await api('GET', `${base}?from=${view.next}&wait=20`);
        for (const e of data.events) apply(view, e);
        if (view.done) { finished(view); return; }
        if (data.events.length === 0) await sleep(250);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return;
        if (e instanceof ApiError && e.status === 404) { view.status('not found'); finished(view); return; }
        await sleep(1000);
      }
    }
  }
}

function finished(view) {
  if (state.task && state.task.view === view) { state.task = null; setRunning(null); }
}

function setRunning(taskId) {
  $('cancel-task').hidden = !taskId;
  $('cancel-task').disabled = false;
  $('send').disabled = !!taskId;
  $('task-status').textContent = taskId ? 'running…' : '';
}

async function cancelTask() {
  if (!state.task) return;
  $('cancel-task').disabled = true;
  try {
    await api('POST', `/api/v1/tasks/${encodeURIComponent(state.task.id)}/cancel`);
    $('task-status').textContent = 'cancelling…';
  } catch (e) { $('cancel-task').disabled = false; fail(e); }
}

// ------------------------------------------------------------------ rendering a turn

// One user message and the agent's answer to it. apply() takes events in idx order and ignores ones already seen.
function renderTurn(message, taskId) {
  const box = $('messages');
  const turn = el('article', { class: 'turn', 'data-task': taskId });
  turn.append(el('div', { class: 'bubble user' }, message));
  const agent = el('div', { class: 'bubble agent' });
  const status = el('div', { class: 'turn-status muted' }, 'queued');
  turn.append(agent, status);
  box.append(turn);
  scrollDown();
  const view = {
    taskId, agent, next: 0, done: false, text: null, thinking: null, tools: new Map(), interrupts: new Map(),
    status: (s, cls) => { status.textContent = s; status.className = 'turn-status ' + (cls || 'muted'); },
  };
  return view;
}

function apply(view, e) {
  if (!Number.isFinite(e.idx) || e.idx < view.next) return;
  view.next = e.idx + 1;
  const d = e.data || {};
  switch (e.type) {
    case 'task_started':
      view.status(d.attempt > 1 ? `running (attempt ${d.attempt})` : 'running');
      break;
    case 'attempt_restarted':
      view.status('restarted on another worker');
      view.text = null;
      break;
    case 'thinking_chunk': {
      if (!view.thinking) {
        const det = el('details', { class: 'thinking' });
        det.append(el('summary', {}, 'Thinking'), view.thinking = el('div', { class: 'thinking-text' }));
        view.agent.append(det);
      }
      view.thinking.append(d.content || '');
      view.text = null;
      break;
    }
    case 'text_chunk':
      if (!view.text) { view.text = el('div', { class: 'answer' }); view.agent.append(view.text); }
      view.text.append(d.content || '');
      view.thinking = null;
      break;
    case 'tool_start': {
      const card = el('details', { class: 'tool running' });
      const summary = el('summary', {});
      summary.append(el('span', { class: 'tool-name' }, d.name || 'tool'), el('span', { class: 'tool-state muted' }, 'running…'));
      card.append(summary, el('pre', { class: 'tool-args' }, pretty(d.arguments)));
      view.tools.set(d.call_id, card);
      view.agent.append(card);
      view.text = view.thinking = null;
      break;
    }
    case 'tool_end': {
      const card = view.tools.get(d.call_id) || el('details', { class: 'tool' });
      if (!card.isConnected) { card.append(el('summary', {}, el('span', { class: 'tool-name' }, d.name || 'tool'))); view.agent.append(card); }
      card.classList.remove('running');
      card.classList.add(d.ok === false ? 'failed' : 'ok');
      const st = card.querySelector('.tool-state');
      if (st) st.textContent = (d.ok === false ? 'failed' : 'done') + (d.duration_ms != null ? ` · ${d.duration_ms} ms` : '');
      card.append(el('pre', { class: 'tool-result' }, typeof d.result === 'string' ? d.result : pretty(d.result ?? d.error)));
      break;
    }
    case 'interrupt':
      view.agent.append(renderInterrupt(view, d));
      view.text = view.thinking = null;
      view.status('waiting for your decision', 'warn');
      if (state.task?.view === view) $('task-status').textContent = 'waiting for approval';
      break;
    case 'resumed': {
      const card = view.interrupts.get(d.interrupt_id);
      if (card) resolveInterrupt(card, d.response_type);
      view.status('running');
      if (state.task?.view === view) $('task-status').textContent = 'running…';
      break;
    }
    case 'task_completed':
      view.done = true;
      if (d.result?.stopped_at_limit) view.status('completed (stopped at the iteration limit)', 'ok');
      else view.status('completed', 'ok');
      if (!view.agent.querySelector('.answer') && d.result?.text) view.agent.append(el('div', { class: 'answer' }, d.result.text));
      break;
    case 'task_failed':
      view.done = true;
      view.status('failed: ' + (d.error || d.message || 'error'), 'error');
      break;
    case 'task_cancelled':
      view.done = true;
      view.status('cancelled' + (d.reason ? ': ' + d.reason : ''), 'error');
      break;
  }
  if (view.done) for (const card of view.interrupts.values()) if (!card.classList.contains('resolved')) resolveInterrupt(card, null);
  scrollDown();
}

function renderInterrupt(view, d) {
  const card = el('div', { class: 'interrupt', role: 'group', 'aria-label': 'Approval needed' });
  view.interrupts.set(d.interrupt_id, card);
  card.append(el('div', { class: 'interrupt-title' }, `Approve ${d.name || 'tool call'}?`));
  if (d.description) card.append(el('p', { class: 'muted' }, d.description));
  const args = el('textarea', { class: 'interrupt-args', rows: '5', spellcheck: 'false', 'aria-label': 'Arguments (JSON)' });
  args.value = pretty(d.arguments);
  const answer = el('input', { class: 'interrupt-answer', type: 'text', placeholder: 'Answer in the tool’s place…', 'aria-label': 'Response' });
  const allowed = new Set(d.allowed || ['accept', 'edit', 'reject', 'respond']);
  const buttons = el('div', { class: 'interrupt-actions' });
  const add = (type, label, cls, build) => {
    if (!allowed.has(type)) return;
    const b = el('button', { type: 'button', class: cls, 'data-decision': type }, label);
    b.addEventListener('click', async () => {
      let payload;
      try { payload = build(); } catch (err) { showBanner(err.message); return; }
      for (const x of buttons.querySelectorAll('button')) x.disabled = true;
      try {
        await api('POST', `/api/v1/tasks/${encodeURIComponent(view.taskId)}/resume`, { response_type: type, interrupt_id: d.interrupt_id, ...payload });
        resolveInterrupt(card, type);
      } catch (err) {
        for (const x of buttons.querySelectorAll('button')) x.disabled = false;
        fail(err);
      }
    });
    buttons.append(b);
  };
  add('accept', 'Approve', 'primary', () => ({}));
  add('edit', 'Approve edited', '', () => {
    let parsed;
    try { parsed = JSON.parse(args.value); } catch { throw new Error('The arguments are not valid JSON.'); }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('The arguments must be a JSON object.');
    return { args: parsed };
  });
  add('reject', 'Reject', 'danger', () => ({}));
  add('respond', 'Respond', '', () => {
    if (!answer.value.trim()) throw new Error('Write a response first.');
    return { args: { response: answer.value } };
  });
  card.append(args);
  if (allowed.has('respond')) card.append(answer);
  card.append(buttons);
  return card;
}

function resolveInterrupt(card, decision) {
  if (card.classList.contains('resolved')) return;
  card.classList.add('resolved');
  for (const x of card.querySelectorAll('button, textarea, input')) x.disabled = true;
  for (const x of card.querySelectorAll('.interrupt-actions, .interrupt-answer')) x.hidden = true;
  const labels = { accept: 'approved', approve: 'approved', edit: 'approved with edits', reject: 'rejected', ignore: 'rejected', respond: 'answered', response: 'answered' };
  card.append(el('div', { class: 'interrupt-outcome' }, decision ? labels[decision] || decision : 'closed'));
}

function scrollDown() {
  const box = $('messages');
  // Follow the stream only when the reader is already at the bottom.
  if (box.scrollHeight - box.scrollTop - box.clientHeight < 120) box.scrollTop = box.scrollHeight;
}

// ------------------------------------------------------------------ files

async function loadFiles(path) {
  const data = await api('GET', '/api/v1/files?path=' + encodeURIComponent(path === '.' ? '' : path));
  state.filesPath = data.base || '.';
  renderBreadcrumbs(state.filesPath);
  const body = $('file-list');
  body.replaceChildren();
  for (const f of data.items) {
    const tr = el('tr', { 'data-path': f.path });
    const name = el('td', { class: 'name' });
    if (f.is_dir) {
      const open = el('button', { type: 'button', class: 'link dir' }, f.name + '/');
      open.addEventListener('click', () => loadFiles(f.path).catch(fail));
      name.append(open);
    } else {
      name.append(el('span', {}, f.name));
    }
    const actions = el('td', { class: 'actions' });
    const dl = el('button', { type: 'button', class: 'download' }, f.is_dir ? 'Zip' : 'Download');
    dl.addEventListener('click', () => download(f.path, f.is_dir ? f.name + '.zip' : f.name).catch(fail));
    const del = el('button', { type: 'button', class: 'danger delete' }, 'Delete');
    del.addEventListener('click', async () => {
      if (!confirm(`Delete ${f.path}${f.is_dir ? ' and everything in it' : ''}?`)) return;
      try { await api('DELETE', '/api/v1/files?path=' + encodeURIComponent(f.path)); await loadFiles(state.filesPath); } catch (e) { fail(e); }
    });
    actions.append(dl, del);
    tr.append(name, el('td', { class: 'num' }, f.is_dir ? '' : size(f.size)), el('td', { class: 'hide-narrow muted' }, f.modified_at ? when(f.modified_at) : ''), actions);
    body.append(tr);
  }
  $('files-empty').hidden = data.items.length > 0;
}

function renderBreadcrumbs(path) {
  const nav = $('breadcrumbs');
  nav.replaceChildren();
  const parts = path === '.' ? [] : path.split('/');
  const crumb = (label, target) => {
    const b = el('button', { type: 'button', class: 'link' }, label);
    b.addEventListener('click', () => loadFiles(target).catch(fail));
    nav.append(b);
  };
  crumb('Files', '.');
  parts.forEach((p, i) => { nav.append(el('span', { class: 'muted' }, ' / ')); crumb(p, parts.slice(0, i + 1).join('/')); });
}

// fetch + blob rather than a plain link: the download needs the Authorization header, not a token in the URL.
// The name saved is the one the listing gave (the server's file name), never one parsed out of Content-Disposition:
// a file may be named like a header parameter ('a";b=c; filename*=UTF-8''evil.exe; x=".txt') and a parser be fooled.
async function download(path, name) {
  const res = await fetch('/api/v1/files/download?path=' + encodeURIComponent(path), { headers: { Authorization: 'Bearer ' + state.token } });
  if (!res.ok) { await readJson(res); return; }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// XMLHttpRequest, not fetch: only it reports upload progress.
function upload(file) {
  const row = el('li', { class: 'upload' });
  const bar = el('progress', { max: '100', value: '0' });
  const label = el('span', { class: 'upload-state muted' }, '0%');
  row.append(el('span', { class: 'upload-name' }, file.name), bar, label);
  $('uploads').append(row);
  return new Promise((resolve) => {
    const form = new FormData();
    if (state.filesPath !== '.') form.append('dir', state.filesPath);
    form.append('filename', file.name);
    form.append('file', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/files/upload');
    xhr.setRequestHeader('Authorization', 'Bearer ' + state.token);
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      const pct = Math.floor((e.loaded / e.total) * 100);
      bar.value = pct;
      label.textContent = pct + '%';
    };
    xhr.onload = () => {
      let json = null;
      try { json = JSON.parse(xhr.responseText); } catch { /* reported below */ }
      if (xhr.status >= 200 && xhr.status < 300) {
        bar.value = 100;
        label.textContent = 'done';
        row.classList.add('done');
        setTimeout(() => row.remove(), 4000);
      } else {
        if (xhr.status === 401) signOut('Your token was rejected (401): sign in again.');
        label.textContent = (json && json.error) || `failed (${xhr.status})`;
        row.classList.add('failed');
      }
      resolve();
    };
    xhr.onerror = () => { label.textContent = 'network error'; row.classList.add('failed'); resolve(); };
    xhr.send(form);
  });
}

// ------------------------------------------------------------------ memory

async function loadMemories(reset) {
  if (reset) state.memoryOffset = 0;
  const q = $('memory-query').value.trim();
  const limit = 50;
  const qs = new URLSearchParams({ limit: String(limit), offset: String(state.memoryOffset) });
  if (q) qs.set('q', q);
  const data = await api('GET', '/api/v1/memories?' + qs);
  const list = $('memory-list');
  if (reset) list.replaceChildren();
  for (const m of data.items) {
    const li = el('li', { class: 'memory-item', 'data-id': m.id });
    const text = el('div', { class: 'memory-content' }, m.content);
    const meta = el('div', { class: 'memory-meta muted' }, when(m.created_at) + (m.tags?.length ? ' · ' + m.tags.join(', ') : '') + (m.score != null ? ` · score ${m.score.toFixed(2)}` : ''));
    const del = el('button', { type: 'button', class: 'danger' }, 'Delete');
    del.addEventListener('click', async () => {
      try { await api('DELETE', '/api/v1/memories/' + encodeURIComponent(m.id)); li.remove(); } catch (e) { fail(e); }
    });
    li.append(el('div', { class: 'memory-body' }, text, meta), del);
    list.append(li);
  }
  state.memoryOffset += data.items.length;
  $('memory-summary').textContent = data.total === 0 ? (q ? 'No memory matches.' : 'No memories yet.') : `${data.total} ${q ? 'matching' : ''} memor${data.total === 1 ? 'y' : 'ies'}`;
  $('memory-more').hidden = state.memoryOffset >= data.total;
}

// ------------------------------------------------------------------ tools

// The tools the agent can use now (built-in and those of the deployment's MCP servers), as a worker reports them.
async function loadTools() {
  const data = await api('GET', '/api/v1/tools');
  const rows = data.items.map((t) => el('tr', { 'data-tool': t.name },
    el('td', {}, el('code', {}, t.name)),
    el('td', {}, t.source),
    el('td', {}, t.needs_approval ? 'asks first' : 'runs directly'),
    el('td', { class: 'hide-narrow muted' }, t.description)));
  $('tool-list').replaceChildren(...rows);
  $('tools-summary').textContent = `${data.items.length} tool${data.items.length === 1 ? '' : 's'}; calls marked "asks first" wait for your approval in the chat.`;
  $('tools-down').replaceChildren(...data.unavailable.map((u) =>
    el('li', { class: 'memory-item', 'data-server': u.server }, `Tool server ${u.server} is unavailable: ${u.reason}`)));
}

// ------------------------------------------------------------------ usage

// This month's model tokens (the API's default period), by day and by model, and where the budgets stand.
async function loadUsage() {
  const u = await api('GET', '/api/v1/usage');
  const n = (x) => x.toLocaleString('en-US');
  $('usage-summary').textContent = `This month: ${n(u.totals.total_tokens)} tokens (${n(u.totals.input_tokens)} in, ${n(u.totals.output_tokens)} out) in ${n(u.totals.model_calls)} model calls over ${n(u.totals.tasks)} tasks.`;
  const b = u.budget;
  const parts = [];
  if (b.tokens_per_day != null) parts.push(`today ${n(b.used_today)} of ${n(b.tokens_per_day)} tokens (resets ${b.day_resets_at})`);
  if (b.tokens_per_month != null) parts.push(`this month ${n(b.used_this_month)} of ${n(b.tokens_per_month)} tokens (resets ${b.month_resets_at})`);
  if (b.concurrent_tasks != null) parts.push(`${b.active_tasks} of ${b.concurrent_tasks} tasks at once`);
  $('usage-budget').textContent = parts.length ? 'Budget: ' + parts.join('; ') + '.' : 'No budget limits your use.';
  $('usage-days').replaceChildren(...u.by_day.map((d) => el('tr', { 'data-day': d.day },
    el('td', {}, d.day), el('td', {}, n(d.usage.input_tokens)), el('td', {}, n(d.usage.output_tokens)),
    el('td', {}, n(d.usage.model_calls)), el('td', {}, n(d.usage.tasks)))));
  $('usage-models').replaceChildren(...u.by_model.map((m) => el('tr', { 'data-model': m.model },
    el('td', {}, el('code', {}, m.model)), el('td', {}, n(m.usage.input_tokens)), el('td', {}, n(m.usage.output_tokens)),
    el('td', { class: 'hide-narrow' }, n(m.usage.reasoning_tokens)))));
}

// ------------------------------------------------------------------ webhooks

async function loadWebhooks() {
  const data = await api('GET', '/api/v1/webhooks');
  $('webhook-list').replaceChildren(...data.items.map((w) => {
    const show = el('button', { type: 'button', class: 'link' }, 'Deliveries');
    show.addEventListener('click', () => loadDeliveries(w).catch(fail));
    const remove = el('button', { type: 'button', class: 'link' }, 'Delete');
    remove.addEventListener('click', async () => {
      if (!confirm(`Delete the webhook to ${w.url}? Nothing more is sent to it.`)) return;
      try { await api('DELETE', `/api/v1/webhooks/${encodeURIComponent(w.webhook_id)}`); $('deliveries').hidden = $('deliveries-title').hidden = true; await loadWebhooks(); } catch (err) { fail(err); }
    });
    return el('tr', { 'data-webhook': w.webhook_id },
      el('td', {}, el('code', {}, w.url)), el('td', { class: 'hide-narrow muted' }, w.events.join(', ')),
      el('td', {}, w.all_tasks ? 'all' : 'named with webhook_url'), el('td', {}, show, ' ', remove));
  }));
}

// A webhook's delivery log: each event sent to it, its attempts, and "send again".
async function loadDeliveries(w) {
  const data = await api('GET', `/api/v1/webhooks/${encodeURIComponent(w.webhook_id)}/deliveries`);
  $('deliveries-title').textContent = `Deliveries to ${w.url}`;
  $('deliveries-title').hidden = $('deliveries').hidden = false;
  $('delivery-list').replaceChildren(...data.items.map((d) => {
    const last = d.attempt_log[d.attempt_log.length - 1];
    const again = el('button', { type: 'button', class: 'link' }, 'Send again');
    again.addEventListener('click', async () => {
      try { await api('POST', `/api/v1/webhooks/${encodeURIComponent(w.webhook_id)}/deliveries/${encodeURIComponent(d.delivery_id)}/resend`); await loadDeliveries(w); } catch (err) { fail(err); }
    });
    return el('tr', { 'data-delivery': d.delivery_id },
      el('td', {}, d.event_type), el('td', {}, el('code', {}, d.task_id)), el('td', { class: 'status' }, d.status),
      el('td', {}, String(d.attempts)),
      el('td', { class: 'hide-narrow muted' }, last ? `${last.status_code ?? '—'} in ${Math.round(last.latency_ms)} ms${last.error ? ': ' + last.error : ''}` : 'not yet'),
      el('td', {}, again));
  }));
}

// ------------------------------------------------------------------ helpers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== '' && v != null) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}
const pretty = (v) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v, null, 2));
const when = (unix) => (unix ? new Date(unix * 1000).toLocaleString() : '');
function size(n) {
  if (n < 1024) return n + ' B';
  const units = ['KB', 'MB', 'GB', 'TB'];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
  return n.toFixed(n < 10 ? 1 : 0) + ' ' + units[i];
}
function setSidebar(open) {
  $('sidebar').classList.toggle('open', open);
  $('toggle-sidebar').setAttribute('aria-expanded', String(open));
}

// ------------------------------------------------------------------ wiring

document.addEventListener('DOMContentLoaded', () => {
  $('signin-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('token-input').value); });
  $('signout').addEventListener('click', () => signOut());
  $('banner-close').addEventListener('click', () => { $('banner').hidden = true; });
  $('new-conversation').addEventListener('click', () => newConversation().catch(fail));
  $('toggle-sidebar').addEventListener('click', () => setSidebar(!$('sidebar').classList.contains('open')));
  $('composer').addEventListener('submit', (e) => { e.preventDefault(); send(); });
  $('message-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  $('cancel-task').addEventListener('click', cancelTask);
  $('upload-input').addEventListener('change', async (e) => {
    const files = [...e.target.files];
    e.target.value = '';
    for (const f of files) await upload(f);
    loadFiles(state.filesPath).catch(fail);
  });
  $('zip-folder').addEventListener('click', () =>
    download(state.filesPath, (state.filesPath === '.' ? 'files' : state.filesPath.split('/').pop()) + '.zip').catch(fail));
  $('memory-search').addEventListener('submit', (e) => { e.preventDefault(); loadMemories(true).catch(fail); });
  $('memory-add').addEventListener('submit', async (e) => {
    e.preventDefault();
    const content = $('memory-content').value.trim();
    if (!content) return;
    try { await api('POST', '/api/v1/memories', { content }); $('memory-content').value = ''; await loadMemories(true); } catch (err) { fail(err); }
  });
  $('memory-more').addEventListener('click', () => loadMemories(false).catch(fail));
  $('webhook-add').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const created = await api('POST', '/api/v1/webhooks', { url: $('webhook-url').value.trim(), all_tasks: $('webhook-all').checked });
      $('webhook-secret-value').textContent = created.secret;
      $('webhook-secret').hidden = false;
      $('webhook-url').value = '';
      await loadWebhooks();
    } catch (err) { fail(err); }
  });
  window.addEventListener('hashchange', route);
  if (state.token) signIn(state.token); else signOut();
});
