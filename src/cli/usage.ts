/** The help texts of `gtt`: `gtt --help`, `gtt help <command>`, `gtt <command> --help`. */
import type { CommandName } from './args.js';
import {
  BOOTSTRAP_TIMEOUT_ENV,
  CLI_BOOTSTRAP_TIMEOUT_MS,
  DEMO_MAX_PEERS,
  DEMO_MIN_PEERS,
  DEMO_PEERS,
  JOIN_SEND_TIMEOUT_S,
  MAX_NAME_LENGTH,
  TESTNET_HOST,
  TESTNET_MAX_NODES,
  TESTNET_NODES,
} from './defaults.js';

const DHT_FLAGS = `  --secret S             the topic's secret: only holders find, read or write its records
                         (without one, anyone who guesses the topic name can; see README)
  --bootstrap host:port  DHT node to bootstrap from; repeat it or separate with commas
                         (default: the public mainline routers)`;

const ENVIRONMENT = `Environment:
  ${BOOTSTRAP_TIMEOUT_ENV}  how long to wait for a first DHT answer (default ${CLI_BOOTSTRAP_TIMEOUT_MS})`;

const MAIN = `gtt — find the peers of a topic through the BitTorrent mainline DHT and gossip with them

Usage: gtt <command> [options]

Commands:
  join <topic>   join a topic and chat: stdin lines go out, messages come in
  peers <topic>  list the records of a topic in the DHT (this minute and the last)
  testnet        run a local DHT to test with, offline
  demo           N peers in one process on an embedded testnet, offline; a timeline and a summary

Options:
  -h, --help     this help; gtt <command> --help (or gtt help <command>) for a command's
  -v, --version  print the version

Examples:
  gtt join my-topic --secret 'only we know this' --name alice
  gtt peers my-topic --secret 'only we know this'
  gtt testnet                                   # then, in other terminals:
  gtt join my-topic --bootstrap 127.0.0.1:PORT  # PORT as printed by gtt testnet
  gtt demo --peers 8

${ENVIRONMENT}

Exit codes: 0 done, 1 failed (e.g. the DHT did not answer), 2 bad command line, 130 interrupted
(Ctrl-C during gtt peers or gtt demo; gtt join and gtt testnet treat it as the normal way out: 0,
but a second Ctrl-C while they close forces 130; 143 for a SIGTERM that arrives after a command is
done). Through npm run gtt, npm itself also gets Ctrl-C and reports 130 whatever gtt returned: run
npx gtt or node_modules/.bin/gtt for gtt's own code.`;

const JOIN = `Usage: gtt join <topic> [options]

Joins <topic> through the DHT and turns the terminal into a chat: every line you type is broadcast to
the topic's members; their messages print with their name (or the first 8 hex digits of their id) and
the number of hops they took. A message that did not come live (one sent before you joined, which a
neighbour passes on, or a repair) ends with "replayed, sent 3 min ago" by its sender's clock. While it bootstraps, a status line shows what it does: reading records,
found records, publishing ours, dialing peers, joined; alone, how long and whether peers can find it.
Ctrl-C, SIGTERM or the end of stdin leave the topic cleanly (exit code 0). Lines typed while it has
no neighbour wait for the next one; at the end of stdin (e.g. echo hi | gtt join t), lines still
waiting are sent once a neighbour is up, within --timeout seconds, else they are reported and the exit
code is 1. Ctrl-C leaves at once (waiting lines are dropped).

Options:
${DHT_FLAGS}
  --name N               a name sent with your messages (at most ${MAX_NAME_LENGTH} characters)
  --listen host:port     where the gossip node listens (default 0.0.0.0:0: every interface,
                         any free port); port 0 picks a free port
  --timeout S            at the end of stdin, how long waiting lines may wait for a neighbour
                         (default ${JOIN_SEND_TIMEOUT_S})
  --json                 one JSON object per line for every event, no status line (for scripts)
  -h, --help             this help

Messages: a line goes out as the UTF-8 JSON {"name": N, "text": line} ("name" only with --name).
A payload from another app that is not such an envelope prints as its text if it is UTF-8, else as
hex.

JSON output (--json), one object per line, each with "event" and "at" (ms since start):
  {"event":"ready","id","topic","addresses"}     the DHT and the gossip node are up
  {"event":"addresses","addresses","portMapping"?}
                                                 what we advertise changed: a port mapping
                                                 ("nat-pmp" or "upnp") or an external address
  {"event":"status","type":…}                    what the tracker does: read, record, read-done,
                                                 publish, published, dial, wait, joined, merge, error
  {"event":"joined","neighbors"}                 first neighbour
  {"event":"neighbor-up","peer"}, {"event":"neighbor-down","peer","cause"}
  {"event":"message","id","from","name","text","hops","sentAt","replay"}
                                                 "sentAt": the sender's unix ms; "replay": true when
                                                 it did not come live; "text" null and "hex" set
                                                 for binary
  {"event":"sent","id","text"}                   one of your lines went out
  {"event":"error","code","message"}, {"event":"left"}

Examples:
  gtt join my-topic --secret 'only we know this' --name alice
  gtt join my-topic --bootstrap 127.0.0.1:6881 --listen 127.0.0.1:0 --json

${ENVIRONMENT}`;

