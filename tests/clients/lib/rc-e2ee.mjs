// rc-e2ee.mjs: Rocket.Chat end-to-end encryption formats over WebCrypto (Node 20, no packages).
//
// A clean-room twin of ddp_e2e/client/crypto.py, written from the format description in
// shared/spec/rocketchat-e2e.md §4 and modelled on how a browser behaves (JWK members exported
// in alphabetical order, WebCrypto's own import checks). Rocket.Chat's e2ee sources are not
// used. The interop test (tests/integration/test_crypto_webcrypto_interop.py) proves it
// byte-compatible with the Python client.
//
// Every key crosses this API as the JWK *text* Rocket.Chat stores and wraps, so values can be
// passed straight to and from DDP calls. All functions are async unless marked (sync).
//
// User keys (RSA-OAEP-2048, SHA-256)
//   generateUserKeyPair() -> {publicJwkJson, privateJwkJson}
//   importPublicJwk(jwkJson) -> CryptoKey          importPrivateJwk(jwkJson) -> CryptoKey
// Private-key envelopes (users.e2e.private_key)
//   encryptPrivateKeyV1(privateJwkJson, password, userId) -> '{"$binary":"..."}'
//   encryptPrivateKeyV2(privateJwkJson, password, salt, iterations = 100000)
//       -> '{"iv","ciphertext","salt","iterations"}'
//   v2Salt(userId) -> 'v2:<userId>:<uuid>' (sync)
//   decryptPrivateKey(stored, password, userId) -> privateJwkJson   (v1 or v2, detected)
// Room keys and key IDs
//   generateRoomKey(alg = 'A256GCM' | 'A128CBC') -> jwkJson
//   keyIdLegacy(jwkJson) (sync, < 7.0)   keyIdSha256(jwkJson) (7.0-7.12)   keyIdUuid() (sync, 7.13+)
//   wrapRoomKey(roomKeyJwkJson, publicJwkJson, keyId) -> E2EKey string
//   unwrapRoomKey(e2eKey, privateJwkJson) -> {keyId, jwkJson}   (last-344-characters rule)
// Messages ("keys" is an object or Map from key ID to room key JWK text)
//   encryptMessageContent(roomKeyJwkJson, keyId, payload, version = 2) -> content object
//   decryptMessageContent(content, keys, fallbackJwkJson?) -> payload object
//   encryptLegacyMsg(roomKeyJwkJson, keyId, {_id, text, userId, ts}) -> msg string (ts: Date or ms)
//   decryptLegacyMsg(msg, keys, fallbackJwkJson?) -> {_id, text, userId, ts: Date, ...}
//   decryptMessage(message, keys, fallbackJwkJson?) -> message as a client shows it (e2e: 'done')
// Passphrase
//   generatePassphrase(words = 12) (sync)
// Errors: E2EECryptoError > FormatError > KeyImportError; E2EECryptoError > DecryptionError >
// KeyNotFoundError. A wrong password, wrong key or tampered ciphertext is a DecryptionError.

const cryptoObj = globalThis.crypto;
const subtle = cryptoObj.subtle;
// Node 20 throws ERR_INVALID_THIS when these are called detached from `crypto`.
const getRandomValues = cryptoObj.getRandomValues.bind(cryptoObj);
const randomUUID = cryptoObj.randomUUID.bind(cryptoObj);

export const ALGORITHM_V1 = 'rc.v1.aes-sha2';
export const ALGORITHM_V2 = 'rc.v2.aes-sha2';
export const RSA_CIPHERTEXT_B64_LEN = 344;
export const LEGACY_KEY_ID_LEN = 12;
export const V1_ITERATIONS = 1000;
export const V2_ITERATIONS = 100000;
export const MAX_ITERATIONS = 10000000;
const MODULUS_BITS = 2048;
const CBC_IV_LEN = 16;
const GCM_IV_LEN = 12;
const RSA_PARAMS = { name: 'RSA-OAEP', hash: 'SHA-256' };
const AES_ALGS = { A128CBC: 16, A192CBC: 24, A256CBC: 32, A128GCM: 16, A192GCM: 24, A256GCM: 32 };

export class E2EECryptoError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}
export class FormatError extends E2EECryptoError {}
export class KeyImportError extends FormatError {}
export class DecryptionError extends E2EECryptoError {}
export class KeyNotFoundError extends DecryptionError {}

// ---- codecs ---------------------------------------------------------------------------------

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

