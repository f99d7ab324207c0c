/**
 * `gtt testnet`: a local mainline DHT for other terminals' `gtt join --bootstrap …`, until Ctrl-C or
 * SIGTERM. On loopback with any port it is the library's `createTestnet`; `createTestnet` takes neither
 * a port nor a non-loopback host, so with `--port` or another `--host` the nodes are started here, the
 * same way (the bootstrap node first, the others bootstrapped to it, then refresh walks until every
 * routing table is filled).
 */
import { createTestnet, Dht } from '../../index.js';
import type { TestnetArgs } from '../args.js';
import { TESTNET_REFRESH_ROUNDS } from '../defaults.js';
import { type Io, Out, seconds } from '../output.js';
import { INTERRUPTED, startFailure } from './shared.js';

/** Bucket size of BEP 5 (and bittorrent-dht's default k): a routing table this full is good enough. */
const K = 20;

interface LocalDht {
  bootstrap: string;
  close(): Promise<void>;
  /** Nodes whose routing table is still short after the refresh rounds (own path only). */
  short: number;
}

/** Runs `gtt testnet`; resolves with the exit code once stopped. */
export async function testnet(args: TestnetArgs, io: Io): Promise<number> {
  const out = new Out(io);
  const abort = new AbortController();
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const offSignal = io.onSignal(() => {
    if (abort.signal.aborted) {
      io.stderr.write('gtt testnet: forced exit\n');
      io.exit(INTERRUPTED);
    }
    abort.abort();
    stop();
  });
  if (!args.json) out.line(`starting ${args.nodes} DHT nodes on ${args.host}…`);

  let net: LocalDht;
  try {
    net =
      args.port === undefined && args.host.startsWith('127.')
        ? await libraryTestnet(args, abort.signal)
        : await ownTestnet(args, abort.signal);
  } catch (e) {
    offSignal();
    if (abort.signal.aborted) return 0;
    return startFailure('testnet', e, io, args.json ? out : undefined);
  }

  if (args.json) out.json('ready', { bootstrap: net.bootstrap, nodes: args.nodes });
  else {
    out.line(`DHT testnet of ${args.nodes} nodes ready in ${seconds(out.ms())}; bootstrap with:`);
    out.line(`--bootstrap ${net.bootstrap}`);
    out.line(`e.g. gtt join my-topic --bootstrap ${net.bootstrap}   (Ctrl-C here stops the testnet)`);
  }
  if (net.short > 0) {
    io.stderr.write(`gtt testnet: warning: ${net.short} nodes still have short routing tables\n`);
  }

  await stopped;
  offSignal();
  await net.close();
  if (args.json) out.json('stopped');
  else out.line('testnet stopped');
  return 0;
}

async function libraryTestnet(args: TestnetArgs, signal: AbortSignal): Promise<LocalDht> {
  const net = await createTestnet({ nodes: args.nodes, host: args.host, signal });
  return { bootstrap: net.bootstrap[0]!, close: () => net.close(), short: 0 };
}

async function ownTestnet(args: TestnetArgs, signal: AbortSignal): Promise<LocalDht> {
  const { host } = args;
  const nodes: Dht[] = [];
  const closeAll = async () => {
    await Promise.all(nodes.map((n) => n.close()));
  };
  try {
    const first = await Dht.create({ host, port: args.port ?? 0, bootstrap: [] }, { signal });
    nodes.push(first);
    const bootstrap = `${host}:${first.address().port}`;
    const rest = await Promise.allSettled(
      Array.from({ length: args.nodes - 1 }, () =>
        Dht.create({ host, port: 0, bootstrap: [bootstrap] }, { signal }),
      ),
    );
    for (const r of rest) if (r.status === 'fulfilled') nodes.push(r.value);
    const failed = rest.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    // As createTestnet: refresh walks until every node knows min(n − 1, k) others.
    const wanted = Math.min(args.nodes - 1, K);
    let walkers: Dht[] = nodes;
    for (let round = 0; round < TESTNET_REFRESH_ROUNDS && walkers.length > 0; round++) {
      await Promise.all(walkers.map((n) => n.refresh({ signal })));
      walkers = nodes.filter((n) => n.nodeCount() < wanted);
    }
    return { bootstrap, close: closeAll, short: walkers.length };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
