// crypto_interop.mjs: a JSON-in, JSON-out bridge to lib/rc-e2ee.mjs for tests in other languages.
//
// Usage: node tests/clients/crypto_interop.mjs < request.json > answer.json
//
// stdin holds one request object or an array of them (a batch, so a caller spawns node once).
// A request is {"op": "<name>", ...arguments}; argument names are snake_case, like the Python
// client's. Each answer is {"ok": true, "result": ...} or {"ok": false, "error": {"name",
// "message"}}; a batch gets an array of answers in request order. Dates in results are written
// as EJSON {"$date": ms}. Exit status: 0 when the input parsed (per-request errors are answers),
// 2 when stdin is not JSON.
//
// Ops: generate_user_keypair, import_public_jwk, import_private_jwk, encrypt_private_key_v1,
// encrypt_private_key_v2, decrypt_private_key, v2_salt, generate_room_key, key_ids,
// key_id_uuid, wrap_room_key, unwrap_room_key, encrypt_message_content,
// decrypt_message_content, encrypt_legacy_msg, decrypt_legacy_msg, decrypt_message,
// generate_passphrase, passphrase_word_list.

import * as e2ee from './lib/rc-e2ee.mjs';

const ops = {
  async generate_user_keypair() {
    const { publicJwkJson, privateJwkJson } = await e2ee.generateUserKeyPair();
    return { public_jwk_json: publicJwkJson, private_jwk_json: privateJwkJson };
  },
  async import_public_jwk({ jwk_json }) {
    await e2ee.importPublicJwk(jwk_json);
    return true;
  },
  async import_private_jwk({ jwk_json }) {
    await e2ee.importPrivateJwk(jwk_json);
    return true;
  },
  encrypt_private_key_v1: ({ private_jwk_json, password, user_id }) =>
    e2ee.encryptPrivateKeyV1(private_jwk_json, password, user_id),
  encrypt_private_key_v2: ({ private_jwk_json, password, salt, iterations }) =>
    e2ee.encryptPrivateKeyV2(private_jwk_json, password, salt, iterations ?? e2ee.V2_ITERATIONS),
  decrypt_private_key: ({ stored, password, user_id }) => e2ee.decryptPrivateKey(stored, password, user_id),
  v2_salt: ({ user_id }) => e2ee.v2Salt(user_id),
  generate_room_key: ({ alg }) => e2ee.generateRoomKey(alg),
  async key_ids({ jwk_json }) {
    return { legacy: e2ee.keyIdLegacy(jwk_json), sha256: await e2ee.keyIdSha256(jwk_json) };
  },
  key_id_uuid: () => e2ee.keyIdUuid(),
  wrap_room_key: ({ room_key_jwk_json, public_jwk_json, key_id }) =>
    e2ee.wrapRoomKey(room_key_jwk_json, public_jwk_json, key_id),
  async unwrap_room_key({ e2e_key, private_jwk_json }) {
    const { keyId, jwkJson } = await e2ee.unwrapRoomKey(e2e_key, private_jwk_json);
    return { key_id: keyId, jwk_json: jwkJson };
  },
  encrypt_message_content: ({ room_key_jwk_json, key_id, payload, version }) =>
    e2ee.encryptMessageContent(room_key_jwk_json, key_id, payload, version ?? 2),
  decrypt_message_content: ({ content, keys, fallback }) => e2ee.decryptMessageContent(content, keys, fallback),
  encrypt_legacy_msg: ({ room_key_jwk_json, key_id, message_id, text, user_id, ts }) =>
    e2ee.encryptLegacyMsg(room_key_jwk_json, key_id, { _id: message_id, text, userId: user_id, ts }),
  decrypt_legacy_msg: ({ msg, keys, fallback }) => e2ee.decryptLegacyMsg(msg, keys, fallback),
  decrypt_message: ({ message, keys, fallback }) => e2ee.decryptMessage(message, keys, fallback),
  generate_passphrase: ({ words }) => e2ee.generatePassphrase(words ?? 12),
  passphrase_word_list: () => [...e2ee.PASSPHRASE_WORD_LIST],
};

async function answer(request) {
  try {
    if (typeof request !== 'object' || request === null || !Object.hasOwn(ops, request.op)) {
      throw new TypeError(`unknown op ${JSON.stringify(request?.op)}`);
    }
    return { ok: true, result: await ops[request.op](request) };
  } catch (err) {
    return { ok: false, error: { name: err?.name ?? 'Error', message: String(err?.message ?? err) } };
  }
}

function ejsonDates(key, value) {
  const raw = this[key];
  return raw instanceof Date ? { $date: raw.getTime() } : value;
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
let input;
try {
  input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
} catch (err) {
  process.stderr.write(`crypto_interop: stdin is not JSON: ${err.message}\n`);
  process.exit(2);
}
const out = [];
for (const request of Array.isArray(input) ? input : [input]) out.push(await answer(request));
process.stdout.write(JSON.stringify(Array.isArray(input) ? out : out[0], ejsonDates) + '\n');
