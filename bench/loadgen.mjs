// Load generator for ddp-e2e: N WebSocket connections, each doing sequential round trips.
//
//   node loadgen.mjs --url ws://127.0.0.1:P/websocket --mode ddp  --conns 100 \
//        [--login alice:alice-pass,bob:bob-pass] [--method ddp-e2e.echo] \
//        [--warmup 1] [--duration 3] [--limit 60]
//   node loadgen.mjs --url ws://127.0.0.1:P/ --mode echo --conns 100 ...
//
// ddp mode: every connection sends DDP `connect`, optionally logs in (password digest), then
// calls the method in a loop, one call in flight. A round trip is complete only when BOTH the
// `result` and the `updated` naming its id have arrived, because that is when a Meteor client
// settles a call. echo mode: the same method frame is sent to a plain echo server and one
// echoed frame completes the round trip; it is the baseline the DDP figure is divided by.
//
// Stdout protocol (read by run.py, which samples server CPU at the two markers, so the CPU
// window and the counting window are the same): `READY`, `MEASURE_START`, `MEASURE_END`, then
// one JSON line with the results. Everything is bounded: --limit seconds hard stop, loopback
// targets only (the URL is refused unless its host is 127.x or localhost).
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[key] = true;
    else { out[key] = next; i++; }
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const URL_ = String(args.url || '');
const MODE = args.mode || 'ddp';
const CONNS = Number(args.conns || 100);
const WARMUP = Number(args.warmup ?? 1);
const DURATION = Number(args.duration ?? 3);
const LIMIT_S = Number(args.limit || 60);
const METHOD = args.method || 'ddp-e2e.echo';
const USERS = args.login ? String(args.login).split(',').map((s) => {
  const i = s.indexOf(':');
  return { username: s.slice(0, i), digest: createHash('sha256').update(s.slice(i + 1)).digest('hex') };
}) : [];

function fail(message, code = 2) {
  process.stderr.write(`loadgen: ${message}\n`);
  process.exit(code);
}

const host = (() => { try { return new URL(URL_).hostname; } catch { return ''; } })();
if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== 'localhost') fail(`refusing non-loopback url '${URL_}'`);
if (!['ddp', 'echo'].includes(MODE)) fail(`unknown --mode ${MODE}`);
if (!(CONNS > 0) || !(DURATION > 0)) fail('--conns and --duration must be positive');

const hardStop = setTimeout(() => fail(`hard limit of ${LIMIT_S}s reached`, 3), LIMIT_S * 1000);

// A DDP method frame of about 150 bytes, the size the perf anchors were measured with. Echo
// mode sends the same bytes so both servers move the same payload.
const PARAM = { _id: 'aB3dE5fG7hJ9kL1mN', rid: 'GENERAL', msg: 'hello everyone, lunch at noon today?' };
const PARAM_JSON = JSON.stringify(PARAM);
const ECHO_FRAME = JSON.stringify({ msg: 'method', id: '17', method: 'sendMessage', params: [PARAM] });

const MAX_SAMPLES = 4_000_000;
const lat = new Float64Array(MAX_SAMPLES);
let nlat = 0;
let done = 0;
let recording = false;
let stopping = false;
const stats = { method_errors: 0, wrong_results: 0, closed_early: 0, pings_answered: 0, first_error: null };

/** One connection's state machine; it only ever has one round trip in flight. */
class Conn {
  constructor(index) {
    this.index = index;
    this.user = USERS.length ? USERS[index % USERS.length] : null;
    this.nextId = 1;
    this.pendingId = null;
    this.gotResult = false;
    this.gotUpdated = false;
    this.sentAt = 0;
    this.checked = false;
    this.ws = new WebSocket(URL_, { perMessageDeflate: false });
  }

  start() {
    return new Promise((resolve, reject) => {
      this.ready = resolve;
      this.ws.on('error', (err) => reject(new Error(`connection ${this.index}: ${err.message}`)));
      this.ws.on('close', (code) => {
        if (!stopping) {
          stats.closed_early += 1;
          reject(new Error(`connection ${this.index} closed early (${code})`));
        }
      });
      this.ws.on('message', (data) => this.onMessage(data));
      this.ws.on('open', () => {
        if (MODE === 'echo') { this.state = 'run'; resolve(); return; }
        this.state = 'connect';
        this.ws.send('{"msg":"connect","version":"1","support":["1"]}');
      });
    });
  }

