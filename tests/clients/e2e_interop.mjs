// e2e_interop.mjs: one Rocket.Chat user over @rocket.chat/ddp-client with WebCrypto E2EE.
//
// Run: node --experimental-websocket e2e_interop.mjs '<json config>'
//
// The Python reference client plays the other user (tests/clients/test_e2e_interop.py); this
// driver does the browser's half with the SDK Rocket.Chat's web client is built on (DDP calls,
// and REST through the SDK's own RestClient with its bracket query format) and the WebCrypto
// module lib/rc-e2ee.mjs. Each process is stateless apart from the server: it logs in, opens its
// private key with its E2E password, and loads room keys from its subscriptions, as a browser
// does after a reload.
//
// Config: {url, http, username, password, e2e_password, envelope: 1|2, profile: 'v1'|'v2',
//          api: 'current'|'founding', actions: [{op, ...}]} with ops
//   setup_keys                      load the key pair, or create, encrypt and upload one
//   load_room_key {rid}             open E2EKey, or accept (REST) an E2ESuggestedKey that opens
//   create_room_key {rid, to?}      setRoomKeyID + own E2EKey, then offer it to waiting members
// With api 'founding' only the founding methods are used: fetchMyKeys/addKeyToChain for the key
// pair, fetchGroupE2EKey + updateGroupE2EKey(self) to load a room key, and fetchKeychain +
// updateGroupE2EKey for each user of `to` to hand a new room key over.
//   send {rid, text, fmt}           fmt 'v1' | 'v2' | 'legacy', through sendMessage
//   read {rid}                      loadHistory, every e2e message decrypted
// Report (stdout, one JSON object): ok, steps, results (one per action), error.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

import * as e2ee from './lib/rc-e2ee.mjs';

const require = createRequire(import.meta.url);
const common = require('./driver_common.cjs');
const { DDPSDK } = require('@rocket.chat/ddp-client');
const VERSION = require('@rocket.chat/ddp-client/package.json').version;

if (typeof globalThis.WebSocket === 'undefined') globalThis.WebSocket = require('ws');

const METEOR_CHARS = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';
const randomId = () => Array.from(randomBytes(17), (b) => METEOR_CHARS[b % METEOR_CHARS.length]).join('');

function httpBase(cfg) {
  if (cfg.http) return cfg.http;
  const u = new URL(cfg.url);
  return `${u.protocol === 'wss:' ? 'https' : 'http'}://${u.host}`;
}

async function newRoomKey(profile) {
  if (profile === 'v2') {
    const jwkJson = await e2ee.generateRoomKey('A256GCM');
    return { keyId: e2ee.keyIdUuid(), jwkJson };
  }
  const jwkJson = await e2ee.generateRoomKey('A128CBC');
  return { keyId: await e2ee.keyIdSha256(jwkJson), jwkJson };
}

class Person {
  constructor(sdk, cfg, uid) {
    this.sdk = sdk;
    this.cfg = cfg;
    this.uid = uid;
    this.privateJwkJson = null;
    this.publicJwkJson = null;
    this.rooms = {}; // rid -> {keyId, jwkJson, old: {kid: jwkJson}}
  }

  get founding() {
    return this.cfg.api === 'founding';
  }

  async fetchMyKeys() {
    if (!this.founding) return (await this.sdk.call('e2e.fetchMyKeys')) || {};
    const keys = (await this.sdk.call('fetchMyKeys')) || {};
    return { public_key: keys['RSA-PubKey'], private_key: keys['RSA-EPrivKey'] };
  }

  async setupKeys() {
    const stored = await this.fetchMyKeys();
    if (stored && stored.private_key) {
      this.privateJwkJson = await e2ee.decryptPrivateKey(stored.private_key, this.cfg.e2e_password, this.uid);
      this.publicJwkJson = stored.public_key;
      return { how: 'loaded', envelope: stored.private_key.includes('$binary') ? 1 : 2 };
    }
    const { publicJwkJson, privateJwkJson } = await e2ee.generateUserKeyPair();
    const envelope = this.cfg.envelope === 1
      ? await e2ee.encryptPrivateKeyV1(privateJwkJson, this.cfg.e2e_password, this.uid)
      : await e2ee.encryptPrivateKeyV2(privateJwkJson, this.cfg.e2e_password, e2ee.v2Salt(this.uid));
    if (this.founding) {
      await this.sdk.call('addKeyToChain', { 'RSA-PubKey': publicJwkJson, 'RSA-EPrivKey': envelope });
    } else {
      await this.sdk.call('e2e.setUserPublicAndPrivateKeys', { public_key: publicJwkJson, private_key: envelope });
      await this.sdk.call('e2e.requestSubscriptionKeys');
    }
    this.privateJwkJson = privateJwkJson;
    this.publicJwkJson = publicJwkJson;
    return { how: 'created', envelope: this.cfg.envelope };
  }

  async subscription(rid) {
    const subs = await this.sdk.call('subscriptions/get');
    return subs.find((s) => s.rid === rid) || null;
  }

