/** The parts README.md's snippets leave to the reader (`mySavedSeed`, …), as test/readme.test.ts runs them. */
import { lastDiscovery } from './index.js';

export const mySavedSeed = crypto.getRandomValues(new Uint8Array(32));
export const myConnections = (): { id: string; addresses?: { host: string; port: number }[] }[] => [];
export const myRecentIds = (): Uint8Array[] => [];
/** A transport that takes the first candidate and ends the snippet's discovery loop. */
export const myTransport = {
  connected: [] as string[],
  connect(id: string, _addresses: readonly { host: string; port: number }[]): void {
    myTransport.connected.push(id);
    void lastDiscovery?.close();
  },
};
