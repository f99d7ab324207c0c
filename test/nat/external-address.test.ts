/**
 * BEP 42 behind a NAT, in the NAT lab (test/helpers/external-lab.ts; root only): a peer at home, behind
 * a MASQUERADE router, learns the router's internet address (and the port it mapped) from the `ip` of
 * DHT replies, both from libtorrent nodes and from our own nodes, which put `ip` in their replies
 * (PROTOCOL.md §6.6). Its voters sit in three distinct /16s of the lab's internet. With
 * `readOnly: 'auto'`, the NATed peer then goes read-only (BEP 43) while a node on the internet, whose
 * external address is its own, never does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll } from '../helpers/child.js';
import {
  createExternalLab,
  type ExternalLab,
  externalLabUnavailable,
  HOME_ADDRESS,
  libtorrentUnavailable,
  PUBLIC_HOST,
  ROUTER_WAN,
} from '../helpers/external-lab.js';

const noLab = await externalLabUnavailable();
const noLibtorrent = noLab ? undefined : await libtorrentUnavailable();
if (noLab) console.log(`test/nat/external-address.test.ts skipped: ${noLab}`);
else if (noLibtorrent)
  console.log(`test/nat/external-address.test.ts: libtorrent case skipped: ${noLibtorrent}`);

describe.skipIf(noLab !== undefined)('a peer behind a NAT learns its external address (BEP 42)', () => {
  let lab: ExternalLab;

  beforeAll(async () => {
    lab = await createExternalLab();
  }, 90_000);

  afterAll(async () => {
    await lab?.close();
    killAll();
  });

  it.skipIf(noLibtorrent !== undefined)('from libtorrent nodes', async () => {
    const child = lab.probe(lab.libtorrent!);
    const learned = await lab.learned(child);
    expect(learned.type).toBe('external');
    expect(learned.address?.host).toBe(ROUTER_WAN);
    expect(learned.address?.host).not.toBe(HOME_ADDRESS);
    // MASQUERADE keeps the source port when it is free.
    expect(learned.address?.port).toBe(learned.localPort);
    expect((await child.exited(15_000)).code).toBe(0);
  });

  it('from our own nodes, which put ip in their replies', async () => {
    const child = lab.probe(lab.ours);
    const learned = await lab.learned(child);
    expect(learned.type).toBe('external');
    expect(learned.address).toMatchObject({ host: ROUTER_WAN, port: learned.localPort });
    expect(learned.address!.voters).toBeGreaterThanOrEqual(3);
    expect((await child.exited(15_000)).code).toBe(0);
  });

  it("readOnly 'auto': the NATed peer goes read-only", async () => {
    const child = lab.probe(lab.ours, { readOnly: 'auto', reachabilityWindowMs: 500, expectReadOnly: true });
    const done = await child.event((e) => e.type === 'done' || e.type === 'error', 'read-only', 60_000);
    expect(done).toMatchObject({ type: 'done', readOnly: true });
    expect((await child.exited(15_000)).code).toBe(0);
  });

  it("readOnly 'auto': a node on the internet, whose external address is its own, stays read-write", async () => {
    const child = lab.probe(
      lab.ours,
      { host: PUBLIC_HOST, readOnly: 'auto', reachabilityWindowMs: 1 },
      lab.lab.inet,
    );
    expect(await lab.learned(child)).toMatchObject({ type: 'external', address: { host: PUBLIC_HOST } });
    const done = await child.event((e) => e.type === 'done', 'done', 15_000);
    expect(done.readOnly).toBe(false);
  });

  it('the nodes the read-only peer asked received its ro=1 queries', async () => {
    lab.ourNodes.end();
    const stats = await lab.ourNodes.event((e) => e.type === 'stats', 'our nodes stats', 15_000);
    const servers = (stats.nodes as { server: { readOnlyQueries: number } }[]).map((n) => n.server);
    expect(servers.reduce((sum, s) => sum + s.readOnlyQueries, 0)).toBeGreaterThan(0);
  });
});
