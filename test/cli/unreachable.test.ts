/** `gtt join` and `gtt peers` against a DHT that never answers: a clear message and exit code 1, no hang. */
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { killAll, runGtt } from '../helpers/child.js';

/** A bound UDP port that swallows every query: nothing answers, nothing says "port unreachable". */
let silent: Socket;
let port: number;

beforeAll(async () => {
  silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  port = silent.address().port;
});

afterAll(() => {
  killAll();
  silent?.close();
});

it.concurrent.each([['join'], ['peers']])(
  'gtt %s with an unreachable --bootstrap exits 1 after GTT_BOOTSTRAP_TIMEOUT_MS',
  async (command) => {
    const r = await runGtt([command, 'some topic', '--bootstrap', `127.0.0.1:${port}`], {
      env: { GTT_BOOTSTRAP_TIMEOUT_MS: '1500' },
      timeoutMs: 20_000,
    });
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^gtt ${command}: cannot reach the DHT: No DHT node answered within 1500 ms ` +
          `\\(bootstrap: 127\\.0\\.0\\.1:${port}; \\d+ walks?, \\d+ quer(y|ies): \\d+ timed out, 0 refused or invalid, \\d+ unanswered\\)$`,
      ),
    );
    expect(r.ms).toBeGreaterThanOrEqual(1500);
  },
  30_000,
);
