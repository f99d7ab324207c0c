/**
 * `Dht.reachable` and its `'reachable'` event (PROTOCOL.md §6.6): a query from a node we never queried
 * proves inbound packets reach us. Real sockets on 127.0.0.1: a lone Dht node and raw KRPC clients.
 */
import { afterEach, expect, it } from 'vitest';
import { Dht } from '../../src/dht/index.js';
import { RawKrpc } from '../helpers/raw-krpc.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

it("turns true, emitting 'reachable' once, at the first query from a node it never queried", async () => {
  const dht = await Dht.create({ bootstrap: [], host: '127.0.0.1' });
  open.push(dht);
  const client = await RawKrpc.open('127.0.0.1');
  open.push(client);
  let events = 0;
  dht.on('reachable', () => events++);
  expect(dht.reachable).toBe(false);
  const to = { host: '127.0.0.1', port: dht.address().port };
  const reply = await client.query(to, 'ping', { id: client.id });
  expect(reply?.y).toBe('r');
  expect(dht.reachable).toBe(true);
  // A second query changes nothing.
  await client.query(to, 'ping', { id: client.id });
  expect(events).toBe(1);
  expect(dht.stats.external.unsolicitedQueries).toBeGreaterThanOrEqual(1);
});
