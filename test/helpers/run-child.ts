/**
 * Runs a TypeScript script in a child process and reports how it ended, for tests that prove nothing
 * keeps the process alive after close(): a child that does not exit within `budgetMs` is killed and
 * reported as 'still running'.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type ChildOutcome = { code: number | null; signal: NodeJS.Signals | null } | 'still running';

export async function runChild(
  script: URL,
  budgetMs: number,
): Promise<{ outcome: ChildOutcome; stdout: string; stderr: string }> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(script)], {
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
    new Promise<ChildOutcome>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    new Promise<ChildOutcome>((resolve) => {
      timer = setTimeout(() => resolve('still running'), budgetMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === 'still running') child.kill('SIGKILL');
  return { outcome, stdout, stderr };
}