const PEERS = `Usage: gtt peers <topic> [options]

Reads the records of <topic> for the current and the previous unix minute from the DHT and prints, for
each: its publisher, the addresses it gave, the active peers (mesh neighbours) it listed, its age (how
long ago its minute started) and how many values in the slots were rejected, by reason. Exits 0 even
when there are no records. It publishes nothing.

Options:
${DHT_FLAGS}
  --json                 one JSON object: {"topic","minutes":[{"minute","ageMs","records","rejected"}]}
  -h, --help             this help

Examples:
  gtt peers my-topic --secret 'only we know this'
  gtt peers my-topic --bootstrap 127.0.0.1:6881 --json

${ENVIRONMENT}`;

const TESTNET = `Usage: gtt testnet [options]

Runs a local mainline DHT of real nodes and prints the --bootstrap value to give gtt join and gtt peers
in other terminals. Runs until Ctrl-C or SIGTERM, then closes its nodes (exit code 0).

Options:
  --nodes N      DHT nodes to run (default ${TESTNET_NODES}, at most ${TESTNET_MAX_NODES})
  --host H       IPv4 address to bind, the one the other peers reach (default ${TESTNET_HOST})
  --port P       UDP port of the bootstrap node (default: any free port)
  --json         JSON lines: {"event":"ready","bootstrap":"host:port","nodes"}, at the end
                 {"event":"stopped"}
  -h, --help     this help

Examples:
  gtt testnet
  gtt testnet --nodes 50 --port 6881
  gtt join my-topic --bootstrap 127.0.0.1:6881     # in another terminal`;

const DEMO = `Usage: gtt demo [options]

Everything in one process and offline (127.0.0.1 only): an embedded DHT testnet and N peers that all
join a fresh random topic (with a secret) at the same moment, each with its own DHT node and gossip
node. Prints a timeline (milliseconds since start) of what they do, waits until all joined one
connected mesh, has every peer broadcast one message, waits until every peer has every other peer's
message, then prints a summary: time to join (min / median / max), messages delivered / expected, DHT
records published. Exit code 0 on full delivery, 1 otherwise.

Options:
  --peers N      peers to run (default ${DEMO_PEERS}, from ${DEMO_MIN_PEERS} to ${DEMO_MAX_PEERS})
  --json         one JSON object per line: the timeline, then {"event":"summary",…}
  -h, --help     this help

Example:
  gtt demo --peers 8`;

/** The help text of `command`, or the main help. */
export function helpText(command: CommandName | undefined): string {
  switch (command) {
    case undefined:
      return MAIN;
    case 'join':
      return JOIN;
    case 'peers':
      return PEERS;
    case 'testnet':
      return TESTNET;
    case 'demo':
      return DEMO;
  }
}
