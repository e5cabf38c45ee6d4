'use strict';
// Driver: `ddp` (oortcloud node-ddp-client) on faye-websocket, EJSON on the wire.
//
// Run: node ddp_oortcloud.cjs '<json config>'   (add "sockjs": true for useSockJs)
// With useSockJs the client first GETs /sockjs/info and then opens a raw (unframed) WebSocket
// at `base_url + /websocket`, or `/websocket` when the info has no base_url; the report says
// which URL it ended up on. It answers pings, retries with the server's version after
// `failed`, and has no login helper: login is a plain `call('login', [...])`.
const common = require('./driver_common.cjs');
const DDPClient = require('ddp');
const VERSION = require('ddp/package.json').version;

// Record the SockJS info probe the client makes with `request` (same module instance).
const request = require('request');
const probes = [];
const requestGet = request.get;
request.get = function get(opts, cb) {
  const url = typeof opts === 'string' ? opts : opts.url;
  return requestGet.call(this, opts, (err, res, body) => {
    probes.push({ url, status: res ? res.statusCode : null, error: err ? String(err) : null, body });
    cb(err, res, body);
  });
};

function callP(client, method, params) {
  return new Promise((resolve) => {
    client.call(method, params, (err, result) => resolve({ err, result }));
  });
}

common.runDriver('ddp', VERSION, async (report, cfg) => {
  const ms = cfg.step_timeout_ms || common.DEFAULT_STEP_MS;
  const u = new URL(cfg.url);
  const opts = {
    host: u.hostname,
    port: Number(u.port),
    autoReconnect: false,
    maintainCollections: true,
    useSockJs: Boolean(cfg.sockjs),
  };
  // With useSockJs the path prefixes the info probe (`<path>/sockjs/info`), so only the raw
  // WebSocket mode takes the URL's path.
  if (!opts.useSockJs) opts.path = u.pathname.replace(/^\//, '') || 'websocket';
  if (cfg.ddp_version) opts.ddpVersion = cfg.ddp_version;
  report.set('options', { useSockJs: opts.useSockJs, ddpVersion: opts.ddpVersion || '1' });
  const client = new DDPClient(opts);
  client.on('message', (raw) => report.frameIn(raw));
  const send = client._send.bind(client);
  client._send = (data) => {
    report.frameOut(client.EJSON.stringify(data));
    send(data);
  };
  const closeEvent = new Promise((resolve) => {
    client.on('socket-close', (code, reason) => resolve({ code, reason }));
  });

  await report.step('connect', () => new Promise((resolve, reject) => {
    client.connect((err) => (err ? reject(new Error(`connect failed: ${err}`)) : resolve()));
  }), ms);
  report.set('connected', { session: client.session ?? null, ddp_version: client.ddpVersion });
  report.set('socket_url', client.socket && client.socket.url);
  report.set('http_probes', probes);

  const mode = cfg.login_mode || 'digest';
  if (mode !== 'none') {
    await report.step('login', async () => {
      const { err, result } = await callP(client, 'login', [common.loginParams(cfg)]);
      report.set('login', err ? { error: common.errorInfo(err) } : common.loginSummary(result));
    }, ms);
    const token = report.data.login && report.data.login.token;
    if (cfg.resume_after && token) {
      await report.step('resume', async () => {
        const { err, result } = await callP(client, 'login', [{ resume: token }]);
        report.set('resume', err ? { error: common.errorInfo(err) } : common.loginSummary(result));
      }, ms);
    }
  }

  for (const call of common.callsOf(cfg)) {
    await report.step(`method ${call.method}`, async () => {
      // The result and `updated` both count: Meteor clients only settle a call on both.
      let updated;
      const gotUpdated = new Promise((resolve) => { updated = resolve; });
      const res = await new Promise((resolve) => {
        // Config params are EJSON JSON-values; hand the client real Dates etc.
        const params = client.EJSON.fromJSONValue(call.params || []);
        client.call(call.method, params, (err, result) => resolve({ err, result }), () => updated(true));
      });
      const entry = { method: call.method };
      if (res.err) entry.error = common.errorInfo(res.err);
      else entry.result = res.result === undefined ? null : client.EJSON.toJSONValue(res.result);
      entry.updated = await gotUpdated;
      report.data.calls.push(entry);
    }, ms);
  }

  if (cfg.subscription) {
    const { name, params = [] } = cfg.subscription;
    await report.step(`subscribe ${name}`, () => new Promise((resolve) => {
      const id = client.subscribe(name, params, (err) => {
        report.set('subscription', err
          ? { name, id, ready: false, error: common.errorInfo(err) }
          : { name, id, ready: true });
        resolve();
      });
    }), ms);
    if (cfg.unsubscribe && report.data.subscription.ready) {
      await report.step(`unsubscribe ${name}`, () => new Promise((resolve) => {
        const id = report.data.subscription.id;
        // The client has no nosub hook for unsub; watch the raw frames for it.
        client.on('message', (raw) => {
          const msg = JSON.parse(raw);
          if (msg.msg === 'nosub' && msg.id === id) {
            report.data.subscription.nosub = msg;
            resolve();
          }
        });
        client.unsubscribe(id);
      }), ms);
    }
    report.data.subscription.collections = client.collections || {};
  }

  await report.step('disconnect', async () => {
    client.close();
    report.set('close', await closeEvent);
  }, ms);
});
