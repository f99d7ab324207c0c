/**
 * Defaults of the `gtt` command, each with its source. Library defaults (DHT, tracker, gossip) stay in
 * their layers; these only concern the command line.
 */

/**
 * How long `gtt join` / `gtt peers` wait for a first DHT answer before giving up (guess: public routers
 * answer within a second or two; the library default of 10 s feels like a hang at a terminal).
 * Overridable with the environment variable {@link BOOTSTRAP_TIMEOUT_ENV}.
 */
export const CLI_BOOTSTRAP_TIMEOUT_MS = 8000;
/** Environment variable that overrides {@link CLI_BOOTSTRAP_TIMEOUT_MS} (tests set 1500). */
export const BOOTSTRAP_TIMEOUT_ENV = 'GTT_BOOTSTRAP_TIMEOUT_MS';

/**
 * At the end of stdin, how long `gtt join` waits for a neighbour to send the lines still queued (piped
 * input) before it gives up with exit code 1 (guess: a join on the public DHT takes seconds; `--timeout`).
 */
export const JOIN_SEND_TIMEOUT_S = 60;

/** Nodes of `gtt testnet` (guess: enough for every BEP 44 slot to have distinct closest nodes). */
export const TESTNET_NODES = 20;
/** Most nodes `gtt testnet` starts (guess: one process, one core; 500 nodes start in a few seconds). */
export const TESTNET_MAX_NODES = 500;
/** Bind address of `gtt testnet` (loopback: nothing outside this machine can reach it). */
export const TESTNET_HOST = '127.0.0.1';

/** Peers of `gtt demo` (guess: a mesh with more than one hop, still quick on 2 cores). */
export const DEMO_PEERS = 8;
/** Fewest and most peers of `gtt demo` (a demo of one peer shows nothing; 50 is ~1 s of CPU each). */
export const DEMO_MIN_PEERS = 2;
export const DEMO_MAX_PEERS = 50;
/** DHT nodes of the demo's embedded testnet (createTestnet's default; measured ready in ~0.1 s). */
export const DEMO_TESTNET_NODES = 10;
/** Budget for every demo peer to join and the mesh to be one component (guess; ~1.3 s measured for 8). */
export const DEMO_JOIN_TIMEOUT_MS = 20_000;
/**
 * The demo broadcasts once the mesh has been whole and unchanged this long (guess; measured: the views
 * of 8 peers on 2 cores stop changing 50–250 ms after the last one joined).
 */
export const DEMO_QUIET_MS = 300;
/** Budget for every message to reach every peer once the mesh is whole (guess; ms on loopback). */
export const DEMO_DELIVERY_TIMEOUT_MS = 10_000;

/** Longest text of `--name` (guess: a chat nick, short enough for every message line). */
export const MAX_NAME_LENGTH = 32;
/**
 * After a command finished and closed everything, the process should end by itself; if some handle
 * still holds it (a library bug), exit anyway after this long (guess).
 */
export const EXIT_GRACE_MS = 2000;
