'use strict';
// Driver: sockjs-client, the transport Meteor's browser client and the Rocket.Chat web app use.
//
// Run: node sockjs_client.cjs '<json config>'
// sockjs-client is not a DDP client, so this driver speaks DDP itself (connect, login, method,
// sub, ping/pong) through the SockJS socket. It forces the `websocket` transport: the client
// GETs `<base>/sockjs/info`, then opens `<base>/sockjs/<3 digits>/<8 chars>/websocket` and
// exchanges SockJS frames (`o`, `h`, `a[...]`, `c[...]`). The raw frames are recorded by
// wrapping the transport's own emit/send, so the report shows the framing the server used.
const SockJS = require('sockjs-client');
const WebSocketTransport = require('sockjs-client/lib/transport/websocket');
const common = require('./driver_common.cjs');
const VERSION = require('sockjs-client/package.json').version;

const rawIn = [];
const rawOut = [];
const transportUrls = [];
const MAX_RAW = 200;
const origEmit = WebSocketTransport.prototype.emit;
WebSocketTransport.prototype.emit = function emit(event, ...args) {
  if (event === 'message' && rawIn.length < MAX_RAW) rawIn.push(String(args[0]));
  if (!transportUrls.includes(this.url)) transportUrls.push(this.url);
  return origEmit.call(this, event, ...args);
};
const origSend = WebSocketTransport.prototype.send;
WebSocketTransport.prototype.send = function send(data) {
  if (rawOut.length < MAX_RAW) rawOut.push(`[${data}]`);
  return origSend.call(this, data);
};

/** A minimal DDP session over one SockJS socket: the pieces this scenario needs. */
class MiniDDP {
  constructor(sock, report) {
    this.sock = sock;
    this.report = report;
    this.nextId = 1;
    this.waiters = new Map();
    this.connected = null;
    this.onConnected = null;
    this.pings = 0;
    sock.onmessage = (ev) => this._message(ev.data);
  }

  send(msg) {
    const text = JSON.stringify(msg);
    this.report.frameOut(text);
    this.sock.send(text);
  }

  _message(text) {
    this.report.frameIn(text);
    const msg = JSON.parse(text);
    if (msg.msg === 'connected' || msg.msg === 'failed') {
      this.connected = msg;
      if (this.onConnected) this.onConnected(msg);
    } else if (msg.msg === 'ping') {
      this.pings += 1;
      this.send(msg.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: msg.id });
    } else if (msg.msg === 'result' || msg.msg === 'nosub') {
      this._settle(msg.id, msg.msg, msg);
    } else if (msg.msg === 'updated') {
      for (const id of msg.methods) this._settle(id, 'updated', msg);
    } else if (msg.msg === 'ready') {
      for (const id of msg.subs) this._settle(id, 'ready', msg);
    }
  }

  _settle(id, kind, msg) {
    const w = this.waiters.get(id);
    if (!w) return;
    w.got[kind] = msg;
    if (w.done(w.got)) {
      this.waiters.delete(id);
      w.resolve(w.got);
    }
  }

  _await(id, done) {
    return new Promise((resolve) => this.waiters.set(id, { got: {}, done, resolve }));
  }

  connect() {
    return new Promise((resolve, reject) => {
      this.onConnected = (msg) => (msg.msg === 'connected' ? resolve(msg) : reject(new Error(`failed: ${msg.version}`)));
      this.send({ msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] });
    });
  }

  /** Resolves once both `result` and `updated` arrived, as Meteor's client requires. */
  async call(method, params) {
    const id = String(this.nextId++);
    const got = this._await(id, (g) => g.result && g.updated);
    this.send({ msg: 'method', id, method, params });
    const { result } = await got;
    return result;
  }

  async sub(name, params) {
    const id = String(this.nextId++);
    const got = this._await(id, (g) => g.ready || g.nosub);
    this.send({ msg: 'sub', id, name, params });
    return { id, ...(await got) };
  }

  async unsub(id) {
    const got = this._await(id, (g) => g.nosub);
    this.send({ msg: 'unsub', id });
    return (await got).nosub;
  }
}

function methodOutcome(method, frame) {
  if (frame.error) return { method, error: common.errorInfo(frame.error) };
  return { method, result: frame.result === undefined ? null : frame.result };
}

common.runDriver('sockjs-client', VERSION, async (report, cfg) => {
  const ms = cfg.step_timeout_ms || common.DEFAULT_STEP_MS;
  const base = cfg.http || cfg.url.replace(/^ws/, 'http').replace(/\/websocket$/, '');
  const sock = new SockJS(`${base}/sockjs`, null, { transports: ['websocket'], timeout: ms });
  const ddp = new MiniDDP(sock, report);
  let heartbeats = 0;
  sock.addEventListener('heartbeat', () => { heartbeats += 1; });
  const closeEvent = new Promise((resolve) => {
    sock.addEventListener('close', (ev) => resolve({ code: ev.code, reason: ev.reason, wasClean: ev.wasClean }));
  });

  await report.step('sockjs open', () => new Promise((resolve, reject) => {
    sock.onopen = () => resolve();
    closeEvent.then((ev) => reject(new Error(`closed before open: ${JSON.stringify(ev)}`)));
  }), ms);
  report.set('transport', sock.transport);

  const connected = await report.step('connect', () => ddp.connect(), ms);
  report.set('connected', { session: connected.session ?? null });

  const mode = cfg.login_mode || 'digest';
  if (mode !== 'none') {
    await report.step('login', async () => {
      const frame = await ddp.call('login', [common.loginParams(cfg)]);
      report.set('login', frame.error ? { error: common.errorInfo(frame.error) } : common.loginSummary(frame.result));
    }, ms);
    const token = report.data.login && report.data.login.token;
    if (cfg.resume_after && token) {
      await report.step('resume', async () => {
        const frame = await ddp.call('login', [{ resume: token }]);
        report.set('resume', frame.error ? { error: common.errorInfo(frame.error) } : common.loginSummary(frame.result));
      }, ms);
    }
  }

  for (const call of common.callsOf(cfg)) {
    await report.step(`method ${call.method}`, async () => {
      report.data.calls.push(methodOutcome(call.method, await ddp.call(call.method, call.params || [])));
    }, ms);
  }

  if (cfg.subscription) {
    const { name, params = [] } = cfg.subscription;
    await report.step(`subscribe ${name}`, async () => {
      const got = await ddp.sub(name, params);
      report.set('subscription', got.ready
        ? { name, id: got.id, ready: true }
        : { name, id: got.id, ready: false, error: common.errorInfo(got.nosub.error) });
    }, ms);
    if (cfg.unsubscribe && report.data.subscription.ready) {
      await report.step(`unsubscribe ${name}`, async () => {
        report.data.subscription.nosub = await ddp.unsub(report.data.subscription.id);
      }, ms);
    }
  }

  await report.step('disconnect', async () => {
    sock.close(1000, 'Normal closure');
    report.set('close', await closeEvent);
  }, ms);
  report.set('server_pings', ddp.pings);
  report.set('sockjs_heartbeats', heartbeats);
  report.set('transport_urls', transportUrls);
  report.set('raw_frames', { in: rawIn, out: rawOut });
});
