/**
 * The examples, run the way their readers run them: each in its own process (`node --import tsx`), on
 * its own loopback testnet. Each must print its key line and exit 0 by itself within its budget (an
 * example that leaves something open never exits). They run concurrently: each owns its sockets, and
 * every port is chosen by the OS.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, type ExpectStatic, it } from 'vitest';
import type { ChildOutcome } from '../helpers/run-child.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Per example, start to exit. Measured alone: 2–5 s each on 2 cores. */
const BUDGET_MS = 40_000;
/**
 * Examples running at once: one per core of the 2-core CI machine. Each starts tsx, a 10-node DHT and
 * two or three peers; more at once only adds CPU contention, and a starved peer answers a JOIN after
 * the gossip layer's 500 ms neighbour-request timeout (the new neighbour then flaps down and up).
 */
const MAX_RUNNING = 2;
let running = 0;
const waiting: (() => void)[] = [];

/** Runs `fn` once fewer than MAX_RUNNING examples run; a finished one hands its turn straight on. */
async function turn<T>(fn: () => Promise<T>): Promise<T> {
  if (running < MAX_RUNNING) running++;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** A running example: its output so far, a way to wait for a line, and how it ended. */
class Example {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  /** How it ended; 'still running' once the budget is spent (it is then killed). */
  readonly exit: Promise<ChildOutcome>;
  #ended = false;
  #onOutput = new Set<() => void>();

  constructor(name: string, args: string[] = [], budgetMs = BUDGET_MS) {
    this.child = spawn(process.execPath, ['--import', 'tsx', `examples/${name}.ts`, ...args], { cwd: root });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      for (const fire of this.#onOutput) fire();
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    let timer: NodeJS.Timeout | undefined;
    this.exit = Promise.race([
      // 'close', not 'exit': the output is complete only once the pipes closed.
      new Promise<ChildOutcome>((resolve) =>
        this.child.once('close', (code, signal) => resolve({ code, signal })),
      ),
      new Promise<ChildOutcome>((resolve) => {
        timer = setTimeout(() => resolve('still running'), budgetMs);
      }),
    ]).then((outcome) => {
      clearTimeout(timer);
      if (outcome === 'still running') this.child.kill('SIGKILL');
      this.#ended = true;
      for (const fire of this.#onOutput) fire();
      return outcome;
    });
  }

  /** Resolves with the first match of `re` in stdout; rejects if the example ends without printing it. */
  waitFor(re: RegExp): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.stdout.match(re);
        if (m !== null || this.#ended) this.#onOutput.delete(check);
        if (m !== null) resolve(m);
        else if (this.#ended)
          reject(new Error(`ended without printing ${re}:\n${this.stdout}\n${this.stderr}`));
      };
      this.#onOutput.add(check);
      check();
    });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Runs an example to its end; returns its output once it exited 0. */
function run(expect: ExpectStatic, name: string, args: string[] = []): Promise<string> {
  return turn(async () => {
    const example = new Example(name, args);
    const outcome = await example.exit;
    expect(outcome, `stdout:\n${example.stdout}\nstderr:\n${example.stderr}`).toEqual({
      code: 0,
      signal: null,
    });
    return example.stdout;
  });
}

const hex8 = '[0-9a-f]{8}';

// Tests wait for their turn (MAX_RUNNING) inside their own timeout, hence the long one.
describe.concurrent('examples', { timeout: 120_000 }, () => {
  it('every example has a test here', ({ expect }) => {
    const names = readdirSync(new URL('../../examples', import.meta.url)).filter((f) => f.endsWith('.ts'));
    expect(names.sort()).toEqual(
      [
        'chat-no-wait.ts',
        'chat.ts',
        'discovery-only.ts',
        'full-config.ts',
        'secret-rotation.ts',
        'simple.ts',
        'without-mergers.ts',
      ].sort(),
    );
  });

  it('simple: one peer broadcasts, the other prints it', async ({ expect }) => {
    expect(await run(expect, 'simple')).toContain('bob received: hello from alice');
  });

  it('chat --demo: two in-process chats exchange a line each', async ({ expect }) => {
    const out = await run(expect, 'chat', ['--demo']);
    expect(out).toMatch(new RegExp(`\\[bob sees\\] ${hex8}: hi bob\\n`));
    expect(out).toMatch(new RegExp(`\\[alice sees\\] ${hex8}: hi alice, bye\\n`));
  });

  it('chat: a second chat joins the first through the DHT it printed; lines on stdin travel', ({ expect }) =>
    turn(async () => {
      const first = new Example('chat', ['test-chat']);
      let second: Example | undefined;
      try {
        const [, bootstrap] = await first.waitFor(/--bootstrap (127\.0\.0\.1:\d+)\n/);
        second = new Example('chat', ['test-chat', '--bootstrap', bootstrap!]);
        await Promise.all([first.waitFor(/\* joined/), second.waitFor(/\* joined/)]);
        second.child.stdin.write('hello over stdin\n');
        await first.waitFor(new RegExp(`\\n${hex8}: hello over stdin\\n`));
        first.child.stdin.write('and back\n');
        await second.waitFor(new RegExp(`\\n${hex8}: and back\\n`));
        // End of input (Ctrl-D) leaves: the second chat first, since the first one hosts the DHT.
        second.child.stdin.end();
        expect(await second.exit, second.stderr).toEqual({ code: 0, signal: null });
        first.child.stdin.end();
        expect(await first.exit, first.stderr).toEqual({ code: 0, signal: null });
      } finally {
        first.kill();
        second?.kill();
      }
    }));

  it('chat-no-wait: returns before joining, reports status, joins later', async ({ expect }) => {
    const out = await run(expect, 'chat-no-wait');
    expect(out).toMatch(/alice: joinTopic returned; joined yet\? false\n/);
    expect(out).toMatch(/alice: publishing our own record \(startup\)\n/);
    expect(out).toMatch(/alice: joined\(\) resolved; neighbours: [1-9]/);
    expect(out).toMatch(/alice received: hi alice, I found you\n/);
  });

  it('full-config: every default spelled out (checked at start-up), two peers join', async ({ expect }) => {
    const out = await run(expect, 'full-config');
    expect(out).toContain('joined with every default: alice ↔ bob = true');
  });

  it('secret-rotation: members meet; a wrong secret finds nothing', async ({ expect }) => {
    const out = await run(expect, 'secret-rotation');
    expect(out).toContain('bob received: for members only');
    expect(out).toMatch(/carol \(wrong secret\): still alone after 3 s, \d+ passes, 0 records found/);
  });

  it('without-mergers: three members join and hear a broadcast', async ({ expect }) => {
    const out = await run(expect, 'without-mergers');
    expect(out).toContain(
      'bob and carol received: no merges needed to hear this | no merges needed to hear this',
    );
  });

  it('discovery-only: two apps find each other and connect with their own transport', async ({ expect }) => {
    expect(await run(expect, 'discovery-only')).toMatch(/^(alice|bob) heard: hello from (bob|alice)\n/);
  });
});
