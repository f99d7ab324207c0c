/**
 * Publishers racing for one slot on real libtorrent nodes: the tracker's start-up race (PROTOCOL.md
 * §6.2, §6.3), as `RecordStore` runs it. The lab, its trials and why they look the way they do are in
 * test/helpers/racing.ts (shared with `npm run bench:interop`, which runs it on four networks).
 *
 * Here: 30 trials of five publishers on a 30-node libtorrent network run relaxed (per-IP DoS block and
 * upload limit out of the way: a lab of the seq race, not of rate limits). A publisher whose `publish`
 * returned `published` is lost when no node holds its value; a copy its final `put` reported
 * `accepted` is a phantom when that node does not hold it. The store must report neither. Skipped,
 * with a one-line reason, where python3-libtorrent is unavailable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { libtorrentAvailable } from '../helpers/libtorrent.js';
import {
  createRacingLab,
  createRacingNetwork,
  RACING_PUBLISHERS,
  type RacingLab,
  type RacingNetwork,
  runRacingTrials,
} from '../helpers/racing.js';

const unavailable = await libtorrentAvailable();
if (unavailable !== undefined) console.log(`test/interop/racing.test.ts skipped: ${unavailable}`);

/**
 * Trials, each a fresh topic and so a fresh slot (measured: 30 take ~40 s on 2 cores, most of it the
 * verifier's pacer: it asks every node 4 times a trial, and sends one address 2.8 queries/s).
 */
const TRIALS = 30;

describe.skipIf(unavailable !== undefined)(
  `${RACING_PUBLISHERS} publishers racing for a slot on libtorrent`,
  () => {
    let network: RacingNetwork | undefined;
    let lab: RacingLab | undefined;

    beforeAll(async () => {
      network = await createRacingNetwork('libtorrent', { lifetimeMs: 240_000 });
      lab = await createRacingLab(network);
    });

    afterAll(async () => {
      await lab?.close();
      await network?.close();
    });

    it('no publisher told "published" is missing, and every copy reported accepted exists', async () => {
      const r = await runRacingTrials(lab!, {
        trials: TRIALS,
        check: (ok, message) => expect(ok, message).toBe(true),
      });
      console.log(
        `racing on libtorrent: ${r.trials} trials × ${r.publishers} publishers: outcomes ${JSON.stringify(r.outcomes)}; ` +
          `${r.lost} of ${r.published} published records lost (trials losing: ${r.trialsLosing.length}); ` +
          `${r.phantoms} of ${r.accepted} accepted copies missing ` +
          `(on libtorrent nodes: ${r.phantomsOnLibtorrent} of ${r.acceptedOnLibtorrent})`,
      );
      expect({ lost: r.lost, phantoms: r.phantoms }).toEqual({ lost: 0, phantoms: 0 });
    });
  },
);
