/**
 * The examples, each run as its own node process (the example compiled once per run by
 * test/helpers/bundle-children.ts), on its own loopback testnet. Each must print its key line and exit 0 by itself within its budget (an
 * example that leaves something open never exits). They run concurrently: each owns its sockets, and
 * every port is chosen by the OS.
 */
import { readdirSync } from 'node:fs';
import { describe, type ExpectStatic, it } from 'vitest';
import { Child } from '../helpers/child.js';

/** Per example, start to exit. Measured alone: 2–5 s each on 2 cores. */
const BUDGET_MS = 40_000;
/**
 * Examples running at once: one per core of the 2-core CI machine. Each starts node, a 10-node DHT and
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

/** A running example (`examples/NAME.ts`), as its readers run it. */
const example = (name: string, args: string[] = []) => new Child(`examples/${name}.ts`, args);

/** Runs an example to its end; returns its output once it exited 0. */
function run(expect: ExpectStatic, name: string, args: string[] = []): Promise<string> {
  return turn(async () => {
    const child = example(name, args);
    const outcome = await child.outcome(BUDGET_MS);
    expect(outcome, child.transcript()).toEqual({ code: 0, signal: null });
    return child.text;
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
        'many-topics.ts',
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
      const first = example('chat', ['test-chat']);
      let second: Child | undefined;
      try {
        const [, bootstrap] = await first.waitFor(/--bootstrap (127\.0\.0\.1:\d+)\n/, BUDGET_MS);
        second = example('chat', ['test-chat', '--bootstrap', bootstrap!]);
        await Promise.all([first.waitFor(/\* joined/, BUDGET_MS), second.waitFor(/\* joined/, BUDGET_MS)]);
        second.write('hello over stdin\n');
        await first.waitFor(new RegExp(`\\n${hex8}: hello over stdin\\n`), BUDGET_MS);
        first.write('and back\n');
        await second.waitFor(new RegExp(`\\n${hex8}: and back\\n`), BUDGET_MS);
        // End of input (Ctrl-D) leaves: the second chat first, since the first one hosts the DHT.
        second.end();
        expect(await second.outcome(BUDGET_MS), second.stderr).toEqual({ code: 0, signal: null });
        first.end();
        expect(await first.outcome(BUDGET_MS), first.stderr).toEqual({ code: 0, signal: null });
      } finally {
        first.kill();
        second?.kill();
      }
    }));

  it('chat-no-wait: returns before joining, reports status, joins later', async ({ expect }) => {
    const out = await run(expect, 'chat-no-wait');
    expect(out).toMatch(/alice: join returned; joined yet\? false\n/);
    expect(out).toMatch(/alice: publishing our own record \(startup\)\n/);
    expect(out).toMatch(/alice: joined\(\) resolved; neighbours: [1-9]/);
    expect(out).toMatch(/alice received: hi alice, I found you\n/);
  });

  it('full-config: every default spelled out (checked at start-up), two peers join', async ({ expect }) => {
    const out = await run(expect, 'full-config');
    expect(out).toContain('joined with every default: alice ↔ bob = true');
  });

  it('many-topics: one node per peer, three topics each; a firewall refuses mallory', async ({ expect }) => {
    const out = await run(expect, 'many-topics');
    for (const room of ['news', 'sports', 'weather']) {
      expect(out).toContain(`bob heard on ${room}: the ${room} from alice\n`);
    }
    expect(out).toMatch(/bob's node: 3 topics on one listener \(port \d+\)\n/);
    expect(out).toContain('bob refused mallory: true\n');
    expect(out).toContain('bob left sports: 2 topics left\n');
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
