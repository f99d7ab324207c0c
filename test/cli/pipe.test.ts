/**
 * `gtt join` with piped input (`echo hi | gtt join t`): the end of stdin comes before any neighbour,
 * and the lines must still go out once one is up, or the command must say they did not and exit 1.
 * Also: `gtt testnet` with more than 10 nodes starts without a Node warning on stderr.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Gtt, killAll } from '../helpers/child.js';

let testnet: Gtt;
let bootstrap: string;

beforeAll(async () => {
  testnet = new Gtt(['testnet', '--nodes', '20', '--json']);
  const ready = await testnet.event((e) => e.event === 'ready', 'testnet ready');
  bootstrap = ready.bootstrap as string;
});

afterAll(async () => {
  testnet.child.kill('SIGTERM');
  await testnet.exited();
  killAll();
});

const join = (topic: string, extra: string[] = []) =>
  new Gtt(['join', topic, '--bootstrap', bootstrap, '--listen', '127.0.0.1:0', '--json', ...extra]);

it('gtt testnet with 20 nodes prints no warning', () => {
  expect(testnet.stderr).toBe('');
});

it('lines piped in before any neighbour are sent once one is up, then the command leaves with 0', async () => {
  const topic = `pipe-${randomBytes(4).toString('hex')}`;
  const receiver = join(topic);
  await receiver.event((e) => e.event === 'ready', 'receiver ready');
  const sender = join(topic, ['--name', 'pipe']);
  sender.write('piped hello\n');
  sender.end(); // at once: the end of stdin comes first
  const got = await receiver.event((e) => e.event === 'message', 'message at the receiver', 60_000);
  expect(got).toMatchObject({ name: 'pipe', text: 'piped hello' });
  expect(await sender.exited(60_000), sender.transcript()).toEqual({ code: 0, signal: null });
  expect(sender.events.some((e) => e.event === 'sent' && e.text === 'piped hello')).toBe(true);
  receiver.end();
  expect((await receiver.exited()).code).toBe(0);
}, 90_000);

it('piped lines that find no neighbour within --timeout are reported, exit code 1', async () => {
  const alone = join(`pipe-alone-${randomBytes(4).toString('hex')}`, ['--timeout', '2']);
  alone.write('nobody hears this\n');
  alone.end();
  expect(await alone.exited(30_000), alone.transcript()).toEqual({ code: 1, signal: null });
  expect(alone.stderr).toMatch(/^gtt join: 1 line not sent: no neighbour within 2 s$/m);
  expect(alone.events.some((e) => e.event === 'error' && e.code === 'NOT_SENT')).toBe(true);
}, 60_000);
