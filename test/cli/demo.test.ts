/** `gtt demo`: the whole product in one offline process; it exits 0 only on full delivery. */
import { afterAll, expect, it } from 'vitest';
import { killAll, runGtt } from '../helpers/child.js';

afterAll(killAll);

it('gtt demo --peers 5 joins five peers into one mesh and delivers every message', async () => {
  const r = await runGtt(['demo', '--peers', '5'], { timeoutMs: 50_000 });
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  expect(r.stdout).toContain('delivered 20/20');
  expect(r.stdout).toMatch(/joined +5\/5 peers; time to join min/);
  expect(r.stdout).toMatch(/peer \d found \d+ records?, dialed peer \d/);
  expect(r.stdout).toMatch(/closed everything/);
  expect(r.stderr).toBe('');
}, 60_000);
