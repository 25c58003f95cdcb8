// pmops Newman driver: runs one collection with Newman as a library and writes one JSON line per event to
// stdout, for the Go side (internal/newman) to read. It takes one argument, the path of an options file that
// the Go side wrote (mode 0600); nothing else comes from the command line or the environment.
'use strict';

const fs = require('fs');

const MAX_TEXT = 1000; // longest message or URL sent back; the Go side clips further

function clip(s) {
  s = String(s === undefined || s === null ? '' : s);
  return s.length > MAX_TEXT ? s.slice(0, MAX_TEXT - 1) + '…' : s;
}

let out = [];
let writing = false;
let finished = false; // set at the first done event
function emit(obj) {
  out.push(JSON.stringify(obj) + '\n');
  flush();
  if (finished) armExit();
}
function flush(cb) {
  if (writing) { if (cb) setTimeout(() => flush(cb), 5); return; }
  if (out.length === 0) { if (cb) cb(); return; }
  const chunk = out.join('');
  out = [];
  writing = true;
  process.stdout.write(chunk, () => { writing = false; flush(cb); });
}
function finish(code) {
  flush(() => process.exit(code));
}

process.on('uncaughtException', (err) => {
  emit({ e: 'fatal', message: clip(err && err.message || err) });
  finish(3);
});

const opts = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
let newman;
try {
  newman = require(opts.newman);
} catch (err) {
  emit({ e: 'fatal', message: 'cannot load newman from ' + opts.newman + ': ' + clip(err.message) });
  finish(3);
  return;
}
const version = (() => {
  try { return require(opts.newman + '/package.json').version; } catch (_) { return ''; }
})();

const runOpts = {
  collection: opts.collection,
  reporters: [],
  workingDir: opts.workingDir,
  insecureFileRead: false,
  color: 'off',
};
for (const k of ['environment', 'globals', 'iterationData', 'iterationCount', 'folder', 'bail', 'timeout',
  'timeoutRequest', 'timeoutScript', 'delayRequest', 'envVar', 'globalVar', 'insecure', 'ignoreRedirects']) {
  if (opts[k] !== undefined && opts[k] !== null) runOpts[k] = opts[k];
}

// Per-item state, keyed by the cursor's ref (one per execution of an item).
const current = new Map();
function stateOf(cursor, item) {
  const ref = cursor && cursor.ref || '';
  let s = current.get(ref);
  if (!s) {
    s = {
      e: 'item', ref: ref, name: item && item.name || '', id: item && item.id || '',
      iteration: cursor && cursor.iteration || 0, position: cursor && cursor.position || 0,
      assertions: [], errors: [],
    };
    current.set(ref, s);
  }
  return s;
}

const run = newman.run(runOpts, () => {});

run.on('start', (err, o) => {
  const c = o && o.cursor || {};
  emit({ e: 'start', version, length: c.length || 0, cycles: c.cycles || 0 });
});

run.on('request', (err, o) => {
  const s = stateOf(o.cursor, o.item);
  if (o.request) {
    s.method = o.request.method;
    try { s.url = clip(o.request.url.toString()); } catch (_) { s.url = ''; }
  }
  if (err) {
    s.errors.push(clip((err.code ? err.code + ': ' : '') + (err.message || err)));
  }
  if (o.response) {
    s.code = o.response.code;
    s.status = o.response.status;
    s.ms = o.response.responseTime;
    s.size = o.response.responseSize;
  }
});

run.on('assertion', (err, o) => {
  const s = stateOf(o.cursor, o.item);
  const a = { name: clip(o.assertion) };
  if (o.skipped) a.skipped = true;
  if (err) a.error = clip(err.message || err.test || 'failed');
  s.assertions.push(a);
});

run.on('script', (err, o) => {
  if (!err) return;
  const ref = o.cursor && o.cursor.ref || '';
  const open = current.has(ref);
  const s = stateOf(o.cursor, o.item);
  const where = o.event && o.event.listen === 'prerequest' ? 'pre-request script' : 'test script';
  s.errors.push(clip(where + ': ' + (err.name ? err.name + ': ' : '') + (err.message || err)));
  // A script timeout is reported after its item ended, even after 'done': send it at once; the Go side merges
  // it into the item with the same ref.
  if (finished || !open) {
    current.delete(ref);
    emit(s);
  }
});

run.on('item', (err, o) => {
  const s = stateOf(o.cursor, o.item);
  current.delete(o.cursor && o.cursor.ref || '');
  if (err) s.errors.push(clip(err.message || err));
  emit(s);
});

run.on('done', (err, summary) => {
  const r = summary && summary.run || {};
  const t = r.timings || {};
  const done = {
    e: 'done',
    stats: r.stats || {},
    started: t.started || 0,
    completed: t.completed || 0,
    failures: (r.failures || []).length,
  };
  const runErr = err || r.error;
  if (runErr) done.error = clip(runErr.message || runErr);
  // Items still open were interrupted (bail, timeout): report what is known of them.
  for (const s of current.values()) emit(s);
  current.clear();
  emit(done);
  finished = true;
  armExit();
});

// After a script timeout the runtime reports 'item' and 'done' again with the final numbers (the Go side keeps
// the last 'done'), so the driver exits once events have stopped for a moment after the first 'done'.
let exitTimer = null;
function armExit() {
  if (exitTimer) clearTimeout(exitTimer);
  exitTimer = setTimeout(() => finish(0), 250);
}