  async loadRoomKey(rid) {
    if (this.founding) {
      const wrapped = await this.sdk.call('fetchGroupE2EKey', rid);
      if (!wrapped) return { keyId: null };
      const { keyId, jwkJson } = await e2ee.unwrapRoomKey(wrapped, this.privateJwkJson);
      await this.sdk.call('updateGroupE2EKey', rid, this.uid, wrapped);
      this.rooms[rid] = { keyId, jwkJson, old: {} };
      return { keyId, source: 'fetchGroupE2EKey' };
    }
    const sub = await this.subscription(rid);
    if (!sub) throw new Error(`no subscription to ${rid}`);
    const state = (this.rooms[rid] ||= { keyId: null, jwkJson: null, old: {} });
    for (const old of sub.oldRoomKeys || []) {
      state.old[old.e2eKeyId] = (await e2ee.unwrapRoomKey(old.E2EKey, this.privateJwkJson)).jwkJson;
    }
    let source = 'E2EKey';
    let wrapped = sub.E2EKey;
    if (sub.E2ESuggestedKey) {
      source = 'E2ESuggestedKey';
      wrapped = sub.E2ESuggestedKey;
    }
    if (!wrapped) return { keyId: null };
    const { keyId, jwkJson } = await e2ee.unwrapRoomKey(wrapped, this.privateJwkJson);
    if (source === 'E2ESuggestedKey') {
      const answer = await this.sdk.rest.post('/v1/e2e.acceptSuggestedGroupKey', { rid });
      if (!answer.success) throw new Error(`accept refused: ${JSON.stringify(answer)}`);
    }
    state.keyId = keyId;
    state.jwkJson = jwkJson;
    return { keyId, source };
  }

  async createRoomKey(rid, to) {
    const { keyId, jwkJson } = await newRoomKey(this.cfg.profile);
    this.rooms[rid] = { keyId, jwkJson, old: {} };
    if (this.founding) {
      await this.sdk.call('updateGroupE2EKey', rid, this.uid, await e2ee.wrapRoomKey(jwkJson, this.publicJwkJson, keyId));
      const offeredTo = [];
      for (const uid of to || []) {
        const keychain = JSON.parse(await this.sdk.call('fetchKeychain', uid));
        if (!keychain['RSA-PubKey']) continue;
        await this.sdk.call('updateGroupE2EKey', rid, uid, await e2ee.wrapRoomKey(jwkJson, keychain['RSA-PubKey'], keyId));
        offeredTo.push(uid);
      }
      return { keyId, offeredTo };
    }
    await this.sdk.call('e2e.setRoomKeyID', rid, keyId);
    await this.sdk.call('e2e.updateGroupKey', rid, this.uid,
      await e2ee.wrapRoomKey(jwkJson, this.publicJwkJson, keyId));
    const waiting = await this.sdk.rest.get('/v1/e2e.fetchUsersWaitingForGroupKey', { roomIds: [rid] });
    const users = (waiting.usersWaitingForE2EKeys[rid] || []).filter((u) => u._id !== this.uid);
    const entries = [];
    for (const u of users) entries.push({ _id: u._id, key: await e2ee.wrapRoomKey(jwkJson, u.public_key, keyId) });
    if (entries.length) {
      const answer = await this.sdk.rest.post('/v1/e2e.provideUsersSuggestedGroupKeys',
        { usersSuggestedGroupKeys: { [rid]: entries } });
      if (!answer.success) throw new Error(`provide refused: ${JSON.stringify(answer)}`);
    }
    return { keyId, offeredTo: users.map((u) => u._id) };
  }

  async send(rid, text, fmt) {
    const { keyId, jwkJson } = this.rooms[rid];
    const message = { _id: randomId(), rid, t: 'e2e', e2e: 'pending' };
    if (fmt === 'legacy') {
      message.msg = await e2ee.encryptLegacyMsg(jwkJson, keyId, { _id: message._id, text, userId: this.uid, ts: new Date() });
    } else {
      message.content = await e2ee.encryptMessageContent(jwkJson, keyId, { msg: text }, fmt === 'v1' ? 1 : 2);
    }
    await this.sdk.call('sendMessage', message);
    return { _id: message._id, algorithm: message.content ? message.content.algorithm : 'legacy-msg' };
  }

  async read(rid) {
    const state = this.rooms[rid];
    const keys = { ...state.old, [state.keyId]: state.jwkJson };
    const answer = await this.sdk.call('loadHistory', rid, null, 50, null);
    const texts = [];
    for (const m of [...answer.messages].reverse()) {
      if (m.t === 'e2e') texts.push((await e2ee.decryptMessage(m, keys, state.jwkJson)).msg);
    }
    return texts;
  }
}

common.runDriver('@rocket.chat/ddp-client + WebCrypto', VERSION, async (report, cfg) => {
  const ms = cfg.step_timeout_ms || 20000;
  const sdk = DDPSDK.create(httpBase(cfg), { retryCount: 0, retryTime: 100 });
  await report.step('connect', () => sdk.connection.connect(), ms);
  await report.step('login', () => sdk.account.loginWithPassword(cfg.username, common.sha256hex(cfg.password)), ms);
  const me = new Person(sdk, cfg, sdk.account.uid);
  const results = [];
  report.set('results', results);
  for (const action of cfg.actions || []) {
    await report.step(action.op, async () => {
      if (action.op === 'setup_keys') results.push(await me.setupKeys());
      else if (action.op === 'load_room_key') results.push(await me.loadRoomKey(action.rid));
      else if (action.op === 'create_room_key') results.push(await me.createRoomKey(action.rid, action.to));
      else if (action.op === 'send') results.push(await me.send(action.rid, action.text, action.fmt || 'v2'));
      else if (action.op === 'read') results.push(await me.read(action.rid));
      else throw new Error(`unknown op ${action.op}`);
    }, ms);
  }
  sdk.connection.close();
}, {});
