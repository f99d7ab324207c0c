#!/usr/bin/env node
/**
 * `gtt`: the command line of gossip-topic-tracker. `gtt --help` lists the commands; each lives in
 * `./commands/`. Exit codes: 0 done, 1 failed (the DHT did not answer, a demo message went missing), 2
 * bad command line, 130 interrupted (a one-shot command stopped by Ctrl-C).
 */
import { readFileSync } from 'node:fs';
import { type Command, parseCommandLine, UsageError } from './args.js';
import { EXIT_GRACE_MS } from './defaults.js';
import type { Io } from './output.js';
import { helpText } from './usage.js';

/** Runs one command line; resolves with the exit code. */
async function run(argv: readonly string[], io: Io): Promise<number> {
  let command: Command;
  try {
    command = parseCommandLine(argv, io.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`gtt${e.command === undefined ? '' : ` ${e.command}`}: ${e.message}\n`);
    return 2;
  }
  switch (command.name) {
    case 'help':
      io.stdout.write(`${helpText(command.command)}\n`);
      return 0;
    case 'version':
      io.stdout.write(`${version()}\n`);
      return 0;
    // Commands load the library only when they run: help, version and usage errors stay quick.
    case 'join':
      return (await import('./commands/join.js')).join(command.args, io);
    case 'peers':
      return (await import('./commands/peers.js')).peers(command.args, io);
    case 'testnet':
      return (await import('./commands/testnet.js')).testnet(command.args, io);
    case 'demo':
      return (await import('./commands/demo.js')).demo(command.args, io);
  }
}

/** The package version (package.json sits two levels up from both src/cli and dist/cli). */
function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The real process. SIGINT and SIGTERM (and a broken stdout pipe) go to whichever command listens;
 * with nobody listening (a command already closing, or none running) the signals end the process as
 * they normally would.
 */
function processIo(): Io & { dispose(): void } {
  const handlers = new Set<(signal: NodeJS.Signals) => void>();
  const onSignal = (signal: NodeJS.Signals) => {
    if (handlers.size === 0) process.exit(signal === 'SIGINT' ? 130 : 143);
    for (const h of [...handlers]) h(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // stdout closed by its reader (`gtt join --json | head -1`): leave as on SIGTERM, once.
  let broken = false;
  const onStdoutError = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' || broken) return;
    broken = true;
    for (const h of [...handlers]) h('SIGPIPE');
  };
  process.stdout.on('error', onStdoutError);
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    onSignal(fn) {
      handlers.add(fn);
      return () => handlers.delete(fn);
    },
    exit: (code) => process.exit(code),
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

const io = processIo();
const code = await run(process.argv.slice(2), io).catch((e: unknown) => {
  io.stderr.write(`gtt: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return 1;
});
io.dispose();
process.exitCode = code;
// Everything is closed, so the process ends by itself; should some handle still hold it (a bug: the
// tests watch stderr for this warning), end anyway.
setTimeout(() => {
  io.stderr.write(`gtt: warning: still running ${EXIT_GRACE_MS} ms after closing everything; exiting\n`);
  process.exit(code);
}, EXIT_GRACE_MS).unref();
