/**
 * `gtt` on bad input, help and version. A few cases run the real program (exit code 2, one line on
 * stderr, nothing on stdout); the whole table of mistakes runs through the parser in-process.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, parseCommandLine, UsageError } from '../../src/cli/args.js';
import { killAll, runGtt } from '../helpers/child.js';

afterAll(killAll);

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

describe('the gtt program', () => {
  it.concurrent.each([
    { args: ['join', 't', '--frobnicate'], error: /^gtt join: unknown option --frobnicate$/ },
    { args: ['join', ''], error: /^gtt join: the topic must not be empty$/ },
    { args: ['join', 't', '--listen', 'nowhere'], error: /^gtt join: --listen expects host:port/ },
    { args: ['frobnicate'], error: /^gtt: unknown command "frobnicate"/ },
  ])('gtt $args exits 2 with a one-line error', async ({ args, error }) => {
    const r = await runGtt(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(error);
  });

  it.concurrent('--help exits 0 and names every command; --version prints the package version', async () => {
    const [help, joinHelp, v] = await Promise.all([
      runGtt(['--help']),
      runGtt(['join', '--help']),
      runGtt(['--version']),
    ]);
    expect(help.code).toBe(0);
    for (const command of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(joinHelp.code).toBe(0);
    for (const flag of ['--secret', '--name', '--listen', '--bootstrap', '--json'])
      expect(joinHelp.stdout).toContain(flag);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(version);
  });
});

describe('parseCommandLine', () => {
  const env = {};
  const usage = (argv: string[], e: NodeJS.ProcessEnv = env) => {
    try {
      parseCommandLine(argv, e);
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      return (error as UsageError).message;
    }
    throw new Error(`no usage error for ${JSON.stringify(argv)}`);
  };

  it('refuses every malformed command line with a one-line message', () => {
    const cases: [string[], RegExp][] = [
      [[], /missing command/],
      [['--frob'], /unknown option --frob/],
      [['join'], /missing topic/],
      [['join', '   '], /must not be empty/],
      [['join', 'a', 'b'], /expected one topic, got 2/],
      [['join', 't', '--secret'], /--secret needs a value/],
      [['join', 't', '--secret', ''], /--secret must not be empty/],
      [['join', 't', '--name', 'x'.repeat(33)], /at most 32/],
      [['join', 't', '--name', 'a\u001b[2Jb'], /control characters/],
      [['join', 't', '--listen', '127.0.0.1'], /--listen expects host:port/],
      [['join', 't', '--listen', '127.0.0.1:65536'], /--listen expects host:port/],
      [['join', 't', '--listen', '::1:5'], /--listen expects host:port/],
      [['join', 't', '--bootstrap', '127.0.0.1:0'], /--bootstrap expects host:port/],
      [['join', 't', '--bootstrap', '[::1]:6881'], /IPv4 only/],
      [['join', 't', '--json=yes'], /does not take an argument/],
      [['peers'], /missing topic/],
      [['peers', 't', '--listen', '127.0.0.1:0'], /unknown option --listen/],
      [['testnet', '--nodes', '0'], /--nodes expects a whole number from 1/],
      [['testnet', '--nodes', '2.5'], /--nodes/],
      [['testnet', '--port', '70000'], /--port/],
      [['testnet', '--host', '0.0.0.0'], /--host/],
      [['testnet', 'extra'], /unexpected argument "extra"/],
      [['demo', '--peers', '1'], /--peers expects a whole number from 2 to 50/],
      [['demo', '--peers', 'many'], /--peers/],
      [['help', 'frob'], /no help for "frob"/],
    ];
    for (const [argv, message] of cases) {
      const m = usage(argv);
      expect(m, JSON.stringify(argv)).toMatch(message);
      expect(m).not.toContain('\n');
    }
    expect(usage(['join', 't'], { GTT_BOOTSTRAP_TIMEOUT_MS: 'soon' })).toMatch(/GTT_BOOTSTRAP_TIMEOUT_MS/);
  });

  it('reads valid command lines, defaults included', () => {
    expect(
      parseCommandLine(
        ['join', 'my topic', '--listen', '127.0.0.1:0', '--bootstrap', '127.0.0.1:1,127.0.0.1:2'],
        {
          GTT_BOOTSTRAP_TIMEOUT_MS: '1500',
        },
      ),
    ).toEqual({
      name: 'join',
      args: {
        topic: 'my topic',
        secret: undefined,
        name: undefined,
        listen: { host: '127.0.0.1', port: 0 },
        timeoutS: 60,
        json: false,
        bootstrap: ['127.0.0.1:1', '127.0.0.1:2'],
        bootstrapTimeoutMs: 1500,
      },
    });
    expect(parseCommandLine(['join', 't', '--timeout', '5'], env)).toMatchObject({ args: { timeoutS: 5 } });
    expect(() => parseCommandLine(['join', 't', '--timeout', '0'], env)).toThrow(/--timeout expects/);
    expect(parseCommandLine(['peers', 't', '--json'], env)).toMatchObject({
      name: 'peers',
      args: { topic: 't', json: true, bootstrap: undefined, bootstrapTimeoutMs: 8000 },
    });
    expect(parseCommandLine(['testnet'], env)).toEqual({
      name: 'testnet',
      args: { nodes: 20, host: '127.0.0.1', port: undefined, json: false },
    });
    expect(parseCommandLine(['demo', '--peers=5'], env)).toEqual({
      name: 'demo',
      args: { peers: 5, json: false },
    });
    expect(parseCommandLine(['join', '--help'], env)).toEqual({ name: 'help', command: 'join' });
    expect(parseCommandLine(['help', 'demo'], env)).toEqual({ name: 'help', command: 'demo' });
    expect(parseCommandLine(['-v'], env)).toEqual({ name: 'version' });
  });
});
