/**
 * The command line of `gtt`: which command, and its options, validated once here. Every
 * mistake is a {@link UsageError} with a one-line message; `main` prints it and exits with code 2.
 */
import { isIPv4 } from 'node:net';
import { type ParseArgsConfig, parseArgs } from 'node:util';
// The pure address module, not the package index: parsing a command line loads no DHT or transport.
import { type Address, formatAddress, parseAddress } from '../crypto/address.js';
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

/** The commands of `gtt`, in the order the help lists them. */
export const COMMANDS = ['join', 'peers', 'testnet', 'demo'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** Bad input on the command line (or in the environment): exit code 2. */
export class UsageError extends Error {
  /** The command it concerns, for the message prefix (`gtt join: …`). */
  readonly command: CommandName | undefined;

  constructor(message: string, command?: CommandName) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** How `gtt join` and `gtt peers` reach the DHT. */
export interface DhtArgs {
  /** `host:port` entries; undefined for the library default (the public mainline routers). */
  bootstrap: string[] | undefined;
  bootstrapTimeoutMs: number;
}

export interface JoinArgs extends DhtArgs {
  topic: string;
  secret: string | undefined;
  name: string | undefined;
  /** Where the gossip node listens; undefined for the library default (0.0.0.0, any port). */
  listen: { host: string; port: number } | undefined;
  /** At the end of stdin, how long lines still queued may wait for a neighbour (s). */
  timeoutS: number;
  json: boolean;
}

export interface PeersArgs extends DhtArgs {
  topic: string;
  secret: string | undefined;
  json: boolean;
}

export interface TestnetArgs {
  nodes: number;
  host: string;
  /** UDP port of the bootstrap node; undefined for any free port. */
  port: number | undefined;
  json: boolean;
}

export interface DemoArgs {
  peers: number;
  json: boolean;
}

/** What to run. */
export type Command =
  | { name: 'help'; command: CommandName | undefined }
  | { name: 'version' }
  | { name: 'join'; args: JoinArgs }
  | { name: 'peers'; args: PeersArgs }
  | { name: 'testnet'; args: TestnetArgs }
  | { name: 'demo'; args: DemoArgs };

const HELP = { help: { type: 'boolean', short: 'h' } } as const;
const JSON_FLAG = { json: { type: 'boolean' } } as const;
const SECRET = { secret: { type: 'string' } } as const;
const BOOTSTRAP = { bootstrap: { type: 'string', multiple: true } } as const;

const OPTIONS = {
  join: {
    ...HELP,
    ...JSON_FLAG,
    ...SECRET,
    ...BOOTSTRAP,
    name: { type: 'string' },
    listen: { type: 'string' },
    timeout: { type: 'string' },
  },
  peers: { ...HELP, ...JSON_FLAG, ...SECRET, ...BOOTSTRAP },
  testnet: {
    ...HELP,
    ...JSON_FLAG,
    nodes: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
  },
  demo: { ...HELP, ...JSON_FLAG, peers: { type: 'string' } },
} as const satisfies Record<CommandName, ParseArgsConfig['options']>;

/**
 * Parses `argv` (without the node and script paths) into a command.
 * @throws {UsageError} for anything wrong: unknown command or flag, missing or empty topic, bad
 *   host:port, numbers out of range, a bad {@link BOOTSTRAP_TIMEOUT_ENV}.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command (try gtt --help)');
  if (first === '--help' || first === '-h' || first === 'help') {
    if (rest.length === 0) return { name: 'help', command: undefined };
    const topic = rest[0]!;
    if (rest.length > 1 || !isCommand(topic)) throw new UsageError(`no help for ${quote(rest.join(' '))}`);
    return { name: 'help', command: topic };
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    if (rest.length > 0) throw new UsageError(`${first} takes no arguments`);
    return { name: 'version' };
  }
  if (first.startsWith('-')) throw new UsageError(`unknown option ${first} (try gtt --help)`);
  if (!isCommand(first)) {
    throw new UsageError(
      `unknown command ${quote(first)} (commands: ${COMMANDS.join(', ')}; try gtt --help)`,
    );
  }
  try {
    return parseCommand(first, rest, env);
  } catch (e) {
    if (e instanceof UsageError) throw e.command === undefined ? new UsageError(e.message, first) : e;
    throw e;
  }
}

function parseCommand(command: CommandName, args: readonly string[], env: NodeJS.ProcessEnv): Command {
  switch (command) {
    case 'join': {
      const { values, positionals } = parse(args, OPTIONS.join);
      if (values.help) return { name: 'help', command };
      return {
        name: 'join',
        args: {
          topic: topicOf(positionals),
          secret: secretOf(values.secret),
          name: nameOf(values.name),
          listen: values.listen === undefined ? undefined : hostPort(values.listen, '--listen', true),
          timeoutS: integer(values.timeout, '--timeout', JOIN_SEND_TIMEOUT_S, 1, 86_400),
          json: values.json ?? false,
          ...dhtArgs(values.bootstrap, env),
        },
      };
    }
    case 'peers': {
      const { values, positionals } = parse(args, OPTIONS.peers);
      if (values.help) return { name: 'help', command };
      return {
        name: 'peers',
        args: {
          topic: topicOf(positionals),
          secret: secretOf(values.secret),
          json: values.json ?? false,
          ...dhtArgs(values.bootstrap, env),
        },
      };
    }
    case 'testnet': {
      const { values, positionals } = parse(args, OPTIONS.testnet);
      if (values.help) return { name: 'help', command };
      noPositionals(positionals);
      const host = values.host ?? TESTNET_HOST;
      if (!isIPv4(host) || host === '0.0.0.0') {
        throw new UsageError(
          `--host expects the IPv4 address other peers reach the testnet at (e.g. 127.0.0.1), got ${quote(host)}`,
        );
      }
      return {
        name: 'testnet',
        args: {
          nodes: integer(values.nodes, '--nodes', TESTNET_NODES, 1, TESTNET_MAX_NODES),
          host,
          port: values.port === undefined ? undefined : integer(values.port, '--port', 0, 0, 65_535),
          json: values.json ?? false,
        },
      };
    }
    case 'demo': {
      const { values, positionals } = parse(args, OPTIONS.demo);
      if (values.help) return { name: 'help', command };
      noPositionals(positionals);
      return {
        name: 'demo',
        args: {
          peers: integer(values.peers, '--peers', DEMO_PEERS, DEMO_MIN_PEERS, DEMO_MAX_PEERS),
          json: values.json ?? false,
        },
      };
    }
  }
}

function isCommand(word: string): word is CommandName {
  return (COMMANDS as readonly string[]).includes(word);
}

/** `node:util` parseArgs in strict mode, its errors turned into one-line usage errors. */
function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(parseArgsMessage(e));
  }
}

