/**
 * `gtt testnet`: a local mainline DHT for other terminals' `gtt join --bootstrap …`, until Ctrl-C or
 * SIGTERM. On loopback with any port it is the library's `createTestnet`; `createTestnet` takes neither
 * a port nor a non-loopback host (it is for tests), so with `--port` or another `--host` the nodes are
 * started by the same `startDhtNodes` underneath, on that host and port.
 */
import { startDhtNodes } from '../../dht/testnet.js';
import { createTestnet } from '../../index.js';
import type { TestnetArgs } from '../args.js';
import { type Io, Out, seconds } from '../output.js';
import { INTERRUPTED, startFailure } from './shared.js';

interface LocalDht {
  bootstrap: string;
  close(): Promise<void>;
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

  await stopped;
  offSignal();
  await net.close();
  if (args.json) out.json('stopped');
  else out.line('testnet stopped');
  return 0;
}

async function libraryTestnet(args: TestnetArgs, signal: AbortSignal): Promise<LocalDht> {
  const net = await createTestnet({ nodes: args.nodes, host: args.host, signal });
  return { bootstrap: net.bootstrap[0]!, close: () => net.close() };
}

async function ownTestnet(args: TestnetArgs, signal: AbortSignal): Promise<LocalDht> {
  const { bootstrap, close } = await startDhtNodes({
    common: { host: args.host, port: args.port ?? 0 },
    count: args.nodes,
    signal,
  });
  return { bootstrap: bootstrap[0]!, close };
}
