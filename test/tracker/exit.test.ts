/** After close() nothing keeps the process alive: a child that joined topics through a testnet exits by itself. */
import { expect, it } from 'vitest';
import { runChild } from '../helpers/child.js';

it('a process that closed its tracked topics, a node, a discovery and its testnet exits by itself with code 0', async () => {
  const { outcome, stdout, stderr } = await runChild(
    new URL('../helpers/tracker-exit.ts', import.meta.url),
    60_000,
  );
  expect(outcome, stderr).toEqual({ code: 0, signal: null });
  expect(JSON.parse(stdout.trim())).toEqual({ content: 'bye', pending: 'CLOSED' });
}, 90_000);
