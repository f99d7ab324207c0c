/**
 * Where bench:join's "fifty at once" peers run: all in the bench's own thread (`localGroup`), or split
 * over worker threads (`workerGroup`, one {@link PeerGroup} each in `fifty-worker.ts`). Both look the
 * same to the bench: prepare a run, start it, collect its figures.
 *
 * Why threads: peers of a real topic run on separate machines, each with an event loop of its own. In
 * one thread, fifty peers share one event loop and one core: every connection's handshake and every DHT
 * query of every peer queue behind each other, and a message between two peers waits for a whole turn
 * of that loop (measured 100–200 ms while fifty start together). Worker threads give each group its own
 * loop and let the machine's cores share the work, as separate processes would, at a fraction of their
 * memory.
 */
import { Worker } from 'node:worker_threads';
import type { Dht } from '../../src/dht/index.js';
import { type GroupEvent, type GroupSummary, PeerGroup } from './fifty-group.js';

/** A group of peers, in this thread or another. One run at a time. */
export interface GroupHandle {
  /** Creates the run's gossip nodes. */
  prepare(topic: string): Promise<void>;
  /** Starts every peer; `t0` is the run's start (`epochNow`). */
  go(t0: number): void;
  /** The run's figures; its topics and gossip nodes are closed. */
  finish(): Promise<GroupSummary>;
  /** Closes the group's own DHT nodes and thread (a local group's DHT nodes are the caller's). */
  close(): Promise<void>;
}

/** Peers on `dhts`, in this thread. */
export function localGroup(dhts: readonly Dht[], onEvent: (e: GroupEvent) => void): GroupHandle {
  const group = new PeerGroup(dhts, onEvent);
  let started: Promise<void> = Promise.resolve();
  return {
    prepare: (topic) => group.prepare(topic),
    go(t0) {
      started = group.go(t0);
    },
    async finish() {
      await started;
      return group.finish();
    },
    close: async () => {},
  };
}

/** `count` peers in a new worker thread, on DHT nodes of their own bootstrapped from `bootstrap`. */
export async function workerGroup(
  bootstrap: readonly string[],
  count: number,
  onEvent: (e: GroupEvent) => void,
): Promise<GroupHandle> {
  // tsx's loader is not inherited by worker threads on Node 20: load the TypeScript through its API.
  const file = new URL('./fifty-worker.ts', import.meta.url).href;
  const worker = new Worker(
    `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(file)}, ${JSON.stringify(import.meta.url)}))`,
    { eval: true },
  );
  const waiting = new Map<
    string,
    { resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void }
  >();
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  worker.on('message', (m: { type: string; [k: string]: unknown }) => {
    if (m.type === 'event') onEvent(m.event as GroupEvent);
    else if (m.type === 'error') fail(new Error(`fifty worker: ${m.message}`));
    else {
      const w = waiting.get(m.type);
      waiting.delete(m.type);
      w?.resolve(m);
    }
  });
  worker.on('error', fail);
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      fail(new Error(`fifty worker exited (code ${code})`));
      resolve();
    }),
  );
  const ask = (message: Record<string, unknown>, answer: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      if (failure !== undefined) {
        reject(failure);
        return;
      }
      waiting.set(answer, { resolve, reject });
      worker.postMessage(message);
    });
  await ask({ type: 'init', bootstrap, count }, 'ready');
  return {
    prepare: async (topic) => {
      await ask({ type: 'prepare', topic }, 'prepared');
    },
    go(t0) {
      worker.postMessage({ type: 'go', t0 });
    },
    finish: async () => (await ask({ type: 'finish' }, 'summary')).summary as GroupSummary,
    async close() {
      // A worker that failed may be gone already; one that hangs is stopped after a grace period.
      worker.postMessage({ type: 'exit' });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
      clearTimeout(timer);
      await worker.terminate();
    },
  };
}
