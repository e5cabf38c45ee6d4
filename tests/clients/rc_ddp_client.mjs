// Driver: @rocket.chat/ddp-client (the SDK Rocket.Chat's current web client is built on).
//
// Run: node --experimental-websocket rc_ddp_client.mjs '<json config>'
// Without a global WebSocket (Node 20 without the flag) it falls back to `ws`, which is what
// the SDK's own users do on Node. The SDK takes an http(s) URL and opens `<host>/websocket`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const common = require('./driver_common.cjs');
const { DDPSDK } = require('@rocket.chat/ddp-client');
const VERSION = require('@rocket.chat/ddp-client/package.json').version;

let websocketImpl = 'global';
if (typeof globalThis.WebSocket === 'undefined') {
  globalThis.WebSocket = require('ws');
  websocketImpl = 'ws';
}

function httpBase(cfg) {
  if (cfg.http) return cfg.http;
  const u = new URL(cfg.url);
  return `${u.protocol === 'wss:' ? 'https' : 'http'}://${u.host}`;
}

/** Wait for the socket's close event; both `ws` and the global WebSocket support addEventListener. */
function closed(ws) {
  return new Promise((resolve) => {
    if (ws.readyState === 3) {
      resolve({ code: null, reason: '', already: true });
      return;
    }
    ws.addEventListener('close', (ev) => resolve({ code: ev.code, reason: ev.reason, wasClean: ev.wasClean }));
  });
}

common.runDriver('@rocket.chat/ddp-client', VERSION, async (report, cfg) => {
  const ms = cfg.step_timeout_ms || common.DEFAULT_STEP_MS;
  report.set('websocket_impl', websocketImpl);
  // No retries: a test must see a failure, not a silent reconnect.
  const sdk = DDPSDK.create(httpBase(cfg), { retryCount: 0, retryTime: 100 });
  const ddp = sdk.client.ddp;
  ddp.onMessage((msg) => report.frameIn(JSON.stringify(msg)));
  ddp.on('send', (payload) => report.frameOut(JSON.stringify(payload)));

  await report.step('connect', () => sdk.connection.connect(), ms);
  report.set('connected', { session: sdk.connection.session ?? null });

  const mode = cfg.login_mode || 'digest';
  if (mode !== 'none') {
    await report.step('login', async () => {
      try {
        if (mode === 'digest') {
          await sdk.account.loginWithPassword(cfg.username, common.sha256hex(cfg.password));
          const u = sdk.account.user;
          report.set('login', common.loginSummary({ ...u, tokenExpires: u.tokenExpires }));
        } else if (mode === 'resume') {
          report.set('login', common.loginSummary(await sdk.account.loginWithToken(cfg.resume_token)));
        } else {
          report.set('login', common.loginSummary(await sdk.call('login', common.loginParams(cfg))));
        }
      } catch (err) {
        report.set('login', { error: common.errorInfo(err) });
      }
    }, ms);
    const token = report.data.login && report.data.login.token;
    if (cfg.resume_after && token) {
      await report.step('resume', async () => {
        try {
          report.set('resume', common.loginSummary(await sdk.account.loginWithToken(token)));
        } catch (err) {
          report.set('resume', { error: common.errorInfo(err) });
        }
      }, ms);
    }
  }

  for (const call of common.callsOf(cfg)) {
    await report.step(`method ${call.method}`, async () => {
      try {
        const result = await sdk.call(call.method, ...(call.params || []));
        report.data.calls.push({ method: call.method, result: result === undefined ? null : result });
      } catch (err) {
        report.data.calls.push({ method: call.method, error: common.errorInfo(err) });
      }
    }, ms);
  }

  if (cfg.subscription) {
    const { name, params = [] } = cfg.subscription;
    const sub = sdk.client.subscribe(name, ...params);
    await report.step(`subscribe ${name}`, async () => {
      try {
        await sub.ready();
        report.set('subscription', { name, id: sub.id, ready: true });
      } catch (err) {
        report.set('subscription', { name, id: sub.id, ready: false, error: common.errorInfo(err) });
      }
    }, ms);
    if (cfg.unsubscribe && report.data.subscription.ready) {
      await report.step(`unsubscribe ${name}`, async () => {
        const nosub = await sdk.client.unsubscribe(sub.id);
        report.data.subscription.nosub = nosub;
      }, ms);
    }
  }

  await report.step('disconnect', async () => {
    const ws = sdk.connection.ws;
    const done = closed(ws);
    sdk.connection.close();
    report.set('close', await done);
  }, ms);
});