function bytesToBinary(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return out;
}

/** Standard base64 with padding. (sync) */
export function b64encode(bytes) {
  return btoa(bytesToBinary(new Uint8Array(bytes)));
}

/** Strict standard base64; garbage is a FormatError. (sync) */
export function b64decode(text, what = 'base64') {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !B64.test(text)) {
    throw new FormatError(`${what}: not valid base64`);
  }
  return latin1Bytes(atob(text));
}

function b64urlEncode(bytes) {
  return b64encode(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function b64urlDecode(text, what) {
  if (typeof text !== 'string' || text.length % 4 === 1 || !B64URL.test(text)) {
    throw new FormatError(`${what}: not valid unpadded base64url`);
  }
  const std = text.replace(/-/g, '+').replace(/_/g, '/');
  return b64decode(std + '='.repeat((4 - (std.length % 4)) % 4), what);
}

/** The web client's "binary string" bytes; code points above 0xFF are refused. (sync) */
export function latin1Bytes(text, what = 'text') {
  if (typeof text !== 'string') throw new FormatError(`${what}: expected a string`);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new FormatError(`${what}: contains a character above U+00FF`);
    out[i] = c;
  }
  return out;
}

const utf8Encode = (text) => new TextEncoder().encode(text);
const latin1Text = (bytes) => bytesToBinary(new Uint8Array(bytes));

function parseJsonObject(text, what) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FormatError(`${what}: not valid JSON`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FormatError(`${what}: expected a JSON object`);
  }
  return value;
}

/** JSON text with members in alphabetical order, as browsers export JWKs (Node does not). */
function browserJwkJson(jwk) {
  const ordered = {};
  for (const name of Object.keys(jwk).sort()) ordered[name] = jwk[name];
  return JSON.stringify(ordered);
}

// ---- user keys ------------------------------------------------------------------------------

