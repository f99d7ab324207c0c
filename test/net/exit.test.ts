/** After Gossip.close() nothing keeps the process alive: a child process that used two nodes exits by itself. */
import { expect, it } from 'vitest';
import { runChild } from '../helpers/child.js';

it('a process that closed its Gossip nodes exits by itself with code 0', async () => {
  const { outcome, stdout, stderr } = await runChild(
    new URL('../helpers/gossip-exit.ts', import.meta.url),
    30_000,
  );
  expect(outcome, stderr).toEqual({ code: 0, signal: null });
  expect(JSON.parse(stdout.trim())).toEqual({ content: 'bye', pending: 'CLOSED' });
}, 45_000);
