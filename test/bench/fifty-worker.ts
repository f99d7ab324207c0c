/**
 * A worker thread of bench:join's "fifty at once" scenario: hosts one {@link PeerGroup} on DHT nodes of
 * its own (joined to the bench's testnet over loopback UDP) and runs it at the bench's command. Loaded
 * through tsx by `workerGroup` in `fifty-threads.ts`.
 *
 * Messages in: `init` (bootstrap, count), `prepare` (topic), `go` (t0), `finish`, `exit`. Out: `ready`,
 * `prepared`, `event` (a {@link GroupEvent}), `summary`, `error`.
 */
import { parentPort } from 'node:worker_threads';
import { Dht } from '../../src/dht/index.js';
import { PeerGroup } from './fifty-group.js';

const port = parentPort;
if (port === null) throw new Error('fifty-worker.ts runs as a worker thread');

let dhts: Dht[] = [];
let group: PeerGroup | undefined;

port.on('message', async (m: { type: string; [k: string]: unknown }) => {
  try {
    switch (m.type) {
      case 'init': {
        const bootstrap = m.bootstrap as string[];
        dhts = await Promise.all(
          Array.from({ length: m.count as number }, () =>
            Dht.create({ host: '127.0.0.1', port: 0, bootstrap }),
          ),
        );
        group = new PeerGroup(dhts, (event) => port.postMessage({ type: 'event', event }));
        port.postMessage({ type: 'ready' });
        break;
      }
      case 'prepare':
        await group!.prepare(m.topic as string);
        port.postMessage({ type: 'prepared' });
        break;
      case 'go':
        await group!.go(m.t0 as number);
        break;
      case 'finish':
        port.postMessage({ type: 'summary', summary: await group!.finish() });
        break;
      case 'exit':
        await Promise.allSettled(dhts.map((d) => d.close()));
        port.close();
        break;
    }
  } catch (error) {
    port.postMessage({ type: 'error', message: error instanceof Error ? error.stack : String(error) });
  }
});