function parseArgsMessage(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option ${unknown[1]}`;
  const missing = /^Option '(-[^ ']+)(?: <value>)?' argument missing/.exec(message);
  if (missing) return `${missing[1]} needs a value`;
  const ambiguous = /^Option '(-[^ ']+)' argument is ambiguous/.exec(message);
  if (ambiguous)
    return `${ambiguous[1]} needs a value (write ${ambiguous[1]}=-… for a value that starts with -)`;
  return message.split('\n')[0]!;
}

function topicOf(positionals: readonly string[]): string {
  if (positionals.length === 0) throw new UsageError('missing topic');
  if (positionals.length > 1) {
    throw new UsageError(
      `expected one topic, got ${positionals.length} arguments (${positionals.map(quote).join(' ')}); quote a topic with spaces`,
    );
  }
  const topic = positionals[0]!;
  if (topic.trim() === '') throw new UsageError('the topic must not be empty');
  return topic;
}

function noPositionals(positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${quote(positionals[0]!)}`);
}

function secretOf(secret: string | undefined): string | undefined {
  if (secret !== undefined && secret === '') throw new UsageError('--secret must not be empty');
  return secret;
}

function nameOf(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  if (name.trim() === '') throw new UsageError('--name must not be empty');
  if (name.length > MAX_NAME_LENGTH) {
    throw new UsageError(`--name must be at most ${MAX_NAME_LENGTH} characters, got ${name.length}`);
  }
  if (/\p{Cc}/u.test(name)) throw new UsageError('--name must not contain control characters');
  return name;
}

/** An integer flag in [min, max], or `fallback` when absent. */
function integer(text: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= min && n <= max)) {
    throw new UsageError(`${flag} expects a whole number from ${min} to ${max}, got ${quote(text)}`);
  }
  return n;
}

/**
 * `host:port` or `[ipv6]:port` through the library's address parser (which takes ports 1–65535);
 * `allowAnyPort` also takes port 0 (any free port, for a listener).
 */
function hostPort(text: string, flag: string, allowAnyPort: boolean): Address {
  const example = allowAnyPort ? '127.0.0.1:0' : '127.0.0.1:6881';
  const bad = () => new UsageError(`${flag} expects host:port (e.g. ${example}), got ${quote(text)}`);
  const anyPort = allowAnyPort ? /^(.+):0{1,5}$/.exec(text) : null;
  try {
    if (anyPort) return { host: parseAddress(`${anyPort[1]}:1`).host, port: 0 };
    return parseAddress(text);
  } catch {
    throw bad();
  }
}

function dhtArgs(bootstrap: string[] | undefined, env: NodeJS.ProcessEnv): DhtArgs {
  return {
    bootstrap: bootstrap === undefined ? undefined : bootstrapList(bootstrap),
    bootstrapTimeoutMs: bootstrapTimeout(env),
  };
}

/** Each `--bootstrap` may also hold a comma-separated list. The DHT speaks IPv4 only. */
function bootstrapList(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    for (const entry of value.split(',')) {
      const address = hostPort(entry.trim(), '--bootstrap', false);
      if (address.host.includes(':')) {
        throw new UsageError(`--bootstrap: the DHT speaks IPv4 only, got ${quote(entry.trim())}`);
      }
      out.push(formatAddress(address));
    }
  }
  return out;
}

function bootstrapTimeout(env: NodeJS.ProcessEnv): number {
  const text = env[BOOTSTRAP_TIMEOUT_ENV];
  if (text === undefined || text === '') return CLI_BOOTSTRAP_TIMEOUT_MS;
  const n = /^\d{1,7}$/.test(text) ? Number(text) : 0;
  if (n < 1) {
    throw new UsageError(
      `${BOOTSTRAP_TIMEOUT_ENV} expects a whole number of milliseconds, got ${quote(text)}`,
    );
  }
  return n;
}

/** A value quoted for an error message (JSON string syntax: control characters stay visible). */
export function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
