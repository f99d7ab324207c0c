/**
 * Runs TypeScript programs as child processes: the real `gtt` command for the tests in test/cli
 * ({@link Gtt}), the examples (test/examples) and the scripts that prove a process exits after close()
 * ({@link runChild}). A {@link Child} collects stdout and lets a test wait
 * for a line or a pattern (never sleep); every child still running when the test ends is killed by
 * {@link killAll}.
 *
 * A child runs as `node BUNDLE` when the run's global setup compiled SCRIPT (bundle-children.ts: the
 * CLI, the examples, the exit scripts), and as `node --import tsx SCRIPT` otherwise.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where bundle-children.ts left the bundles (an environment variable: the test workers inherit it). */
export const BUNDLES_ENV = 'GTT_TEST_CHILD_BUNDLES';

/** How node runs `script` (a path from the repository root, or absolute): its bundle, or through tsx. */
function nodeArgs(script: string): string[] {
  const bundles = process.env[BUNDLES_ENV];
  const rel = relative(ROOT, isAbsolute(script) ? script : join(ROOT, script));
  const bundle = bundles && join(bundles, rel.replace(/\.ts$/, '.js'));
  return bundle && existsSync(bundle) ? [bundle] : ['--import', 'tsx', script];
}

const running = new Set<Child>();

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How a child ended, or 'still running' once its budget was spent (it is then killed). */
export type ChildOutcome = Exit | 'still running';

/**
 * One running child: `script` (a path from the repository root) with `args`. stdin stays open (so
 * `gtt join` stays) until {@link end}.
 */
export class Child {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  /** Everything printed so far, the line being written included. */
  text = '';
  stderr = '';
  readonly exit: Promise<Exit>;
  /** `script args…`, for failure messages. */
  readonly #what: string;
  #partial = '';
  #closed = false;
  readonly #waiters = new Set<() => void>();

  /** `netns`: run inside that network namespace (`ip netns exec`, which execs in place: same pid). */
  constructor(
    script: string,
    args: readonly string[] = [],
    env: Record<string, string> = {},
    { netns }: { netns?: string } = {},
  ) {
    this.#what = [script, ...args].join(' ');
    const argv = [process.execPath, ...nodeArgs(script), ...args];
    const [command, ...rest] = netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
    this.child = spawn(command!, rest, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    running.add(this);
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      this.text += chunk;
      const parts = (this.#partial + chunk).split('\n');
      this.#partial = parts.pop()!;
      this.lines.push(...parts);
      for (const wake of [...this.#waiters]) wake();
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.child.stdin.on('error', () => {}); // the child may exit before we write
    this.exit = new Promise((resolve) => {
      // 'close', not 'exit': by then stdout has been read to its end.
      this.child.once('close', (code, signal) => {
        this.#closed = true;
        running.delete(this);
        resolve({ code, signal });
        for (const wake of [...this.#waiters]) wake();
      });
    });
  }

  /** Everything printed so far (complete lines). */
  get stdout(): string {
    return this.lines.join('\n');
  }

  /** stdout lines that are JSON objects, parsed. */
  get events(): Record<string, unknown>[] {
    return this.lines.flatMap((l) => {
      try {
        const v: unknown = JSON.parse(l);
        return typeof v === 'object' && v !== null ? [v as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }

  /** Resolves with the first stdout line (so far or to come) that passes `match`. */
  line(match: (line: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
    return this.#wait(() => this.lines.find(match), what, timeoutMs);
  }

  /** Resolves with the first match of `re` in everything printed (so far or to come). */
  waitFor(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return this.#wait(() => this.text.match(re) ?? undefined, `output matching ${re}`, timeoutMs);
  }

  /** Resolves with the first JSON event (so far or to come) that passes `match`. */
  event(match: (e: Record<string, unknown>) => boolean, what: string, timeoutMs = 30_000) {
    return this.#wait(() => this.events.find(match), what, timeoutMs);
  }

  /** Writes `text` to the child's stdin. */
  write(text: string): void {
    this.child.stdin.write(text);
  }

  /** Ends the child's stdin. */
  end(): void {
    this.child.stdin.end();
  }

  /** Resolves with the exit, or rejects when it does not come within `timeoutMs`. */
  exited(timeoutMs = 30_000): Promise<Exit> {
    return withTimeout(this.exit, timeoutMs, () => `${this.#what} to exit`, this);
  }

  /** The exit, or 'still running' once `budgetMs` passed (the child is then killed). */
  async outcome(budgetMs: number): Promise<ChildOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race<ChildOutcome>([
      this.exit,
      new Promise<ChildOutcome>((resolve) => {
        timer = setTimeout(() => resolve('still running'), budgetMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'still running') this.kill();
    return outcome;
  }

  /** Kills the child at once (SIGKILL), unless it has exited. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  #wait<T>(find: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found !== undefined) done(() => resolve(found));
        else if (this.#closed) {
          done(() => reject(new Error(`exited before ${what}\n${this.transcript()}`)));
        }
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no ${what} within ${timeoutMs} ms\n${this.transcript()}`))),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** What it printed so far, for failure messages. */
  transcript(): string {
    return `stdout:\n${this.stdout}\nstderr:\n${this.stderr}`;
  }
}

/** The `gtt` command (src/cli/main.ts) with `args`. */
export class Gtt extends Child {
  constructor(args: readonly string[], env: Record<string, string> = {}) {
    super('src/cli/main.ts', args, env);
  }
}

/**
 * Runs `script` (a file URL) to its end, for tests that prove nothing keeps the process alive after
 * close(): a child that does not exit within `budgetMs` is killed and reported as 'still running'.
 */
export async function runChild(
  script: URL,
  budgetMs: number,
): Promise<{ outcome: ChildOutcome; stdout: string; stderr: string }> {
  const child = new Child(fileURLToPath(script));
  child.end(); // nothing to read: an open stdin must not be what keeps it alive
  const outcome = await child.outcome(budgetMs);
  return { outcome, stdout: child.text, stderr: child.stderr };
}

/** Runs `gtt args` to its end (stdin open, then closed once it exits); rejects after `timeoutMs`. */
export async function runGtt(
  args: readonly string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Exit & { stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const gtt = new Gtt(args, opts.env);
  const exit = await gtt.exited(opts.timeoutMs ?? 30_000);
  return { ...exit, stdout: gtt.stdout, stderr: gtt.stderr, ms: performance.now() - started };
}

/** Kills every child still running (afterEach / afterAll). */
export function killAll(): void {
  for (const gtt of running) gtt.child.kill('SIGKILL');
  running.clear();
}

function withTimeout<T>(p: Promise<T>, ms: number, what: () => string, gtt: Child): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${what()} within ${ms} ms\n${gtt.transcript()}`)), ms);
    }),
  ]);
}
