/**
 * `npm run sim [-- --json] [-- --large]`: runs the scenarios and prints a table (or a JSON array).
 * SEED=<n> changes the seed (default 1). `--large` adds the 2000-node runs kept out of `npm test`.
 */
import {
  allAtOnce,
  joinScenario,
  killScenario,
  type Result,
  randomSenders,
  singleSender,
} from './scenarios.js';

const json = process.argv.includes('--json');
const large = process.argv.includes('--large');

const runs: Array<() => Result> = [
  () => joinScenario(1000),
  () => singleSender(100),
  () => randomSenders(100),
  () => allAtOnce(100),
  () => singleSender(1000),
  () => killScenario(500, 0.2, 1000),
  () => killScenario(500, 0.5, 3000),
];
if (large)
  runs.push(
    () => singleSender(2000),
    () => randomSenders(1000),
  );

const results: Result[] = [];
for (const run of runs) {
  const r = run();
  results.push(r);
  if (!json) process.stderr.write(`${r.scenario} n=${r.n} done in ${r.wallMs} ms\n`);
}

if (json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const rows = results.map((r) => ({
    scenario: r.scenario,
    N: r.n,
    'delivered %': r.messages === 0 ? '-' : (100 * (1 - r.missed / (r.messages * (r.n - 1)))).toFixed(2),
    missed: r.missed,
    RMR: r.messages === 0 ? '-' : r.rmr.toFixed(3),
    'LDH mean/max': r.messages === 0 ? '-' : `${r.ldhMean.toFixed(1)}/${r.ldhMax}`,
    'heal ms': r.healMs ?? '-',
    'active min/mean': `${r.activeMin}/${r.activeMean.toFixed(2)}`,
    components: r.components,
    'wall ms': r.wallMs,
  }));
  console.table(rows);
}
