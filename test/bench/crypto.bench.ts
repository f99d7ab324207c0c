/**
 * `npm run bench:crypto [-- --json] [-- --iterations N]`
 *
 * CPU per operation of the two crypto suites (src/crypto/suite.ts): @noble (`nobleSuite`, the pure-JS
 * reference) and OpenSSL (`nativeSuite`, src/native/crypto.ts, what the transport, the DHT and the
 * record store use). Measures X25519, Ed25519 sign and verify, ChaCha20-Poly1305 on 1100 bytes, and one
 * whole Noise XX handshake (src/net/handshake.ts, PROTOCOL.md §9), both sides in this process: the
 * initiator's CPU, the responder's CPU and the pair's. Each handshake is between two of 64 nodes whose
 * identity and static keys stay the same across handshakes (as a running node's do; OpenSSL's
 * public-key cache then holds the remote's id) with fresh ephemeral keys, as the transport makes them.
 * One thread, no I/O: CPU time (process.cpuUsage) per operation, median of 7 batches.
 * ARCHITECTURE.md "Crypto suite" quotes these figures.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type CryptoSuite, nobleSuite } from '../../src/crypto/suite.js';
import { nativeSuite } from '../../src/native/crypto.js';
import { Handshake } from '../../src/net/handshake.js';
import { median, printTable, round } from './stats.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    iterations: { type: 'string', default: '200' },
  },
});
const iterations = Math.max(1, Number(args.iterations));
const BATCHES = 7;
const NODES = 64;

/** CPU microseconds (user + system) of one call of `f`, median over batches of `n` calls. */
function cpuPerCall(n: number, f: () => void): number {
  f(); // warm-up: JIT, key caches
  const perCall: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) f();
    const d = process.cpuUsage(t0);
    perCall.push((d.user + d.system) / n);
  }
  return median(perCall);
}

interface Node {
  identitySecretKey: Uint8Array;
  staticSecretKey: Uint8Array;
}

/** Initiator, responder and pair CPU (µs) of one handshake between two random nodes of `nodes`. */
function handshakeCpu(crypto: CryptoSuite, nodes: Node[], n: number) {
  const sides = { initiator: [] as number[], responder: [] as number[] };
  let k = 0;
  const once = (): void => {
    const a = nodes[k % NODES]!;
    const b = nodes[(k * 7 + 1) % NODES]!;
    k++;
    const ea = randomBytes(32);
    const eb = randomBytes(32);
    let t = process.cpuUsage();
    const init = new Handshake({ role: 'initiator', ...a, ephemeralSecretKey: ea, crypto });
    const m1 = init.start();
    let i = process.cpuUsage(t);
    t = process.cpuUsage();
    const resp = new Handshake({ role: 'responder', ...b, ephemeralSecretKey: eb, crypto });
    const s2 = resp.receive(m1!);
    let r = process.cpuUsage(t);
    t = process.cpuUsage();
    const s3 = init.receive(s2.send!);
    i = addCpu(i, process.cpuUsage(t));
    t = process.cpuUsage();
    const s4 = resp.receive(s3.send!);
    r = addCpu(r, process.cpuUsage(t));
    if (!s3.done || !s4.done) throw new Error(`handshake failed: ${s3.error ?? s4.error}`);
    sides.initiator.push(i.user + i.system);
    sides.responder.push(r.user + r.system);
  };
  for (let w = 0; w < 10; w++) once();
  sides.initiator.length = 0;
  sides.responder.length = 0;
  const pair = cpuPerCall(n, once);
  return { initiatorUs: median(sides.initiator), responderUs: median(sides.responder), pairUs: pair };
}
const addCpu = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): NodeJS.CpuUsage => ({
  user: a.user + b.user,
  system: a.system + b.system,
});

function measure(name: string, crypto: CryptoSuite) {
  const n = name === 'noble' ? Math.max(1, Math.round(iterations / 4)) : iterations;
  const seed = randomBytes(32);
  const pub = crypto.ed25519PublicKey(seed);
  const msg = randomBytes(200);
  const sig = crypto.ed25519Sign(msg, seed);
  const xs = randomBytes(32);
  const xp = crypto.x25519PublicKey(randomBytes(32));
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const plain = randomBytes(1100);
  const nodes: Node[] = Array.from({ length: NODES }, () => ({
    identitySecretKey: randomBytes(32),
    staticSecretKey: randomBytes(32),
  }));
  const hs = handshakeCpu(crypto, nodes, n);
  return {
    suite: name,
    ed25519VerifyUs: round(cpuPerCall(n, () => crypto.ed25519Verify(sig, msg, pub))),
    ed25519SignUs: round(cpuPerCall(n, () => crypto.ed25519Sign(msg, seed))),
    x25519Us: round(cpuPerCall(n, () => crypto.x25519(xs, xp))),
    aeadEncrypt1100Us: round(
      cpuPerCall(n * 10, () => crypto.aeadEncrypt(key, nonce, new Uint8Array(0), plain)),
    ),
    handshakeInitiatorMs: round(hs.initiatorUs / 1000, 2),
    handshakeResponderMs: round(hs.responderUs / 1000, 2),
    handshakePairMs: round(hs.pairUs / 1000, 2),
  };
}

const results = [measure('noble', nobleSuite), measure('native', nativeSuite)];
const meta = { node: process.version, iterations, batches: BATCHES, date: new Date().toISOString() };
if (args.json) {
  console.log(JSON.stringify({ ...meta, results }));
} else {
  console.log(`crypto CPU per operation, ${meta.node}, median of ${BATCHES} batches`);
  printTable(
    [
      'suite',
      'ed25519 verify µs',
      'sign µs',
      'x25519 µs',
      'aead 1100 B µs',
      'handshake initiator ms',
      'responder ms',
      'pair ms',
    ],
    results.map((r) => [
      r.suite,
      r.ed25519VerifyUs,
      r.ed25519SignUs,
      r.x25519Us,
      r.aeadEncrypt1100Us,
      r.handshakeInitiatorMs,
      r.handshakeResponderMs,
      r.handshakePairMs,
    ]),
  );
}
