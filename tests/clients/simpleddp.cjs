'use strict';
// Driver: simpleddp (+ simpleddp-plugin-login) on `ws`, EJSON both ways.
//
// Run: node simpleddp.cjs '<json config>'
// simpleddp offers only `support: ["1"]` and EJSON-escapes literal `$`-keyed objects, so it is
// the client that checks EJSON round trips ($date, $binary, $escape). Config params are EJSON
// JSON-values: `{"$date": 5}` becomes a real Date before the client sends it. With
// `"login_mode": "plain"` it sends the password in plaintext, as it does when given a string.
const EJSON = require('ejson');
const WebSocket = require('ws');
const simpleDDP = require('simpleddp');
const { simpleDDPLogin } = require('simpleddp-plugin-login');
const common = require('./driver_common.cjs');
const VERSION = require('simpleddp/package.json').version;

common.runDriver('simpleddp', VERSION, async (report, cfg) => {
  const ms = cfg.step_timeout_ms || common.DEFAULT_STEP_MS;
  const server = new simpleDDP({
    endpoint: cfg.url,
    SocketConstructor: WebSocket,
    autoConnect: false,
    autoReconnect: false,
    maxTimeout: ms,
  }, [simpleDDPLogin]);
  const sock = server.ddpConnection.socket;
  sock.on('message:in', (obj) => report.frameIn(EJSON.stringify(obj)));
  sock.on('message:out', (obj) => report.frameOut(EJSON.stringify(obj)));

  await report.step('connect', () => server.connect(), ms);
  report.set('connected', { session: server.ddpConnection.sessionId });
  const closeEvent = new Promise((resolve) => {
    sock.rawSocket.addEventListener('close', (ev) => resolve({ code: ev.code, reason: ev.reason }));
  });

  const mode = cfg.login_mode || 'digest';
  if (mode !== 'none') {
    await report.step('login', async () => {
      try {
        report.set('login', common.loginSummary(await server.login(common.loginParams(cfg))));
      } catch (err) {
        report.set('login', { error: common.errorInfo(err) });
      }
    }, ms);
    const token = report.data.login && report.data.login.token;
    if (cfg.resume_after && token) {
      await report.step('resume', async () => {
        try {
          report.set('resume', common.loginSummary(await server.login({ resume: token })));
        } catch (err) {
          report.set('resume', { error: common.errorInfo(err) });
        }
      }, ms);
    }
  }

  for (const call of common.callsOf(cfg)) {
    await report.step(`method ${call.method}`, async () => {
      try {
        const result = await server.apply(call.method, EJSON.fromJSONValue(call.params || []));
        report.data.calls.push({
          method: call.method,
          result: result === undefined ? null : EJSON.toJSONValue(result),
          // What the client decoded, so a test can see that `$date` arrived as a Date.
          result_types: typeof result === 'object' && result !== null
            ? Object.fromEntries(Object.entries(result).map(([k, v]) => [k, v instanceof Date ? 'Date'
              : (v instanceof Uint8Array ? 'Uint8Array' : typeof v)]))
            : typeof result,
        });
      } catch (err) {
        report.data.calls.push({ method: call.method, error: common.errorInfo(err) });
      }
    }, ms);
  }

  if (cfg.subscription) {
    const { name, params = [] } = cfg.subscription;
    const sub = server.subscribe(name, ...EJSON.fromJSONValue(params));
    await report.step(`subscribe ${name}`, async () => {
      try {
        await sub.ready();
        report.set('subscription', { name, id: sub.subscriptionId, ready: true });
      } catch (err) {
        report.set('subscription', { name, id: sub.subscriptionId, ready: false, error: common.errorInfo(err) });
      }
    }, ms);
    if (cfg.unsubscribe && report.data.subscription.ready) {
      await report.step(`unsubscribe ${name}`, async () => {
        const gone = sub.nosub();
        sub.stop();
        await gone;
        report.data.subscription.nosub = true;
      }, ms);
    }
  }

  await report.step('disconnect', async () => {
    await server.disconnect();
    report.set('close', await closeEvent);
  }, ms);
}, { tolerateUnhandled: true });
