/**
 * One peer of the NAT lab (test/helpers/nat-lab.ts), run as a child inside its namespace by
 * `npm run bench:nat`: the library's front door (`createNode`, `join`, `joined`, `broadcast`) on a DHT
 * node of its own that lives as long as the process (so the lab DHT's tables hold no dead nodes between
 * runs), a fresh node per run.
 *
 *   nat-peer.ts BOOTSTRAP [HOST] [--await-mapping]
 *       BOOTSTRAP: comma-separated host:port; HOST: bind the DHT and the listener there (a public peer),
 *       else 0.0.0.0; --await-mapping: `start` waits for a port mapping under way (behind a router
 *       that answers NAT-PMP)
 *
 * Commands, one JSON object a line on stdin: `{"cmd":"start"}` (a fresh node: prints `started` with its
 * id, advertised addresses and port mapping state, once a port mapping under way is granted or given up), `{"cmd":"join","topic":…}` (prints `published` at its first published
 * record and `joined`, in ms since the command), `{"cmd":"broadcast","text":…}`, `{"cmd":"stop"}`
 * (closes the node; prints `stopped` with its transport stats). Every `message` received is printed.
 * Every TCP socket the process opens (only the gossip transport opens any: the DHT is UDP) is printed
 * as `dial` with its target and, once it closes, whether it connected: Node's `net.client.socket`
 * diagnostics channel, outside the library. The process ends when stdin closes, or after its lifetime.
 */
import dc from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { Dht } from '../../src/dht/index.js';
import { createNode, type TopicNode } from '../../src/index.js';
import type { TrackedTopic } from '../../src/tracker/join.js';

const LIFETIME_MS = 15 * 60_000;
/** Longer than the port mapper's four resends (250 + 500 + 1000 + 2000 ms). */
const MAPPING_WAIT_MS = 5000;
setTimeout(() => process.exit(3), LIFETIME_MS).unref();
const print = (event: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ ...event, run })}\n`);

const args = process.argv.slice(2);
const awaitMapping = args.includes('--await-mapping');
const [bootstrapArg, host] = args.filter((a) => !a.startsWith('--'));
const bootstrap = (bootstrapArg ?? '').split(',').filter((x) => x);
let t0 = performance.now();
/** Which node (run) of this process an event belongs to: 0 before the first start. */
let run = 0;
const ms = () => Math.round(performance.now() - t0);

dc.subscribe('net.client.socket', (message) => {
  const socket = (message as { socket: Socket }).socket;
  let target: { host: string; port: number } | undefined;
  let connected = false;
  socket.once('connectionAttempt', (ip: string, port: number) => {
    target = { host: ip, port };
    print({ type: 'dial', ...target, t: ms() });
  });
  socket.once('connect', () => {
    connected = true;
    // Now, not at close: a socket still open when the node stops may close after its `stopped`.
    if (target) print({ type: 'dial-connected', ...target, t: ms() });
  });
  socket.once('close', () => {
    if (target) print({ type: 'dial-end', ...target, connected, t: ms() });
  });
});

/**
 * Waits while the node's port mapping is being asked for (bounded by the client's ~3.75 s of resends):
 * a home peer that has been up a while has its mapping, and topology C measures dials into it.
 */
async function mappingSettled(n: TopicNode): Promise<void> {
  const state = n.stats.gossip.portMapping.state;
  if (!awaitMapping) return;
  if (state !== 'asking') return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, MAPPING_WAIT_MS);
    const off = n.gossip.watchAddresses(done);
    function done() {
      clearTimeout(timer);
      off();
      resolve();
    }
  });
}

const dht = await Dht.create({ bootstrap, bootstrapTimeoutMs: 10_000, ...(host ? { host } : {}) });
let node: TopicNode | undefined;
let topic: TrackedTopic | undefined;
print({ type: 'ready' });

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const command = JSON.parse(line) as { cmd: string; topic?: string; text?: string };
  try {
    if (command.cmd === 'start') {
      run++;
      t0 = performance.now();
      node = await createNode({ dht, listen: host ? `${host}:0` : '0.0.0.0:0' });
      await mappingSettled(node);
      print({
        type: 'started',
        id: node.id,
        addresses: node.gossip.addresses(),
        portMapping: node.stats.gossip.portMapping.state,
      });
    } else if (command.cmd === 'join' && node) {
      t0 = performance.now();
      const joined = node.join(command.topic!);
      topic = joined;
      let published = false;
      joined.on('status', (e) => {
        if (e.type === 'published' && !published) {
          published = true;
          print({ type: 'published', t: ms() });
        }
      });
      joined.on('message', (m) =>
        print({ type: 'message', text: new TextDecoder().decode(m.content), t: ms() }),
      );
      joined.joined().then(
        () => print({ type: 'joined', t: ms() }),
        () => {},
      );
    } else if (command.cmd === 'broadcast' && topic) {
      topic.broadcast(new TextEncoder().encode(command.text!));
    } else if (command.cmd === 'stop' && node) {
      const stats = node.stats.gossip.transport;
      const portMapping = node.stats.gossip.portMapping;
      const advertised = node.gossip.addresses();
      await node.close();
      node = undefined;
      topic = undefined;
      print({
        type: 'stopped',
        dialAttempts: stats.dialAttempts,
        dialsFailed: stats.dialsFailed,
        dialsRefused: stats.dialsRefused,
        inboundAccepted: stats.inboundAccepted,
        advertised,
        external: dht.externalAddress ?? null,
        reachable: dht.reachable,
        portMapping,
      });
    }
  } catch (error) {
    print({ type: 'error', message: String(error) });
  }
}
await node?.close();
await dht.close();
process.exit(0);
