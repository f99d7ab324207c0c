/**
 * After close() nothing keeps the process alive: a child process that runs a testnet, a put and a get,
 * and closes everything must exit on its own.
 */
import { expect, it } from 'vitest';
import { runChild } from '../helpers/child.js';

it('a process that closed its Dht and testnet exits by itself with code 0', async () => {
  const { outcome, stdout, stderr } = await runChild(
    new URL('../helpers/dht-exit.ts', import.meta.url),
    45_000,
  );
  expect(outcome, stderr).toEqual({ code: 0, signal: null });
  expect(JSON.parse(stdout.trim())).toEqual({ ok: true, values: 1, pending: 'CLOSED' });
}, 60_000);
