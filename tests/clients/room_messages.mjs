// room_messages.mjs: one user of an encrypted room over @rocket.chat/ddp-client (DDPSDK).
//
// Run: node --experimental-websocket room_messages.mjs '<json config>'
//
// Issue #3's real-client flow: a room's members subscribe to `stream-room-messages` the way
// Rocket.Chat's web client does (`sdk.stream('room-messages', rid, cb)`, which sends
// `[rid, {useCollection: false, args: [null]}]`), one of them sends `t:'e2e'` messages with
// `sendMessage`, and every member's stream must hand the message back unchanged; a non-member's
// subscription must end in `nosub`. One process plays one user for its whole role, so a test runs
// a few processes side by side and synchronises on their stdout lines, never on sleeps.
//
// Config: {url, http, username, password, role, rid, step_timeout_ms?, wait_ms?, hard_timeout_ms?}
//   role 'sender'    subscribe; then for each of `send: [{_id, text, version: 1|2, kid, jwk,
//                    e2eMentions?}]` encrypt {msg: text} with WebCrypto (lib/rc-e2ee.mjs, as a
//                    browser does) and call sendMessage; wait until every id came back on the own
//                    stream; with `load_history` also read the room with loadHistory.
//   role 'receiver'  subscribe, print `READY`, wait until every id of `expect` was delivered.
//   role 'outsider'  subscribe (expecting a refusal); with `try_send` {_id, text, version, kid,
//                    jwk} also try to send; print `READY`; then keep listening until stdin says
//                    `DONE` (or closes), recording anything the stream still delivers.
// Senders and receivers decrypt what they got with `room_keys` ({kid: jwk}) when given.
//
// Report (stdout, the last line, one JSON object): the common fields of driver_common.cjs plus
//   subscription {ready, error?, nosub_frame?}, sent [{message, result | error}],
//   received [{_id, count, message, raw, plaintext?}] (one per expected id, `raw` is the
//   websocket text frame that carried it), unexpected [ids], history [messages],
//   stream_frames (how many stream frames arrived); frames.in/out are the websocket texts.
import { createRequire } from 'node:module';

import * as e2ee from './lib/rc-e2ee.mjs';

const require = createRequire(import.meta.url);
const common = require('./driver_common.cjs');
const { DDPSDK } = require('@rocket.chat/ddp-client');
const VERSION = require('@rocket.chat/ddp-client/package.json').version;

if (typeof globalThis.WebSocket === 'undefined') globalThis.WebSocket = require('ws');

const STREAM = 'stream-room-messages';
const ROLES = new Set(['sender', 'receiver', 'outsider']);

function httpBase(cfg) {
  if (cfg.http) return cfg.http;
  const u = new URL(cfg.url);
  return `${u.protocol === 'wss:' ? 'https' : 'http'}://${u.host}`;
}

/** A settled-once waiter: `wait(ms)` resolves when `check()` holds, re-checked on each `poke()`. */
class Waiter {
  constructor(check) {
    this.check = check;
    this.pending = [];
  }

  poke() {
    if (!this.check()) return;
    for (const resolve of this.pending.splice(0)) resolve();
  }

  wait() {
    if (this.check()) return Promise.resolve();
    return new Promise((resolve) => this.pending.push(resolve));
  }
}

/**
 * What one stream subscription delivered: messages through the SDK's callback (what an app sees)
 * and the raw text frames (what was on the wire), so the test can compare both with what was sent.
 */
class Deliveries {
  constructor(rid) {
    this.rid = rid;
    this.messages = [];
    this.rawFrames = [];
    this.nosubFrames = [];
    this.waiter = new Waiter(() => false);
  }

  /**
   * Keep the text of every frame about the stream, and every nosub, exactly as received; and
   * every frame in both directions in the report, as text on the wire (the SDK's own hooks show
   * objects before encoding and after decoding).
   */
  watchSocket(ws, report) {
    const send = ws.send.bind(ws);
    ws.send = (data) => {
      report.frameOut(data);
      return send(data);
    };
    ws.addEventListener('message', (ev) => {
      const text = typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data).toString('utf8');
      report.frameIn(text);
      let msg;
      try {
        msg = JSON.parse(text);
      } catch {
        return;
      }
      if (msg.msg === 'nosub') this.nosubFrames.push(text);
      else if (msg.collection === STREAM) this.rawFrames.push(text);
    });
  }

  add(message) {
    this.messages.push(message);
    this.waiter.poke();
  }

  ids() {
    return new Set(this.messages.map((m) => m && m._id));
  }

  /** Resolve once every id in `ids` has been delivered at least once. */
  waitFor(ids) {
    this.waiter = new Waiter(() => {
      const seen = this.ids();
      return ids.every((id) => seen.has(id));
    });
    return this.waiter.wait();
  }

  /** The frame that carried message `id` on this room's event, or null. */
  rawOf(id) {
    for (const text of this.rawFrames) {
      const msg = JSON.parse(text);
      const args = msg.fields && msg.fields.args;
      if (msg.msg === 'changed' && msg.fields.eventName === this.rid && Array.isArray(args)
          && args[0] && args[0]._id === id) {
        return text;
      }
    }
    return null;
  }

  async report(expect, roomKeys) {
    const out = [];
    for (const id of expect) {
      const got = this.messages.filter((m) => m && m._id === id);
      const entry = { _id: id, count: got.length, message: got[0] ?? null, raw: this.rawOf(id) };
      if (roomKeys && got[0]) {
        try {
          entry.plaintext = (await e2ee.decryptMessage(got[0], roomKeys)).msg;
        } catch (err) {
          entry.decrypt_error = common.errorInfo(err);
        }
      }
      out.push(entry);
    }
    const unexpected = this.messages.map((m) => m && m._id).filter((id) => !expect.includes(id));
    return { received: out, unexpected };
  }
}

