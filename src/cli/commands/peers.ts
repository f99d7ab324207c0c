/**
 * `gtt peers <topic>`: reads the topic's records of the current and the previous minute with a
 * throwaway identity (so every record shows as someone else's) and prints them. Publishes nothing.
 */
import { randomBytes } from 'node:crypto';
import { Dht } from '../../dht.js';
import {
  formatAddress,
  keyPairFromSeed,
  type ReadResult,
  RecordStore,
  type StoredRecord,
  TopicId,
  unixMinute,
} from '../../records.js';
import type { PeersArgs } from '../args.js';
import { type Io, Out, plural, seconds, shortId } from '../output.js';
import { dhtOptions, dhtTarget, interrupted, startFailure } from './shared.js';

/** Runs `gtt peers`; resolves with the exit code. */
export async function peers(args: PeersArgs, io: Io): Promise<number> {
  const out = new Out(io);
  const abort = new AbortController();
  const offSignal = io.onSignal(() => abort.abort());
  try {
    let dht: Dht;
    try {
      dht = await Dht.create(dhtOptions(args), { signal: abort.signal });
    } catch (e) {
      if (abort.signal.aborted) return interrupted('peers', io);
      return startFailure('peers', e, io, args.json ? out : undefined);
    }
    try {
      const store = new RecordStore({
        dht,
        topic: TopicId.fromName(args.topic),
        secret: args.secret,
        // A throwaway identity: none of the records is ours, so all of them are listed.
        keyPair: keyPairFromSeed(randomBytes(32)),
      });
      const now = Date.now();
      const minute = unixMinute(now);
      const views = await Promise.all(
        [minute, minute - 1].map((m) => store.read(m, { signal: abort.signal })),
      );
      if (args.json) out.json('peers', { topic: args.topic, minutes: views.map((v) => minuteJson(v, now)) });
      else printHuman(args, views, now, out);
      return 0;
    } catch (e) {
      if (abort.signal.aborted) return interrupted('peers', io);
      return startFailure('peers', e, io, args.json ? out : undefined);
    } finally {
      await dht.close();
    }
  } finally {
    offSignal();
  }
}

function minuteJson(view: ReadResult, now: number) {
  return {
    minute: view.minute,
    ageMs: now - view.minute * 60_000,
    records: view.records.map((r) => ({
      publisher: hex(r.publisher),
      addresses: r.addresses.map(formatAddress),
      peers: r.peers.map((p) => ({ id: hex(p.id), addresses: p.addresses.map(formatAddress) })),
      messageIds: r.messageIds.length,
      slot: r.slot,
      seq: r.seq,
    })),
    rejected: view.rejected,
  };
}

function printHuman(args: PeersArgs, views: readonly ReadResult[], now: number, out: Out): void {
  const secret = args.secret === undefined ? 'no secret' : 'with a secret';
  out.line(`topic ${JSON.stringify(args.topic)} (${secret}), DHT via ${dhtTarget(args.bootstrap)}`);
  const publishers = new Set<string>();
  for (const view of views) {
    const age = seconds(now - view.minute * 60_000);
    out.line('');
    out.line(`minute ${view.minute} (started ${age} ago): ${plural(view.records.length, 'record')}`);
    for (const r of view.records) {
      publishers.add(hex(r.publisher));
      printRecord(r, now, out);
    }
    const rejected = Object.entries(view.rejected).map(([reason, n]) => `${reason} ${n}`);
    out.line(`  rejected values: ${rejected.length === 0 ? 'none' : rejected.join(', ')}`);
  }
  out.line('');
  if (publishers.size === 0) {
    out.line(
      `no records in minutes ${views.map((v) => v.minute).join(' and ')}: nobody published in the last ` +
        'two minutes, or they use another secret',
    );
  } else {
    const total = views.reduce((n, v) => n + v.records.length, 0);
    out.line(`${plural(total, 'record')} from ${plural(publishers.size, 'publisher')}`);
  }
}

function printRecord(r: StoredRecord, now: number, out: Out): void {
  out.line(`  ${hex(r.publisher)}`);
  out.line(`    addresses: ${r.addresses.map(formatAddress).join(', ') || '(none)'}`);
  const peers = r.peers.map((p) => {
    const addresses = p.addresses.map(formatAddress).join(', ');
    return addresses === '' ? shortId(hex(p.id)) : `${shortId(hex(p.id))} (${addresses})`;
  });
  out.line(`    active peers: ${peers.length === 0 ? 'none' : `${peers.length}: ${peers.join(', ')}`}`);
  out.line(
    `    age ${seconds(now - r.minute * 60_000)}, slot ${r.slot}, seq ${r.seq}, ` +
      `${plural(r.messageIds.length, 'recent message id')}`,
  );
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}
