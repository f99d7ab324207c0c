/**
 * Issue 5 acceptance, part 2: a split mesh heals through the merges; records naming dead peers are
 * skipped; peers still join while 30% of the DHT dies; a hostile writer without the secret changes
 * nothing. Real DHT testnets on 127.0.0.1, real WebSocket peers.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { deriveMinuteKeys, keyPairFromSeed, TopicId, unixMinute } from '../../src/crypto/index.js';
import { createTestnet } from '../../src/dht/index.js';
import { Gossip } from '../../src/net/gossip.js';
import type { TrackerConfigInput } from '../../src/tracker/config.js';
import type { TrackedTopic } from '../../src/tracker/join.js';
import { RecordStore } from '../../src/tracker/record-store.js';
import { until } from '../helpers/net.js';
import { components, Peers, recordStatus, trackerTestnet, uniq } from '../helpers/tracker.js';

/** DHT nodes reused across runs (fresh topics each run), so starting a peer costs no DHT bootstrap. */
const { peers, pool } = trackerTestnet({ nodes: 30, pool: 22 });
const utf8 = (s: string) => new TextEncoder().encode(s);

/** Short worker intervals, so that "3 merge intervals" is a few seconds. */
const FAST: TrackerConfigInput = {
  publisher: { initialDelayMs: 200, intervalMs: 300, jitterMs: 200, maxIntervalMs: 300 },
  merge: { initialDelayMs: 1000, intervalMs: 1000, jitterMs: 500, maxIntervalMs: 1000 },
  readReuseMs: 250,
};

describe('merges', () => {
  it('two groups of 10, meshed separately, become one mesh within 3 merge intervals; then a broadcast crosses', async () => {
    const topic = uniq('split');
    const topicId = TopicId.fromName(topic);

    // Group B: meshed through explicit peers only (plain gossip nodes, no DHT).
    const gossips: Gossip[] = [];
    for (let i = 0; i < 10; i++) {
      const g = await Gossip.create({ listen: { host: '127.0.0.1', port: 0 } });
      const contact = gossips[Math.floor(Math.random() * gossips.length)];
      const t = g.subscribe(topicId, {
        bootstrap: contact ? [{ id: contact.id, addresses: contact.addresses() }] : [],
      });
      gossips.push(g);
      if (contact) await t.joined();
    }
    try {
      // Group A: through the DHT.
      const groupA: TrackedTopic[] = [];
      for (let i = 0; i < 10; i++) groupA.push(await peers.start(topic, { dht: pool[i], config: FAST }));
      await Promise.all(groupA.map((p) => p.joined()));
      await until(() => components(groupA)[0] === 10, 60_000, 'group A meshed');

      // Attach trackers to group B's existing topics: they are joined already, so they skip bootstrap.
      const groupB: TrackedTopic[] = [];
      for (let i = 0; i < 10; i++) {
        groupB.push(await peers.start(topic, { dht: pool[10 + i], gossip: gossips[i], config: FAST }));
      }
      const all = [...groupA, ...groupB];
      expect(components(all)).toEqual([10, 10]);
      const runsAtSplit = all.map((p) => p.stats.tracker.mergeRuns);

      // Traffic on both sides, so records carry message ids that the other side never saw.
      groupA[0]!.broadcast(utf8('from A'));
      groupB[0]!.broadcast(utf8('from B'));

      await until(() => components(all)[0] === 20, 120_000, 'one mesh of 20');
      const runs = all.map((p, i) => p.stats.tracker.mergeRuns - runsAtSplit[i]!).sort((a, b) => a - b);
      const median = runs[Math.floor(runs.length / 2)]!;
      const merges = all.reduce(
        (s, p) => s + p.stats.tracker.bubbleMerges + p.stats.tracker.overlapMerges,
        0,
      );
      expect(merges).toBeGreaterThan(0);
      expect(median).toBeLessThanOrEqual(3);
      // Group B's trackers found their topics joined through explicit peers: no link step (that is
      // for members dialed after a start-up record), so the merges did the healing.
      expect(groupB.map((p) => p.stats.tracker.links)).toEqual(Array(10).fill(0));

      // A broadcast from one group reaches every member of the other.
      const got = groupB.map(
        (p) => new Promise<void>((resolve) => p.on('message', (m) => m.content[0] === 0x78 && resolve())),
      );
      groupA[3]!.broadcast(utf8('x crosses'));
      await Promise.all(got);
    } finally {
      await peers.closePeers();
      await Promise.all(gossips.map((g) => g.close()));
    }
  }, 240_000);
});

