/**
 * The external-address scenario of `npm run bench:interop`: in the NAT lab (test/helpers/external-lab.ts,
 * root only), a node at home behind the router's NAT bootstraps once to libtorrent nodes and once to
 * our own nodes, and reports the external address it learned from BEP 42 `ip` fields. Correct: the
 * router's internet address, with the probe's own port (MASQUERADE keeps it).
 */
import {
  createExternalLab,
  externalLabUnavailable,
  type Learned,
  ROUTER_WAN,
} from '../helpers/external-lab.js';

/** What the NAT lab learned as its external address, and whether that is the router's; or why not. */
export interface ExternalAddressResult {
  /** The address learned from our nodes (`host:port`), or null. */
  learned: string | null;
  /** True when both sources taught the router's address and the mapped port. */
  correct: boolean | null;
  fromLibtorrent?: string | null;
  fromOurNodes?: string | null;
  skipped?: string;
}

const text = (l: Learned) => (l.address ? `${l.address.host}:${l.address.port}` : null);
const right = (l: Learned) => l.address?.host === ROUTER_WAN && l.address.port === l.localPort;

/** Runs the scenario, or reports why it cannot run here. */
export async function measureExternalAddress(): Promise<ExternalAddressResult> {
  const unavailable = await externalLabUnavailable();
  if (unavailable) return { learned: null, correct: null, skipped: unavailable };
  const lab = await createExternalLab();
  try {
    if (!lab.libtorrent) return { learned: null, correct: null, skipped: 'python3-libtorrent unavailable' };
    const fromLt = await lab.learned(lab.probe(lab.libtorrent));
    const fromOurs = await lab.learned(lab.probe(lab.ours));
    return {
      learned: text(fromOurs),
      correct: right(fromLt) && right(fromOurs),
      fromLibtorrent: text(fromLt),
      fromOurNodes: text(fromOurs),
    };
  } finally {
    await lab.close();
  }
}
