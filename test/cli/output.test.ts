/** The status line's wording for tracker events (pure). */
import { expect, it } from 'vitest';
import { describeStatus } from '../../src/cli/output.js';

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