describe('bad records, a dying DHT, a hostile writer', () => {
  it('records that list dead peers are skipped', async () => {
    const topic = uniq('dead');
    // The only live member has no record of its own (a plain gossip node): it is reachable only as the
    // last peer listed in a record whose publisher and other listed peers are all unreachable.
    const live = await Gossip.create({ listen: { host: '127.0.0.1', port: 0 } });
    live.subscribe(TopicId.fromName(topic));
    try {
      const deadKeys = keyPairFromSeed(randomBytes(32));
      const deadStore = new RecordStore({ dht: pool[0]!, topic: TopicId.fromName(topic), keyPair: deadKeys });
      const dead = (port: number) => ({ host: '127.0.0.1', port });
      const deadIds = [0, 1, 2].map(() => keyPairFromSeed(randomBytes(32)).publicKey);
      const r = await deadStore.publish({
        addresses: [dead(9)],
        peers: [
          ...deadIds.map((id, i) => ({ id, addresses: [dead(10 + i)] })),
          { id: hexToBytes(live.id), addresses: live.addresses() },
        ],
        messageIds: [],
      });
      expect(r.status).toBe('published');

      const newcomer = await peers.start(topic, {
        dht: pool[2],
        config: { bootstrap: { maxJoinPeers: 10, publishOnStart: false } },
      });
      const log = recordStatus(newcomer);
      await newcomer.joined();
      expect(newcomer.neighbors()).toEqual([live.id]);
      const dials = log.flatMap((l) => (l.event.type === 'dial' ? [l.event.peer] : []));
      // The record's (dead) publisher first, then its listed peers in random order: every candidate
      // before the live one was dead, was tried, and failed.
      const deadHex = new Set([bytesToHex(deadKeys.publicKey), ...deadIds.map((id) => bytesToHex(id))]);
      const at = dials.indexOf(live.id);
      expect(at).toBeGreaterThanOrEqual(1);
      expect(dials[0]).toBe(bytesToHex(deadKeys.publicKey));
      expect(dials.slice(0, at).every((id) => deadHex.has(id))).toBe(true);
    } finally {
      await live.close();
    }
  }, 60_000);

  it('peers still join while 30% of the DHT testnet nodes are killed during bootstrap', async () => {
    const net = await createTestnet({ nodes: 30 });
    const local = new Peers(() => net);
    try {
      const topic = uniq('dying');
      const first = await local.start(topic);
      const second = await local.start(topic);
      await Promise.all([first.joined(), second.joined()]);
      const newcomers = await Promise.all([0, 1, 2].map(() => local.start(topic)));
      // Kill 9 of 30 (never the bootstrap node, which the newcomers' nodes already used).
      const victims = net.nodes
        .slice(1)
        .sort(() => Math.random() - 0.5)
        .slice(0, 9);
      await Promise.all(victims.map((n) => n.close()));
      await Promise.all(newcomers.map((p) => p.joined()));
      for (const p of newcomers) expect(p.isJoined()).toBe(true);
    } finally {
      await local.closePeers();
      await net.close();
    }
  }, 120_000);

  it('a hostile node that knows the topic name but not the secret writes junk everywhere it can: members still join', async () => {
    const topic = uniq('hostile');
    const secret = 'correct horse battery staple';
    const hostile = pool[20]!;
    const minute = unixMinute(Date.now());
    let accepted = 0;
    // Without the secret the hostile can only derive the secret-less slots: it fills all of them, in
    // the previous, current and next minute, with junk at a huge seq.
    for (const m of [minute - 1, minute, minute + 1]) {
      const keys = deriveMinuteKeys(TopicId.fromName(topic), m);
      for (const salt of keys.salts) {
        const res = await hostile.put(
          { publicKey: keys.slotPublicKey, secretKey: keys.slotSeed, salt },
          randomBytes(900),
          { seq: 2 ** 40 },
        );
        accepted += res.accepted.length;
      }
    }
    expect(accepted).toBeGreaterThan(0);

    const members = await Promise.all([0, 1, 2].map((i) => peers.start(topic, { dht: pool[3 + i], secret })));
    await Promise.all(members.map((p) => p.joined()));
    await until(() => components(members)[0] === 3, 30_000, 'members meshed');
    // Members never even saw the junk: it sits under keys only the secret-less topic uses.
    for (const p of members) expect(p.stats.records.rejected).toEqual({});
  }, 60_000);
});
