/**
 * `gtt testnet`, `gtt join` and `gtt peers` as separate processes on 127.0.0.1: two JSON joins and one
 * human one find each other through the testnet, a stdin line of one arrives at the others (live), a
 * late JSON join gets it too, marked as a replay with its send time, `gtt peers` lists their records,
 * and each process leaves cleanly (end of stdin; SIGTERM for the testnet).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { Gtt, killAll, runGtt } from '../helpers/child.js';

afterAll(killAll);

it('two gtt join processes meet through gtt testnet, chat, show up in gtt peers and leave with code 0', async () => {
  const testnet = new Gtt(['testnet', '--nodes', '10', '--json']);
  const ready = await testnet.event((e) => e.event === 'ready', 'testnet ready');
  const bootstrap = ready.bootstrap as string;
  expect(bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);

  const topic = `cli-test-${randomBytes(4).toString('hex')}`;
  const secret = 'cli test secret';
  const common = [topic, '--secret', secret, '--bootstrap', bootstrap, '--listen', '127.0.0.1:0'];
  const a = new Gtt(['join', ...common, '--json', '--name', 'alice']);
  const b = new Gtt(['join', ...common, '--json']);
  const c = new Gtt(['join', ...common]); // a human: status lines, no JSON

  const [aReady] = await Promise.all([a, b].map((p) => p.event((e) => e.event === 'ready', 'ready')));
  await Promise.all([a, b].map((p) => p.event((e) => e.event === 'joined', 'joined')));
  await c.line((l) => /^joined in \d+\.\d s with \d+ neighbours?$/.test(l), 'joined line');

  const beforeSend = Date.now();
  a.write('hello from alice\n');
  const got = await b.event((e) => e.event === 'message', 'message at b');
  expect(got).toMatchObject({ from: aReady!.id, name: 'alice', text: 'hello from alice', replay: false });
  expect(got.hops).toBeGreaterThanOrEqual(1);
  expect(got.sentAt).toBeGreaterThanOrEqual(beforeSend);
  expect(got.sentAt).toBeLessThanOrEqual(Date.now());
  await a.event((e) => e.event === 'sent' && e.text === 'hello from alice', 'sent at a');
  const shown = await c.line((l) => l.includes('hello from alice'), 'message at c');
  expect(shown).toMatch(
    new RegExp(`^<alice ${(aReady!.id as string).slice(0, 8)}> hello from alice {2}\\(\\d hops?\\)$`),
  );

  // A late joiner catches up from its neighbours' cache (30 s): the same message, marked as a replay.
  const d = new Gtt(['join', ...common, '--json']);
  const replayed = await d.event((e) => e.event === 'message', 'replayed message at d');
  expect(replayed).toMatchObject({ id: got.id, text: 'hello from alice', replay: true, sentAt: got.sentAt });

  // The human output tells the bootstrap story as it happens.
  expect(c.lines.some((l) => /^reading records for minute \d+/.test(l))).toBe(true);
  expect(c.lines.some((l) => /^you are [0-9a-f]{8}, listening on 127\.0\.0\.1:\d+$/.test(l))).toBe(true);
  // (A read may end unfinished: a peer dialed by the others before its lookup ended stops reading.)
  expect(b.events.some((e) => e.event === 'status' && e.type === 'read')).toBe(true);

  const peers = await runGtt(['peers', topic, '--secret', secret, '--bootstrap', bootstrap, '--json']);
  expect(peers.code, peers.stderr).toBe(0);
  const listed = JSON.parse(peers.stdout) as { minutes: { records: { publisher: string }[] }[] };
  const publishers = new Set(listed.minutes.flatMap((m) => m.records.map((r) => r.publisher)));
  expect(publishers.size).toBeGreaterThanOrEqual(1);
  const ids = new Set(
    [a, b, d]
      .map((p) => p.events.find((e) => e.event === 'ready')!.id as string)
      .concat(c.lines.flatMap((l) => /^you are ([0-9a-f]{8})/.exec(l)?.[1] ?? [])),
  );
  for (const p of publishers) expect(ids.has(p) || ids.has(p.slice(0, 8))).toBe(true);

  const human = await runGtt(['peers', topic, '--secret', secret, '--bootstrap', bootstrap]);
  expect(human.code, human.stderr).toBe(0);
  expect(human.stdout).toMatch(/\d+ records? from \d+ publishers?$/m);

  for (const p of [a, b, c, d]) p.end();
  for (const p of [a, b, c, d]) {
    expect(await p.exited(), p.transcript()).toEqual({ code: 0, signal: null });
    expect(p.stderr).toBe(''); // nothing held the process open after close()
  }
  expect(a.events.at(-1)?.event).toBe('left');
  expect(c.lines.at(-1)).toBe(`left "${topic}"`);

  testnet.child.kill('SIGTERM');
  expect(await testnet.exited(), testnet.transcript()).toEqual({ code: 0, signal: null });
  expect(testnet.events.at(-1)?.event).toBe('stopped');
  expect(testnet.stderr).toBe('');
}, 90_000);

it('gtt peers on an empty topic says so and exits 0', async () => {
  const testnet = new Gtt(['testnet', '--nodes', '5', '--port', '0']);
  const line = await testnet.line((l) => l.startsWith('--bootstrap '), 'bootstrap line');
  const bootstrap = line.split(' ')[1]!;
  const r = await runGtt(['peers', `nobody-${randomBytes(4).toString('hex')}`, '--bootstrap', bootstrap]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^no records in minutes \d+ and \d+/m);
  expect(r.stderr).toBe('');
  testnet.child.kill('SIGINT');
  expect(await testnet.exited()).toEqual({ code: 0, signal: null });
  expect(testnet.stderr).toBe('');
}, 60_000);