/** A fresh RSA-OAEP-2048 key pair (e = 65537), both halves as browser-ordered JWK text. */
export async function generateUserKeyPair() {
  const pair = await subtle.generateKey(
    { ...RSA_PARAMS, modulusLength: MODULUS_BITS, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ['encrypt', 'decrypt'],
  );
  return {
    publicJwkJson: browserJwkJson(await subtle.exportKey('jwk', pair.publicKey)),
    privateJwkJson: browserJwkJson(await subtle.exportKey('jwk', pair.privateKey)),
  };
}

async function importRsa(jwkJson, usage) {
  const jwk = typeof jwkJson === 'string' ? parseJsonObject(jwkJson, 'JWK') : jwkJson;
  if (usage === 'encrypt' && jwk !== null && typeof jwk === 'object' && 'd' in jwk) {
    throw new KeyImportError('a private JWK cannot be imported as a public key');
  }
  let key;
  try {
    key = await subtle.importKey('jwk', jwk, RSA_PARAMS, true, [usage]);
  } catch (err) {
    throw new KeyImportError(`JWK refused by WebCrypto: ${err.message}`, { cause: err });
  }
  if (key.algorithm.modulusLength !== MODULUS_BITS) {
    throw new KeyImportError(`RSA modulus must be ${MODULUS_BITS} bits, got ${key.algorithm.modulusLength}`);
  }
  return key;
}

/** Import a public JWK for "encrypt" with WebCrypto's rules (alg, key_ops, ext). */
export const importPublicJwk = (jwkJson) => importRsa(jwkJson, 'encrypt');
/** Import a private JWK for "decrypt". */
export const importPrivateJwk = (jwkJson) => importRsa(jwkJson, 'decrypt');

// ---- private-key envelopes -----------------------------------------------------------------

async function masterKey(password, salt, iterations, name) {
  const base = await subtle.importKey('raw', latin1Bytes(password, 'password'), 'PBKDF2', false, ['deriveKey']);
  return subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: latin1Bytes(salt, 'salt'), iterations },
    base,
    { name, length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

function checkIterations(iterations) {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new FormatError(`private key envelope: iterations ${iterations} out of range 1..${MAX_ITERATIONS}`);
  }
}

/** The salt the 7.13+ web client uses for v2 envelopes. (sync) */
export const v2Salt = (userId) => `v2:${userId}:${randomUUID()}`;

/** Pre-7.13 envelope: PBKDF2(1000, salt = user ID) -> AES-CBC-256, '{"$binary": b64(iv||ct)}'. */
export async function encryptPrivateKeyV1(privateJwkJson, password, userId) {
  const iv = getRandomValues(new Uint8Array(CBC_IV_LEN));
  const key = await masterKey(password, userId, V1_ITERATIONS, 'AES-CBC');
  const ct = new Uint8Array(
    await subtle.encrypt({ name: 'AES-CBC', iv }, key, latin1Bytes(privateJwkJson, 'private key JWK')),
  );
  const blob = new Uint8Array(iv.length + ct.length);
  blob.set(iv);
  blob.set(ct, iv.length);
  return JSON.stringify({ $binary: b64encode(blob) });
}

/** 7.13+ envelope: PBKDF2(iterations, salt) -> AES-GCM-256, 12-byte IV, tag appended. */
export async function encryptPrivateKeyV2(privateJwkJson, password, salt, iterations = V2_ITERATIONS) {
  checkIterations(iterations);
  const iv = getRandomValues(new Uint8Array(GCM_IV_LEN));
  const key = await masterKey(password, salt, iterations, 'AES-GCM');
  const ct = await subtle.encrypt({ name: 'AES-GCM', iv }, key, latin1Bytes(privateJwkJson, 'private key JWK'));
  return JSON.stringify({ iv: b64encode(iv), ciphertext: b64encode(ct), salt, iterations });
}

function parseEnvelope(stored, userId) {
  const obj = parseJsonObject(stored, 'private key envelope');
  if (typeof obj.$binary === 'string') {
    const blob = b64decode(obj.$binary, 'private key $binary');
    if (blob.length <= CBC_IV_LEN) throw new FormatError('private key envelope v1 is too short');
    return { iv: blob.slice(0, CBC_IV_LEN), ct: blob.slice(CBC_IV_LEN), salt: userId, iterations: V1_ITERATIONS };
  }
  if (['iv', 'ciphertext', 'salt'].every((f) => typeof obj[f] === 'string') && 'iterations' in obj) {
    checkIterations(obj.iterations);
    return {
      iv: b64decode(obj.iv, 'private key iv'),
      ct: b64decode(obj.ciphertext, 'private key ciphertext'),
      salt: obj.salt,
      iterations: obj.iterations,
    };
  }
  throw new FormatError('private key envelope is neither v1 ($binary) nor v2 (iv, ciphertext, salt, iterations)');
}

/** Open a v1 or v2 envelope; the cipher follows the IV length (16 CBC, 12 GCM) as on the web. */
export async function decryptPrivateKey(stored, password, userId) {
  const { iv, ct, salt, iterations } = parseEnvelope(stored, userId);
  if (iv.length !== CBC_IV_LEN && iv.length !== GCM_IV_LEN) {
    throw new FormatError(`private key envelope IV must be 16 or 12 bytes, got ${iv.length}`);
  }
  const name = iv.length === CBC_IV_LEN ? 'AES-CBC' : 'AES-GCM';
  const key = await masterKey(password, salt, iterations, name);
  let plain;
  try {
    plain = await subtle.decrypt({ name, iv }, key, ct);
  } catch (err) {
    throw new DecryptionError('private key does not open with this password', { cause: err });
  }
  const text = latin1Text(plain);
  try {
    parseJsonObject(text, 'private key JWK');
  } catch (err) {
    throw new DecryptionError('private key does not open with this password', { cause: err });
  }
  return text;
}

// ---- room keys and key IDs ------------------------------------------------------------------

/** A fresh room key as browser-ordered JWK text: A256GCM (7.13+) or A128CBC (older). */
export async function generateRoomKey(alg = 'A256GCM') {
  if (alg !== 'A256GCM' && alg !== 'A128CBC') throw new FormatError(`room keys are A128CBC or A256GCM, not ${alg}`);
  const name = alg === 'A256GCM' ? 'AES-GCM' : 'AES-CBC';
  const key = await subtle.generateKey({ name, length: AES_ALGS[alg] * 8 }, true, ['encrypt', 'decrypt']);
  return browserJwkJson(await subtle.exportKey('jwk', key));
}

/** Key ID before 7.0: the first 12 base64 characters of the JWK text. (sync) */
export const keyIdLegacy = (jwkJson) => b64encode(utf8Encode(jwkJson)).slice(0, 12);

/** Key ID 7.0-7.12: the first 12 hex characters of SHA-256(UTF-8 JWK text). */
export async function keyIdSha256(jwkJson) {
  const digest = new Uint8Array(await subtle.digest('SHA-256', utf8Encode(jwkJson)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('').slice(0, 12);
}

/** Key ID from 7.13: a random UUID v4. (sync) */
export const keyIdUuid = () => randomUUID();

/**
 * Import a room key; the cipher comes from its alg, or (alg absent) from the IV length.
 * Returns {key, mode} where mode is 'CBC' or 'GCM'.
 */
async function importRoomKey(jwkJson, ivLength) {
  const jwk = typeof jwkJson === 'string' ? parseJsonObject(jwkJson, 'room key JWK') : jwkJson;
  let mode;
  if (jwk.alg === undefined) {
    if (ivLength === CBC_IV_LEN) mode = 'CBC';
    else if (ivLength === GCM_IV_LEN) mode = 'GCM';
    else throw new FormatError('room key JWK has no alg, so its cipher is unknown');
  } else if (Object.hasOwn(AES_ALGS, jwk.alg)) {
    mode = jwk.alg.endsWith('GCM') ? 'GCM' : 'CBC';
  } else {
    throw new KeyImportError(`room key JWK alg ${jwk.alg} is not an AES-CBC or AES-GCM alg`);
  }
  try {
    const key = await subtle.importKey('jwk', jwk, { name: `AES-${mode}` }, true, ['encrypt', 'decrypt']);
    return { key, mode };
  } catch (err) {
    throw new KeyImportError(`room key JWK refused by WebCrypto: ${err.message}`, { cause: err });
  }
}

/** An E2EKey string: keyId + base64(RSA-OAEP-SHA256(Latin-1 bytes of the room key JWK text)). */
export async function wrapRoomKey(roomKeyJwkJson, publicJwkJson, keyId) {
  if (typeof keyId !== 'string' || keyId.length === 0) throw new FormatError('key ID must be a non-empty string');
  parseJsonObject(roomKeyJwkJson, 'room key JWK');
  const publicKey = await importPublicJwk(publicJwkJson);
  const ct = await subtle.encrypt({ name: 'RSA-OAEP' }, publicKey, latin1Bytes(roomKeyJwkJson, 'room key JWK'));
  return keyId + b64encode(ct);
}

/** Open an E2EKey: the last 344 characters are the RSA ciphertext, the rest is the key ID. */
export async function unwrapRoomKey(e2eKey, privateJwkJson) {
  if (typeof e2eKey !== 'string' || e2eKey.length <= RSA_CIPHERTEXT_B64_LEN) {
    throw new FormatError('E2EKey must be a key ID followed by 344 base64 characters');
  }
  const keyId = e2eKey.slice(0, -RSA_CIPHERTEXT_B64_LEN);
  const ct = b64decode(e2eKey.slice(-RSA_CIPHERTEXT_B64_LEN), 'E2EKey ciphertext');
  const privateKey = await importPrivateJwk(privateJwkJson);
  let plain;
  try {
    plain = await subtle.decrypt({ name: 'RSA-OAEP' }, privateKey, ct);
  } catch (err) {
    throw new DecryptionError('E2EKey does not open with this private key', { cause: err });
  }
  const jwkJson = latin1Text(plain);
  await importRoomKey(jwkJson, GCM_IV_LEN); // refuse anything that is not a usable room key
  return { keyId, jwkJson };
}

// ---- messages -------------------------------------------------------------------------------

async function sealWith(jwkJson, envelopeIvLength, plaintext) {
  const jwk = parseJsonObject(jwkJson, 'room key JWK');
  if (jwk.alg === undefined) throw new FormatError('room key JWK has no alg, so the cipher to encrypt with is unknown');
  const { key, mode } = await importRoomKey(jwk, envelopeIvLength);
  const iv = getRandomValues(new Uint8Array(mode === 'CBC' ? CBC_IV_LEN : envelopeIvLength));
  const ct = new Uint8Array(await subtle.encrypt({ name: `AES-${mode}`, iv }, key, plaintext));
  return { iv, ct };
}

async function openJson(jwkJson, iv, ct) {
  const { key, mode } = await importRoomKey(jwkJson, iv.length);
  if (mode === 'CBC' && iv.length !== CBC_IV_LEN) {
    throw new DecryptionError(`AES-CBC needs a 16-byte IV, got ${iv.length}`);
  }
  let plain;
  try {
    plain = await subtle.decrypt({ name: `AES-${mode}`, iv }, key, ct);
  } catch (err) {
    throw new DecryptionError(`AES-${mode} does not open (wrong key or tampered data)`, { cause: err });
  }
  let value;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain));
  } catch (err) {
    throw new DecryptionError('decrypted bytes are not UTF-8 JSON (wrong key?)', { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DecryptionError('decrypted payload is not a JSON object');
  }
  return value;
}

function pickKey(kid, keys, fallback) {
  const found = keys instanceof Map ? keys.get(kid) : keys && Object.hasOwn(keys, kid) ? keys[kid] : undefined;
  const key = found ?? fallback;
  if (key === undefined || key === null) throw new KeyNotFoundError(`no room key with key ID ${kid}`);
  return key;
}

async function sealPrefixed(jwkJson, keyId, plaintext) {
  if (typeof keyId !== 'string' || keyId.length !== LEGACY_KEY_ID_LEN) {
    throw new FormatError(`this format needs a ${LEGACY_KEY_ID_LEN}-character key ID, got ${keyId}`);
  }
  const { iv, ct } = await sealWith(jwkJson, CBC_IV_LEN, plaintext);
  const blob = new Uint8Array(iv.length + ct.length);
  blob.set(iv);
  blob.set(ct, iv.length);
  return keyId + b64encode(blob);
}

function splitPrefixed(text, what) {
  if (typeof text !== 'string' || text.length <= LEGACY_KEY_ID_LEN) {
    throw new FormatError(`${what}: expected a key ID followed by base64`);
  }
  const blob = b64decode(text.slice(LEGACY_KEY_ID_LEN), what);
  if (blob.length <= CBC_IV_LEN) throw new FormatError(`${what}: too short to hold an IV and ciphertext`);
  return { kid: text.slice(0, LEGACY_KEY_ID_LEN), iv: blob.slice(0, CBC_IV_LEN), ct: blob.slice(CBC_IV_LEN) };
}

function payloadBytes(payload) {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new FormatError("message payload must be an object such as {msg: '...'}");
  }
  return utf8Encode(JSON.stringify(payload));
}

/**
 * Encrypt {msg, attachments?} into a message's `content`. v1: {algorithm, ciphertext: keyId +
 * b64(iv16||ct)}; v2: {algorithm, kid, iv, ciphertext}, 12-byte IV for GCM keys, 16 for CBC.
 */
export async function encryptMessageContent(roomKeyJwkJson, keyId, payload, version = 2) {
  const plaintext = payloadBytes(payload);
  if (version === 1) {
    return { algorithm: ALGORITHM_V1, ciphertext: await sealPrefixed(roomKeyJwkJson, keyId, plaintext) };
  }
  if (version !== 2) throw new FormatError(`content version must be 1 or 2, not ${version}`);
  if (typeof keyId !== 'string' || keyId.length === 0) throw new FormatError('key ID must be a non-empty string');
  const { iv, ct } = await sealWith(roomKeyJwkJson, GCM_IV_LEN, plaintext);
  return { algorithm: ALGORITHM_V2, kid: keyId, iv: b64encode(iv), ciphertext: b64encode(ct) };
}

/** Open a v1 or v2 `content`; the cipher comes from the key, never from `algorithm`. */
export async function decryptMessageContent(content, keys, fallbackJwkJson) {
  if (typeof content !== 'object' || content === null) throw new FormatError('content must be an object');
  let kid;
  let iv;
  let ct;
  if (content.algorithm === ALGORITHM_V1) {
    ({ kid, iv, ct } = splitPrefixed(content.ciphertext, 'content v1 ciphertext'));
  } else if (content.algorithm === ALGORITHM_V2) {
    kid = content.kid;
    if (typeof kid !== 'string' || kid.length === 0) throw new FormatError("content v2 needs a non-empty 'kid'");
    iv = b64decode(content.iv, 'content v2 iv');
    ct = b64decode(content.ciphertext, 'content v2 ciphertext');
  } else {
    throw new FormatError(`unsupported content algorithm ${content.algorithm}`);
  }
  return openJson(pickKey(kid, keys, fallbackJwkJson), iv, ct);
}

/** The pre-6.10 `msg` string: keyId + b64(iv16 || AES(EJSON {_id, text, userId, ts:{$date}})). */
export async function encryptLegacyMsg(roomKeyJwkJson, keyId, { _id, text, userId, ts }) {
  const ms = ts instanceof Date ? ts.getTime() : ts;
  if (!Number.isInteger(ms)) throw new FormatError('ts must be a Date or milliseconds since the epoch');
  const body = { _id, text, userId, ts: { $date: ms } };
  return sealPrefixed(roomKeyJwkJson, keyId, payloadBytes(body));
}

/** Open a legacy `msg` string; an EJSON ts comes back as a Date. */
export async function decryptLegacyMsg(msg, keys, fallbackJwkJson) {
  const { kid, iv, ct } = splitPrefixed(msg, 'legacy msg');
  const body = await openJson(pickKey(kid, keys, fallbackJwkJson), iv, ct);
  const ts = body.ts;
  if (ts && typeof ts === 'object' && Object.keys(ts).length === 1 && typeof ts.$date === 'number') {
    body.ts = new Date(ts.$date);
  }
  return body;
}

/** A stored t:'e2e' message as a client shows it: legacy text to msg, content fields merged. */
export async function decryptMessage(message, keys, fallbackJwkJson) {
  const out = { ...message };
  if (out.t !== 'e2e' || out.e2e === 'done') return out;
  if (typeof out.msg === 'string' && out.msg) {
    const { text } = await decryptLegacyMsg(out.msg, keys, fallbackJwkJson);
    if (typeof text === 'string') out.msg = text;
  }
  if (out.content !== undefined && out.content !== null) {
    const opened = await decryptMessageContent(out.content, keys, fallbackJwkJson);
    for (const name of ['msg', 'attachments', 'files', 'file']) {
      if (Object.hasOwn(opened, name)) out[name] = opened[name];
    }
  }
  out.e2e = 'done';
  return out;
}

// ---- passphrase -----------------------------------------------------------------------------

// Our own 256 ASCII words (the same list as ddp_e2e/client/crypto_passphrase.py).
const WORDS = (
  'acorn actor adobe agent alarm album alley amber angle ankle apple apron arena arrow aspen atlas ' +
  'attic autumn badge bagel baker balloon bamboo banjo barley basket beacon beaver bench berry bison ' +
  'blanket blossom bonnet border bottle bramble breeze brick bridge brook bucket bugle butter button ' +
  'cabin cactus camel candle canoe canyon carpet carrot castle cedar cellar chalk cherry chess chimney ' +
  'cider circle citrus clover cobalt coconut comet copper coral cotton cowboy crayon cricket crystal ' +
  'cuckoo curtain cymbal daisy dancer delta desert diamond dolphin donkey dragon drum eagle easel echo ' +
  'eclipse elbow ember emerald engine falcon fable feather fern fiddle finch flannel flint forest ' +
  'fossil fountain fox galaxy garden garlic gazelle geyser ginger glacier globe goblet granite grape ' +
  'gravel guitar hammer harbor harp hazel hedge helmet heron hickory honey horizon igloo island ivory ' +
  'jacket jaguar jasmine jelly jigsaw jungle kayak kettle kiwi ladder lagoon lantern lava lemon lily ' +
  'linen lizard lobster locket magnet mango maple marble meadow melon meteor mint mirror mitten monsoon ' +
  'mosaic muffin nectar needle nickel nutmeg oasis oak ocean olive onion orbit orchid otter oyster ' +
  'paddle palace panda paper parrot pebble pepper piano pickle pigeon pillow pine planet plum pocket ' +
  'pony poppy prism pumpkin puzzle quartz quill rabbit radish rainbow raven ribbon river robin rocket ' +
  'saddle saffron salmon sandal satin scarf shadow shell silver sketch sleigh spruce squash stable ' +
  'statue summit sunset swan tablet teapot thistle thunder tiger timber toffee tomato topaz tornado ' +
  'trumpet tulip tundra turtle umbrella valley velvet violin volcano wagon walnut whistle willow window ' +
  'winter wizard yarn zebra zephyr zigzag zinnia'
).split(' ');

export const PASSPHRASE_WORD_LIST = Object.freeze(WORDS);

/** `words` uniformly random words (256-word list: one random byte picks one word). (sync) */
export function generatePassphrase(words = 12) {
  if (!Number.isInteger(words) || words < 1) throw new RangeError('words must be a positive integer');
  if (WORDS.length !== 256) throw new Error('word list must hold exactly 256 words');
  return Array.from(getRandomValues(new Uint8Array(words)), (b) => WORDS[b]).join(' ');
}
