'use strict';
// Shared plumbing for the real-client driver scripts.
//
// Each driver runs one real third-party DDP client through the same scenario (connect, login,
// method calls, subscribe + ready, disconnect) and prints ONE JSON object on stdout. The pytest
// side asserts on that object, so every driver reports the same shape; this module owns that
// shape, the per-step timeouts (a driver must never hang the test run) and the config parsing.

const crypto = require('node:crypto');
const fs = require('node:fs');

const DEFAULT_STEP_MS = 5000;
const DEFAULT_HARD_MS = 30000;
const MAX_FRAMES = 200;

/** Read the JSON config given as argv[2] (inline JSON, or `@path` to a JSON file). */
function readConfig(argv = process.argv) {
  const raw = argv[2];
  if (!raw) {
    throw new Error('usage: node <driver> \'{"url": "ws://127.0.0.1:P/websocket", ...}\'');
  }
  const text = raw.startsWith('@') ? fs.readFileSync(raw.slice(1), 'utf8') : raw;
  const cfg = JSON.parse(text);
  if (typeof cfg.url !== 'string') throw new Error('config.url is required');
  return cfg;
}

/** Meteor's accounts-password digest: the lowercase hex SHA-256 of the UTF-8 password. */
function sha256hex(text) {
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The `login` params object for this config. `login_mode` picks the shape a given real client
 * sends: "digest" (Meteor's `{digest, algorithm}`), "plain" (asteroid/simpleddp with a string)
 * or "resume" (a token from a previous login).
 */
function loginParams(cfg) {
  const mode = cfg.login_mode || 'digest';
  if (mode === 'resume') return { resume: cfg.resume_token };
  const user = { username: cfg.username };
  if (mode === 'plain') return { user, password: cfg.password };
  return { user, password: { digest: sha256hex(cfg.password), algorithm: 'sha-256' } };
}

/** The method calls to make: `calls` if given, else the single `method` + `params`. */
function callsOf(cfg) {
  if (Array.isArray(cfg.calls)) return cfg.calls;
  if (cfg.method) return [{ method: cfg.method, params: cfg.params || [] }];
  return [];
}

/** Reduce whatever a client rejects with to the DDP error fields the tests compare. */
function errorInfo(err) {
  if (err === undefined || err === null) return null;
  if (typeof err !== 'object') return { message: String(err) };
  const out = {};
  for (const k of ['error', 'reason', 'message', 'errorType', 'details', 'code']) {
    if (err[k] !== undefined) out[k] = err[k];
  }
  if (Object.keys(out).length === 0) out.message = String(err);
  return out;
}

/** Drop the secret parts of a login result while keeping what tests assert on. */
function loginSummary(result) {
  if (!result || typeof result !== 'object') return { raw: result };
  const exp = result.tokenExpires;
  let tokenExpires = exp;
  if (exp instanceof Date) tokenExpires = { $date: exp.getTime(), decoded_as: 'Date' };
  return {
    id: result.id,
    token: result.token,
    token_present: typeof result.token === 'string' && result.token.length > 0,
    tokenExpires,
    type: result.type,
  };
}

class Report {
  /** Collects what the driver observed; `print()` is the driver's only stdout output. */
  constructor(client, version) {
    this.data = { client, client_version: version, ok: false, steps: [], calls: [] };
    this.frames = { in: [], out: [] };
    this.t0 = Date.now();
    this.printed = false;
  }

  frameIn(raw) { this._frame('in', raw); }
  frameOut(raw) { this._frame('out', raw); }

  _frame(dir, raw) {
    const list = this.frames[dir];
    if (list.length >= MAX_FRAMES) return;
    let text = raw;
    if (typeof raw !== 'string') text = Buffer.isBuffer(raw) ? raw.toString('utf8') : JSON.stringify(raw);
    list.push(text);
  }

  set(key, value) { this.data[key] = value; }

  /** Run one step with a timeout; records its name, duration and outcome. */
  async step(name, fn, ms = DEFAULT_STEP_MS) {
    const started = Date.now();
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms in step '${name}'`)), ms);
    });
    try {
      const value = await Promise.race([Promise.resolve().then(fn), timeout]);
      this.data.steps.push({ name, ok: true, ms: Date.now() - started });
      return value;
    } catch (err) {
      this.data.steps.push({ name, ok: false, ms: Date.now() - started, error: errorInfo(err) });
      err.failedStep = name;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  print(ok, err) {
    if (this.printed) return;
    this.printed = true;
    this.data.ok = ok;
    if (err) {
      this.data.error = errorInfo(err);
      this.data.failed_step = err.failedStep || null;
    }
    this.data.frames = this.frames;
    this.data.elapsed_ms = Date.now() - this.t0;
    process.stdout.write(JSON.stringify(this.data) + '\n');
  }
}

/**
 * Run `main(report, cfg)` under a hard deadline; print the report and exit 0 on success,
 * 1 on failure. The hard deadline guards against clients that swallow errors and never
 * settle a promise. `tolerateUnhandled` is for clients that leave internal promises
 * unhandled by design (simpleddp rejects a hidden `ready()` promise on `nosub`): those are
 * recorded in the report instead of failing the run.
 */
function runDriver(client, version, main, { tolerateUnhandled = false } = {}) {
  let cfg;
  let report = new Report(client, version);
  try {
    cfg = readConfig();
  } catch (err) {
    report.print(false, err);
    process.exit(2);
  }
  const hardMs = cfg.hard_timeout_ms || DEFAULT_HARD_MS;
  const hard = setTimeout(() => {
    report.print(false, new Error(`hard timeout after ${hardMs} ms`));
    process.exit(3);
  }, hardMs);
  process.on('unhandledRejection', (err) => {
    if (tolerateUnhandled) {
      (report.data.unhandled_rejections ||= []).push(errorInfo(err));
      return;
    }
    report.print(false, err instanceof Error ? err : new Error(`unhandled rejection: ${JSON.stringify(err)}`));
    process.exit(4);
  });
  Promise.resolve()
    .then(() => main(report, cfg))
    .then(() => {
      report.print(true);
      clearTimeout(hard);
      // Let stdout drain; a client that left a timer behind must not keep us alive.
      setImmediate(() => process.exit(0));
    })
    .catch((err) => {
      report.print(false, err);
      clearTimeout(hard);
      setImmediate(() => process.exit(1));
    });
}

/** Resolve when `emitter` fires `event` once (ws/EventEmitter style `.once`). */
function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

module.exports = {
  DEFAULT_STEP_MS,
  callsOf,
  errorInfo,
  loginParams,
  loginSummary,
  once,
  readConfig,
  runDriver,
  sha256hex,
};
