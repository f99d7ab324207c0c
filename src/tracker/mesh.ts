/**
 * What the tracker needs from a gossip mesh.
 *
 * `joinTopic` backs a {@link Mesh} with our own gossip topic; `discoverPeers` backs it with the app's
 * callbacks, so apps that bring their own gossip or transport get the same bootstrap loop, publisher and
 * merges ("discovery only", README).
 */
import type { Address, PeerInfo } from '../crypto/index.js';

export { type Candidate, candidatesOf } from './bootstrap.js';

/** The mesh a tracker feeds. Every method is cheap and synchronous. */
export interface Mesh {
  /** Where others reach us: the addresses our records advertise. */
  addresses(): Address[];
  /** Current neighbours with the addresses we know for them (the first few go into our records). */
  neighbors(): PeerInfo[];
  /** Ids of recent swarm messages (sent and received), newest first. */
  recentMessageIds(): Uint8Array[];
  /** Whether we have at least one neighbour. */
  isJoined(): boolean;
  /** Ask the mesh to join through `peer` (for `discoverPeers`: hand the candidate to the app). */
  join(peer: PeerInfo): void;
  /** Calls `fire` whenever a neighbour comes up; returns the unsubscribe function. */
  onNeighborUp(fire: () => void): () => void;
  /**
   * Calls `fire` whenever joining a peer we asked to join (`join`) is no longer under way: its dial
   * failed, or our request was answered or timed out (a neighbour that came of it also fires
   * `onNeighborUp`); returns the unsubscribe function. The bootstrap loop lets a slow JOIN finish
   * (up to `dialWaitMs`) before it asks the next candidate, and moves on at this event. Optional:
   * without it, the loop waits `settleMs` per candidate, as the reference does.
   */
  onJoinSettled?(fire: (peer: Uint8Array) => void): () => void;
  /**
   * Calls `fire` whenever `addresses()` changed (a port mapping granted, an external address
   * learned); returns the unsubscribe function. Optional: without it, records pick up new addresses
   * at their next publication.
   */
  onAddressesChanged?(fire: () => void): () => void;
}

/**
 * The connected components of `peers` over their neighbour lists, each link taken as undirected (either
 * side reporting it counts; views are briefly asymmetric while a JOIN or DISCONNECT is in flight),
 * largest first. Neighbours outside `peers` are ignored. For tests, benchmarks and the demo: "is this a
 * single mesh?".
 */
export function meshComponents(
  peers: readonly { id: string; neighbors(): readonly string[] }[],
): Set<string>[] {
  const adjacency = new Map<string, Set<string>>(peers.map((p) => [p.id, new Set<string>()]));
  for (const p of peers) {
    for (const n of p.neighbors()) {
      if (n === p.id || !adjacency.has(n)) continue;
      adjacency.get(p.id)!.add(n);
      adjacency.get(n)!.add(p.id);
    }
  }
  const seen = new Set<string>();
  const out: Set<string>[] = [];
  for (const start of adjacency.keys()) {
    if (seen.has(start)) continue;
    const component = new Set<string>([start]);
    const stack = [start];
    seen.add(start);
    while (stack.length > 0) {
      for (const n of adjacency.get(stack.pop()!)!) {
        if (seen.has(n)) continue;
        seen.add(n);
        component.add(n);
        stack.push(n);
      }
    }
    out.push(component);
  }
  return out.sort((a, b) => b.size - a.size);
}
