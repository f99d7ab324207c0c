/**
 * The part of k-bucket (bittorrent-dht's routing table; a devDependency only for the test that checks
 * `closestInTree` against it) that the tests use.
 */
declare module 'k-bucket' {
  export default class KBucket<T extends { id: Uint8Array } = { id: Uint8Array }> {
    constructor(options?: { localNodeId?: Uint8Array; numberOfNodesPerKBucket?: number });
    add(contact: T): this;
    closest(id: Uint8Array, n?: number): T[];
    count(): number;
  }
}
