/**
 * IHAVE frames that repeat one unknown message id ~1,900 times (a full 64 KiB frame), sent by a
 * neighbour as fast as its socket drains for a few seconds. Each entry names the attacker as an
 * announcer of the id; the victim must deduplicate and cap them (ARCHITECTURE.md lists the bound), so
 * its heap stays bounded, it stays alive and answering, and honest broadcasts crossing it keep arriving.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { expectAttackBounds } from './bounds.js';
import { HEAP_BOUND_MB, Lab, measureAttack, summary } from './harness.js';

/** IHAVE entries per frame: (65 536 − 36) / 34 = 1926 fit the default maxMessageBytes. */
const ENTRIES = 1900;
const ATTACK_MS = 8000;

const lab = new Lab('ihave-repeat');
afterEach(() => lab.close());

describe('adversarial: IHAVE repeating one unknown id', () => {
  it(`a neighbour's flood costs the victim ≤ ${HEAP_BOUND_MB} MB of heap; honest broadcasts still cross it`, async () => {
    // Honest peers advertise no address: the sender's broadcasts reach the receiver only through the victim.
    const { victim, honest } = await lab.star({ honest: 2 });
    const [sender, receiver] = honest as [typeof victim, typeof victim];
    const r = await measureAttack(lab, {
      name: 'ihave-repeat',
      victim,
      senders: [sender],
      receivers: [receiver],
      // The attacker JOINs first: IHAVE is (or will be) accepted from active neighbours only.
      attack: { durationMs: ATTACK_MS, attack: { kind: 'ihave-repeat', entries: ENTRIES, ratePerSec: 0 } },
    });
    console.log(summary(r));

    // The attack really ran: otherwise every bound below would hold vacuously.
    expect(r.report.ok, `attacker: ${r.report.error}`).toBe(true);
    expect(r.report.counters.joinsAccepted, 'the attacker became a neighbour').toBeGreaterThan(0);
    expect(r.report.counters.framesSent, 'IHAVE frames sent').toBeGreaterThan(0);

    expectAttackBounds(r, {
      heapDetail: `after ${r.report.counters.framesSent} IHAVE frames × ${ENTRIES} repeats of one id`,
    });
  });
});
