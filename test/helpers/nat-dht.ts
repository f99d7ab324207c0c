/**
 * Our DHT nodes inside a NAT lab namespace (test/helpers/nat-lab.ts), run as a child process and read
 * through line-delimited JSON on stdout:
 *
 *   serve HOSTS [BOOTSTRAP]   one `Dht` per host of the comma-separated HOSTS (any free port), the
 *                             first bootstrapped to BOOTSTRAP (comma-separated host:port, may be
 *                             empty), the others to the first; prints {"type":"ready","nodes":[…]}
 *                             and serves until stdin closes; then {"type":"stats","nodes":[…]}.
 *   probe BOOTSTRAP MS [JSON] one `Dht` (options JSON merged in) bootstrapped to BOOTSTRAP; prints
 *                             {"type":"external",…} when `externalAddress` is learned (or
 *                             {"type":"timeout",…} after MS), then its read-only state and stats, and
 *                             exits once `readOnly` is what JSON's `expectReadOnly` asks (if given)
 *                             or at once.
 * Every run ends by itself: stdin closing, or a lifetime of two minutes.
 */
import { Dht, type DhtOptions } from '../../src/dht/index.js';

const LIFETIME_MS = 120_000;
const lifetime = setTimeout(() => process.exit(3), LIFETIME_MS);
lifetime.unref();
const print = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
const list = (s: string | undefined) => (s ?? '').split(',').filter((x) => x);

async function serve(hosts: string[], bootstrap: string[]): Promise<void> {
  const nodes: Dht[] = [];
  for (const host of hosts) {
    const first = nodes[0]?.address();
    nodes.push(
      await Dht.create({
        host,
        port: 0,
        bootstrap: first ? [`${hosts[0]}:${first.port}`] : bootstrap,
        bootstrapTimeoutMs: 5000,
      }),
    );
  }
  print({
    type: 'ready',
    nodes: nodes.map((d, i) => ({ host: hosts[i], port: d.address().port })),
  });
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve));
  print({
    type: 'stats',
    nodes: nodes.map((d) => ({ server: d.stats.server, external: d.externalAddress })),
  });
  await Promise.all(nodes.map((d) => d.close()));
}

async function probe(bootstrap: string[], waitMs: number, extra: Record<string, unknown>): Promise<void> {
  const { expectReadOnly, ...options } = extra;
  const dht = await Dht.create({ bootstrap, bootstrapTimeoutMs: 10_000, ...(options as DhtOptions) });
  const local = dht.address().port;
  const learned = await new Promise<boolean>((resolve) => {
    if (dht.externalAddress) return resolve(true);
    const timer = setTimeout(() => resolve(false), waitMs);
    dht.once('external-address', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  print({ type: learned ? 'external' : 'timeout', address: dht.externalAddress ?? null, localPort: local });
  if (typeof expectReadOnly === 'boolean') {
    // Walk now and then, as a tracker would, until the state is reached (the lifetime bounds it).
    while (dht.readOnly !== expectReadOnly) await dht.refresh();
    await dht.refresh(); // one walk in that state, for the nodes it asks to see
  }
  print({ type: 'done', readOnly: dht.readOnly, stats: dht.stats.external });
  await dht.close();
}

const [mode, a, b, c] = process.argv.slice(2);
const done =
  mode === 'serve'
    ? serve(list(a), list(b))
    : mode === 'probe'
      ? probe(list(a), Number(b), c ? (JSON.parse(c) as Record<string, unknown>) : {})
      : Promise.reject(new Error(`unknown mode ${mode}`));
done.then(
  () => process.exit(0),
  (error: unknown) => {
    print({ type: 'error', message: String(error) });
    process.exit(1);
  },
);
