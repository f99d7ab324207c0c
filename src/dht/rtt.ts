/**
 * A round-trip-time estimator for KRPC queries, after RFC 6298 §2 (TCP's retransmission timer):
 * smoothed RTT `srtt` and variation `rttvar`, updated with gains 1/8 and 1/4, and a delay of
 * `srtt + 4·rttvar`, clamped to [min, max]. Pure: callers measure and feed samples.
 *
 * A walk uses it as its stall delay (see `lookup.ts`): on loopback that is a few tens of milliseconds,
 * on the Internet a few hundred, and under CPU load (which delays replies) it grows with the samples.
 */
export class RttEstimator {
  readonly #minMs: number;
  readonly #maxMs: number;
  #srtt: number | undefined;
  #rttvar = 0;

  /** Before the first sample the delay is `maxMs`. */
  constructor(options: { minMs: number; maxMs: number }) {
    this.#minMs = Math.min(options.minMs, options.maxMs);
    this.#maxMs = options.maxMs;
  }

  /** Feeds one measured round trip (ms). */
  sample(rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    if (this.#srtt === undefined) {
      this.#srtt = rttMs;
      this.#rttvar = rttMs / 2;
      return;
    }
    this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - rttMs);
    this.#srtt = 0.875 * this.#srtt + 0.125 * rttMs;
  }

  /** The current delay: srtt + 4·rttvar, within [minMs, maxMs]. */
  get delayMs(): number {
    if (this.#srtt === undefined) return this.#maxMs;
    const rto = this.#srtt + 4 * this.#rttvar;
    return Math.round(Math.min(this.#maxMs, Math.max(this.#minMs, rto)));
  }
}
