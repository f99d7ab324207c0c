/** After Gossip.close() nothing keeps the process alive: a child process that used two nodes exits by itself. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const EXIT_BUDGET_MS = 30_000;

it('a process that closed its Gossip nodes exits by itself with code 0', async () => {
  const script = fileURLToPath(new URL('../helpers/gossip-exit.ts', import.meta.url));
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    ),
    new Promise<'still running'>((resolve) => {
      timer = setTimeout(() => resolve('still running'), EXIT_BUDGET_MS);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === 'still running') child.kill('SIGKILL');
  expect(outcome, stderr).toEqual({ code: 0, signal: null });
  expect(JSON.parse(stdout.trim())).toEqual({ content: 'bye', pending: 'CLOSED' });
}, 45_000);
