/**
 * Options of the public API: every options object, nested ones included, refuses a key it does not
 * know with `INVALID_CONFIG`, naming the key and the one meant (edit distance among the object's keys,
 * a key of the same name deeper down, or a known name from Hyperswarm); and it does so before any
 * socket is bound or any DHT node contacted, so a typo in `secret` can never make a topic public.
 * Address options take "host:port", "[v6]:port" or `{ host, port }`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { keyPairFromSeed } from '../src/crypto/keys.js';
import { TopicId } from '../src/crypto/topic.js';
import { createTestnet, Dht, type Dht as DhtType, parseDhtOptions } from '../src/dht/index.js';
import { GttError } from '../src/errors.js';
import { parseTransportConfig } from '../src/net/config.js';
import { Gossip, type GossipOptions, parseGossipOptions } from '../src/net/gossip.js';
import { Transport } from '../src/net/transport.js';
import { describeIssues, splitHostPort } from '../src/options.js';
import { parseProtoConfig } from '../src/proto/config.js';
import { parseTrackerConfig } from '../src/tracker/config.js';
import { type DiscoverPeersOptions, discoverPeers } from '../src/tracker/discovery.js';
import { type JoinTopicOptions, joinTopic } from '../src/tracker/join.js';
import { RecordStore, type RecordStoreOptions } from '../src/tracker/record-store.js';

/** Nothing in this file may reach the network: a DHT or gossip node started is a failure. */
function forbidNetwork(): void {
  vi.spyOn(Dht, 'create').mockRejectedValue(new Error('Dht.create called: options were not checked first'));
  vi.spyOn(Gossip, 'create').mockRejectedValue(
    new Error('Gossip.create called: options were not checked first'),
  );
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** The INVALID_CONFIG error `run` throws or rejects with. */
async function invalid(run: () => unknown): Promise<GttError> {
  let error: unknown;
  try {
    await run();
  } catch (e) {
    error = e;
  }
  expect(error, 'expected INVALID_CONFIG').toBeInstanceOf(GttError);
  expect((error as GttError).code).toBe('INVALID_CONFIG');
  return error as GttError;
}

const keyPair = keyPairFromSeed(new Uint8Array(32).fill(7));

describe('joinTopic options', () => {
  it('a misspelt secret is refused before any network work, naming secret', async () => {
    forbidNetwork();
    const e = await invalid(() =>
      joinTopic('private', { secrett: 'x', wait: false } as unknown as JoinTopicOptions),
    );
    expect(e.message).toContain('secrett');
    expect(e.message).toContain('did you mean secret?');
    expect(Dht.create).not.toHaveBeenCalled();
    expect(Gossip.create).not.toHaveBeenCalled();
  });

  it("Hyperswarm's top-level bootstrap points to dht.bootstrap (not the public routers)", async () => {
    forbidNetwork();
    const e = await invalid(() =>
      joinTopic('t', { bootstrap: ['127.0.0.1:6881'], wait: false } as unknown as JoinTopicOptions),
    );
    expect(e.message).toMatch(
      /bootstrap: unknown option \(did you mean dht\.bootstrap\? DHT bootstrap nodes/,
    );
    expect(Dht.create).not.toHaveBeenCalled();
  });

  it("maps Hyperswarm's seed, maxPeers and a join timeout to their equivalents", async () => {
    forbidNetwork();
    const e = await invalid(() =>
      joinTopic('t', { seed: new Uint8Array(32), maxPeers: 8, timeout: 5000 } as unknown as JoinTopicOptions),
    );
    expect(e.message).toContain('seed: unknown option (did you mean keyPair?');
    expect(e.message).toContain('keyPairFromSeed');
    expect(e.message).toContain('maxPeers: unknown option (did you mean gossip.transport.maxConnections?');
    expect(e.message).toContain('timeout: unknown option (did you mean signal?');
    expect(e.message).toContain('AbortSignal.timeout');
  });

  it('a key that belongs one level down is pointed there', async () => {
    forbidNetwork();
    const e = await invalid(() =>
      joinTopic('t', { listen: '127.0.0.1:0', replicas: 3 } as unknown as JoinTopicOptions),
    );
    expect(e.message).toContain('listen: unknown option (did you mean gossip.listen?');
    expect(e.message).toContain('replicas: unknown option (did you mean config.store.replicas?');
  });

  it('nested gossip, transport, proto, dht and config options are checked up front', async () => {
    forbidNetwork();
    const e = await invalid(() =>
      joinTopic('t', {
        gossip: {
          lissten: '127.0.0.1:0',
          transport: { keepaliveTimeotMs: 1 },
          proto: { hyparview: { activeViewCapcity: 3 } },
        },
        dht: { bootstap: [] },
        config: { bootstrap: { settelMs: 1 }, store: { replica: 2 } },
      } as unknown as JoinTopicOptions),
    );
    for (const text of [
      'gossip.lissten: unknown option (did you mean gossip.listen?',
      'gossip.transport.keepaliveTimeotMs: unknown option (did you mean gossip.transport.keepaliveTimeoutMs?',
      'gossip.proto.hyparview.activeViewCapcity: unknown option (did you mean gossip.proto.hyparview.activeViewCapacity?',
      'dht.bootstap: unknown option (did you mean dht.bootstrap?',
      'config.bootstrap.settelMs: unknown option (did you mean config.bootstrap.settleMs?',
      'config.store.replica: unknown option (did you mean config.store.replicas?',
    ]) {
      expect(e.message).toContain(text);
    }
    expect(Dht.create).not.toHaveBeenCalled();
    expect(Gossip.create).not.toHaveBeenCalled();
  });

  it('a wrong type for dht or gossip says what is expected', async () => {
    forbidNetwork();
    const e = await invalid(() => joinTopic('t', { dht: 5, gossip: 'x' } as unknown as JoinTopicOptions));
    expect(e.message).toMatch(/dht: expected a Dht or its options/);
    expect(e.message).toMatch(/gossip: expected a Gossip or its options/);
  });

  it('a bad value of a known key is named too', async () => {
    forbidNetwork();
    const e = await invalid(() => joinTopic('t', { wait: 'yes' } as unknown as JoinTopicOptions));
    expect(e.message).toContain('wait:');
  });
});

describe('discoverPeers options', () => {
  const base = { keyPair, addresses: [{ host: '127.0.0.1', port: 1 }], state: () => ({ neighbors: [] }) };

  it('a misspelt secret is refused before any network work', async () => {
    forbidNetwork();
    const e = await invalid(() =>
      discoverPeers('private', { ...base, secrett: 'x' } as unknown as DiscoverPeersOptions),
    );
    expect(e.message).toContain('secrett: unknown option (did you mean secret?');
    expect(Dht.create).not.toHaveBeenCalled();
  });

  it('top-level bootstrap points to dht.bootstrap', async () => {
    forbidNetwork();
    const e = await invalid(() =>
      discoverPeers('t', { ...base, bootstrap: ['127.0.0.1:1'] } as unknown as DiscoverPeersOptions),
    );
    expect(e.message).toContain('bootstrap: unknown option (did you mean dht.bootstrap?');
    const nested = await invalid(() =>
      discoverPeers('t', { ...base, dht: { bootstrapp: [] } } as unknown as DiscoverPeersOptions),
    );
    expect(nested.message).toContain('dht.bootstrapp: unknown option (did you mean dht.bootstrap?)');
    expect(Dht.create).not.toHaveBeenCalled();
  });

  it('addresses take "host:port" as well as { host, port }', async () => {
    forbidNetwork();
    // Past the address check, the (mocked) DHT start is reached.
    await expect(discoverPeers('t', { ...base, addresses: ['127.0.0.1:5', '[::1]:6'] })).rejects.toThrow(
      /Dht\.create called/,
    );
    await expect(discoverPeers('t', { ...base, addresses: ['127.0.0.1'] })).rejects.toThrow(/addresses\[0\]/);
  });
});

describe('new RecordStore options', () => {
  it('a misspelt secret is refused', async () => {
    const options = {
      dht: {} as DhtType,
      topic: TopicId.fromName('x'),
      keyPair,
      secrett: 'x',
    } as unknown as RecordStoreOptions;
    const e = await invalid(() => new RecordStore(options));
    expect(e.message).toContain('secrett: unknown option (did you mean secret?');
    const cfg = await invalid(
      () =>
        new RecordStore({
          dht: {} as DhtType,
          topic: TopicId.fromName('x'),
          keyPair,
          config: { replica: 1 },
        } as unknown as RecordStoreOptions),
    );
    expect(cfg.message).toContain('config.replica: unknown option (did you mean config.replicas?');
  });
});

describe('Gossip options', () => {
  it('an unknown key is refused before the listener is bound', async () => {
    const bind = vi.spyOn(Transport, 'create');
    const e = await invalid(() => Gossip.create({ listen: null, advertize: [] } as unknown as GossipOptions));
    expect(e.message).toContain('advertize: unknown option (did you mean advertise?');
    expect(bind).not.toHaveBeenCalled();
    const port = await invalid(() => Gossip.create({ port: 0 } as unknown as GossipOptions));
    expect(port.message).toContain('port: unknown option (did you mean listen?');
  });

  it('subscribe refuses an unknown option', async () => {
    const g = await Gossip.create({ listen: null });
    try {
      const e = await invalid(() => g.subscribe(TopicId.fromName('t'), { bootstrapp: [] } as never));
      expect(e.message).toContain('bootstrapp: unknown option (did you mean bootstrap?)');
      expect(g.topic(TopicId.fromName('t'))).toBeUndefined();
    } finally {
      await g.close();
    }
  });

  it('listen takes "host:port", "[v6]:port" and { host, port }', async () => {
    expect(parseGossipOptions({ listen: '127.0.0.1:0' }).listen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseGossipOptions({ listen: '[::1]:4000' }).listen).toEqual({ host: '::1', port: 4000 });
    expect(parseGossipOptions({ listen: { port: 5 } }).listen).toEqual({ host: '0.0.0.0', port: 5 });
    expect(parseGossipOptions({ listen: null }).listen).toBeNull();
    expect(parseGossipOptions({ advertise: ['10.0.0.1:7'] }).advertise).toEqual([
      { host: '10.0.0.1', port: 7 },
    ]);
    const bad = await invalid(() => parseGossipOptions({ listen: '::1:4000' }));
    expect(bad.message).toContain('listen: expected "host:port"');
    const extra = await invalid(() =>
      parseGossipOptions({ listen: { host: 'h', port: 1, prot: 2 } as never }),
    );
    expect(extra.message).toContain('listen.prot: unknown option (did you mean listen.port?');

    const g = await Gossip.create({ listen: '127.0.0.1:0' });
    try {
      const [address] = g.addresses();
      expect(address?.host).toBe('127.0.0.1');
      expect(address?.port).toBeGreaterThan(0);
    } finally {
      await g.close();
    }
  });
});

describe('every layer refuses unknown keys, nested ones included', () => {
  it('proto: hyparview, plumtree, limits and the top level', async () => {
    expect(
      (await invalid(() => parseProtoConfig({ hyparview: { activeViewCapcity: 3 } }))).message,
    ).toContain('did you mean hyparview.activeViewCapacity?');
    expect((await invalid(() => parseProtoConfig({ plumtree: { signature: false } }))).message).toContain(
      'did you mean plumtree.signatures?',
    );
    expect((await invalid(() => parseProtoConfig({ limit: {} }))).message).toContain('did you mean limits?');
  });

  it('transport, tracker config and dht', async () => {
    expect((await invalid(() => parseTransportConfig({ maxConection: 1 }))).message).toContain(
      'did you mean maxConnections?',
    );
    expect(
      (await invalid(() => parseTrackerConfig({ merge: { minNeighbours: 2 } } as never))).message,
    ).toContain('did you mean merge.minNeighbors?');
    const dht = await invalid(() => parseDhtOptions({ liveness: { checkMS: 5 }, server: { ratelimit: 1 } }));
    expect(dht.message).toContain('liveness.checkMS: unknown option (did you mean liveness.checkMs?');
    expect(dht.message).toContain('server.ratelimit: unknown option (did you mean server.rateLimit?');
  });
});

describe('describeIssues', () => {
  it('formats paths with indices, the root as (options), and lists the keys when nothing is close', async () => {
    const e = await invalid(() => parseDhtOptions({ bootstrap: ['no-port'], zzz: 1 }));
    expect(e.message).toContain('bootstrap[0].port:');
    expect(e.message).toContain('zzz: unknown option');
    // Nothing close, and the object's keys fit on a line: they are listed.
    forbidNetwork();
    const j = await invalid(() => joinTopic('t', { relay: true } as unknown as JoinTopicOptions));
    expect(j.message).toBe(
      'Invalid joinTopic options: relay: unknown option (expected one of: secret, rotation, keyPair, ' +
        'signal, wait, dht, gossip, peers, config, clock, random)',
    );
    // A key of that name further down is the one meant: the firewall is the gossip node's.
    const f = await invalid(() => joinTopic('t', { firewall: () => true } as unknown as JoinTopicOptions));
    expect(f.message).toBe(
      'Invalid joinTopic options: firewall: unknown option (did you mean gossip.firewall?)',
    );
    expect(describeIssues([{ code: 'custom', path: [], message: 'bad' }])).toBe('(options): bad');
  });
});

describe('splitHostPort', () => {
  it('splits "host:port" and "[v6]:port", leaves objects alone', () => {
    expect(splitHostPort('127.0.0.1:80')).toEqual({ host: '127.0.0.1', port: 80 });
    expect(splitHostPort('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(splitHostPort('example.org:1')).toEqual({ host: 'example.org', port: 1 });
    const o = { host: 'h', port: 1 };
    expect(splitHostPort(o)).toBe(o);
  });

  it('keeps the DHT IPv6 message for "[v6]:port" bootstrap entries', async () => {
    const e = await invalid(() => parseDhtOptions({ bootstrap: ['[::1]:6881'] }));
    expect(e.message).toContain('bootstrap[0].host: IPv6 addresses are not supported');
  });
});

describe('createTestnet options', () => {
  it('refuses unknown keys before starting a node, with a hint', async () => {
    const create = vi.spyOn(Dht, 'create');
    await expect(createTestnet({ nodez: 3 } as never)).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining('nodez: unknown option (did you mean nodes?)'),
    });
    await expect(createTestnet({ bootstrap: [] } as never)).rejects.toThrow(/bootstrap: unknown option/);
    expect(create).not.toHaveBeenCalled();
  });
});

describe('Gossip.create', () => {
  it('takes an AbortSignal: an aborted one rejects with ABORTED and binds nothing', async () => {
    const create = vi.spyOn(Transport, 'create');
    await expect(
      Gossip.create({ listen: '127.0.0.1:0' }, { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({
      code: 'ABORTED',
    });
    expect(create).not.toHaveBeenCalled();
  });
});
