/** The status line's wording for tracker events (pure). */
import { expect, it } from 'vitest';
import {
  ago,
  describeStatus,
  describeWaiting,
  messageNote,
  type WaitingState,
} from '../../src/cli/output.js';

const who = (id: string) => id.slice(0, 4);

it('a skipped publish says why: a full minute, or others who published first', () => {
  const skipped = (reason: 'minute-full' | 'others-found', others: number) =>
    describeStatus(
      {
        type: 'published',
        minute: 7,
        reason: 'startup',
        result: { status: 'skipped', reason, minute: 7, others },
      },
      who,
    );
  expect(skipped('minute-full', 5)).toBe('minute 7 already holds 5 records: not publishing');
  expect(skipped('others-found', 0)).toBe('others published for minute 7 first: not publishing');
});

it('merges name their kind, the link step included', () => {
  expect(describeStatus({ type: 'merge', kind: 'link', peers: ['abcdef'] }, who)).toBe(
    'merging (link): dialing abcd',
  );
});

it('a lone peer says how long it has been alone and whether its record is in the DHT', () => {
  const state: WaitingState = { sinceMs: undefined, publishedMinute: undefined };
  const wait = { type: 'wait', ms: 1500, why: 'no-records' } as const;
  expect(describeWaiting(wait, state, 2000)).toBe(
    'alone for 0.0 s, our record is not in the DHT yet: waiting for a peer; reading again in 1.5 s',
  );
  state.publishedMinute = 42;
  expect(describeWaiting({ ...wait, why: 'poll', ms: 2000 }, state, 14_000)).toBe(
    'alone for 12 s, our record for minute 42 is in the DHT: waiting for a peer; reading again in 2.0 s',
  );
  // Records found, every peer asked, none came up: say so (peers behind NATs, PROTOCOL.md §9.7).
  expect(describeWaiting({ ...wait, why: 'poll', ms: 2000, unreachable: 3 }, state, 15_000)).toBe(
    'alone for 13 s, 3 peers found, none reachable yet (behind a NAT?), our record for minute 42 is in the DHT: waiting for a peer; reading again in 2.0 s',
  );
});

it('a replayed message says how long ago it was sent; a live one only its hops', () => {
  const now = 1_800_000_000_000;
  expect(messageNote({ hops: 1, replay: false, sentAt: now - 500_000 }, now)).toBe('(1 hop)');
  expect(messageNote({ hops: 2, replay: true, sentAt: now - 180_000 }, now)).toBe(
    '(2 hops; replayed, sent 3 min ago)',
  );
  expect(messageNote({ hops: 3, replay: true, sentAt: now + 5000 }, now)).toBe(
    '(3 hops; replayed, sent 0 s ago)',
  );
  expect([12_400, 59_499, 60_000, 3_000_000, 7_200_000, 3 * 86_400_000].map(ago)).toEqual([
    '12 s ago',
    '59 s ago',
    '1 min ago',
    '50 min ago',
    '2 h ago',
    '3 d ago',
  ]);
});