  sendMethod(method, params) {
    const id = String(this.nextId++);
    this.pendingId = id;
    this.gotResult = false;
    this.gotUpdated = false;
    this.ws.send(`{"msg":"method","id":"${id}","method":${JSON.stringify(method)},"params":${params}}`);
  }

  fire() {
    this.sentAt = performance.now();
    if (MODE === 'echo') this.ws.send(ECHO_FRAME);
    else this.sendMethod(METHOD, `[${PARAM_JSON}]`);
  }

  complete() {
    if (recording) {
      done += 1;
      if (nlat < MAX_SAMPLES) lat[nlat++] = performance.now() - this.sentAt;
    }
    if (!stopping) this.fire();
  }

  onMessage(data) {
    if (MODE === 'echo') { this.complete(); return; }
    const msg = JSON.parse(data);
    switch (msg.msg) {
      case 'ping':
        stats.pings_answered += 1;
        this.ws.send(msg.id === undefined ? '{"msg":"pong"}' : JSON.stringify({ msg: 'pong', id: msg.id }));
        return;
      case 'connected':
        if (this.user) {
          this.state = 'login';
          this.sendMethod('login', JSON.stringify([{ user: { username: this.user.username },
            password: { digest: this.user.digest, algorithm: 'sha-256' } }]));
        } else {
          this.state = 'run';
          this.ready();
        }
        return;
      case 'failed':
        fail(`server refused DDP version: ${data}`);
        return;
      case 'result':
        if (msg.id !== this.pendingId) return;
        this.gotResult = true;
        if (msg.error) {
          stats.method_errors += 1;
          stats.first_error ||= msg.error;
        } else if (this.state === 'run' && !this.checked) {
          // The first answer of every connection must be the echoed param, or the server
          // is not doing the work we think we are measuring.
          this.checked = true;
          if (JSON.stringify(msg.result) !== PARAM_JSON) stats.wrong_results += 1;
        }
        break;
      case 'updated':
        if (!msg.methods.includes(this.pendingId)) return;
        this.gotUpdated = true;
        break;
      default:
        return;
    }
    if (!(this.gotResult && this.gotUpdated)) return;
    this.pendingId = null;
    if (this.state === 'login') {
      if (stats.method_errors) fail(`login failed: ${JSON.stringify(stats.first_error)}`);
      this.state = 'run';
      this.ready();
      return;
    }
    this.complete();
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const conns = Array.from({ length: CONNS }, (_, i) => new Conn(i));
  try {
    await Promise.all(conns.map((c) => c.start()));
  } catch (err) {
    fail(err.message);
  }
  process.stdout.write('READY\n');
  for (const c of conns) c.fire();
  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  recording = true;
  process.stdout.write('MEASURE_START\n');
  await new Promise((r) => setTimeout(r, DURATION * 1000));
  recording = false;
  const t1 = performance.now();
  process.stdout.write('MEASURE_END\n');
  const cpu = process.cpuUsage(cpu0);
  stopping = true;
  const secs = (t1 - t0) / 1000;
  const sorted = lat.subarray(0, nlat).sort();
  const us = (ms) => (ms === null ? null : Math.round(ms * 1000));
  const out = {
    mode: MODE, conns: CONNS, method: MODE === 'ddp' ? METHOD : null, logged_in: USERS.length > 0,
    secs, round_trips: done, rps: done / secs,
    p50_us: us(percentile(sorted, 50)), p90_us: us(percentile(sorted, 90)),
    p99_us: us(percentile(sorted, 99)), max_us: us(percentile(sorted, 100)),
    client_cpu_pct: (100 * (cpu.user + cpu.system)) / 1e6 / secs,
    ...stats,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  clearTimeout(hardStop);
  for (const c of conns) c.ws.terminate();
  setImmediate(() => process.exit(0));
}

main();