/** The message a browser sends: WebCrypto content v1 or v2 over {msg: text}, empty `msg`. */
async function encryptedMessage(rid, spec) {
  const content = await e2ee.encryptMessageContent(spec.jwk, spec.kid, { msg: spec.text }, spec.version);
  const message = { _id: spec._id, rid, msg: '', t: 'e2e', e2e: 'pending', content };
  if (spec.e2eMentions !== undefined) message.e2eMentions = spec.e2eMentions;
  return message;
}

/** Resolve on a `word` line on stdin, or when stdin ends: the test's "you may stop now". */
function stdinSays(word) {
  return new Promise((resolve) => {
    let buffer = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      buffer += chunk;
      if (buffer.split('\n').includes(word)) resolve('line');
    });
    process.stdin.on('end', () => resolve('end'));
  });
}

common.runDriver('@rocket.chat/ddp-client room messages', VERSION, async (report, cfg) => {
  if (!ROLES.has(cfg.role)) throw new Error(`role must be one of ${[...ROLES].join(', ')}, not ${cfg.role}`);
  if (typeof cfg.rid !== 'string') throw new Error('config.rid is required');
  const ms = cfg.step_timeout_ms || 10000;
  const waitMs = cfg.wait_ms || 20000;
  const roomKeys = cfg.room_keys || null;
  report.set('role', cfg.role);

  const sdk = DDPSDK.create(httpBase(cfg), { retryCount: 0, retryTime: 100 });
  const deliveries = new Deliveries(cfg.rid);
  await report.step('connect', () => sdk.connection.connect(), ms);
  deliveries.watchSocket(sdk.connection.ws, report);
  await report.step('login', () => sdk.account.loginWithPassword(cfg.username, common.sha256hex(cfg.password)), ms);
  report.set('user_id', sdk.account.uid);

  const sub = sdk.stream('room-messages', cfg.rid, (message) => deliveries.add(message));
  await report.step('subscribe', async () => {
    try {
      await sub.ready();
      report.set('subscription', { ready: true, params: sub.params });
    } catch (err) {
      report.set('subscription', { ready: false, params: sub.params, error: common.errorInfo(err) });
    }
  }, ms);
  report.data.subscription.nosub_frame = deliveries.nosubFrames[0] ?? null;
  if (cfg.role !== 'outsider' && !report.data.subscription.ready) {
    throw new Error(`subscription refused: ${JSON.stringify(report.data.subscription.error)}`);
  }

  const sent = [];
  report.set('sent', sent);
  const send = async (spec) => {
    const message = await encryptedMessage(cfg.rid, spec);
    try {
      sent.push({ message, result: (await sdk.call('sendMessage', message)) ?? null });
    } catch (err) {
      sent.push({ message, error: common.errorInfo(err) });
    }
  };

  let expect = cfg.expect || [];
  if (cfg.role === 'sender') {
    for (const spec of cfg.send || []) await report.step(`send ${spec._id}`, () => send(spec), ms);
    expect = (cfg.send || []).map((spec) => spec._id);
    await report.step('own stream', () => deliveries.waitFor(expect), waitMs);
    if (cfg.load_history) {
      await report.step('loadHistory', async () => {
        const answer = await sdk.call('loadHistory', cfg.rid, null, 50, null);
        report.set('history', answer.messages);
      }, ms);
    }
  } else if (cfg.role === 'receiver') {
    process.stdout.write('READY\n');
    await report.step('stream', () => deliveries.waitFor(expect), waitMs);
  } else {
    if (cfg.try_send) await report.step('try send', () => send(cfg.try_send), ms);
    process.stdout.write('READY\n');
    report.set('released_by', await report.step('listen until DONE', () => stdinSays('DONE'), waitMs));
  }

  const { received, unexpected } = await deliveries.report(expect, roomKeys);
  report.set('received', received);
  report.set('unexpected', unexpected);
  report.set('stream_frames', deliveries.rawFrames.length);
  sdk.connection.close();
});
