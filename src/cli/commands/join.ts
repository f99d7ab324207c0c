/**
 * `gtt join <topic>`: joinTopic, then a terminal chat. stdin lines are broadcast as chat envelopes
 * (../message.ts); what the tracker does shows on a live status line until joined; `--json` prints every
 * event as a JSON line instead. A message that did not come live (a newcomer's catch-up, a repair:
 * `replay`, PROTOCOL.md §8.6) says how long ago its origin sent it. Ctrl-C, SIGTERM or the end of stdin leave cleanly with exit code 0; at
 * the end of stdin, lines still waiting for a neighbour (piped input: `echo hi | gtt join t`) are sent
 * first, within `--timeout` seconds, else the exit code is 1.
 */
import { createInterface } from 'node:readline';
import { Dht } from '../../dht.js';
import { joinTopic, type TopicMessage, type TrackedTopic, type TrackerEvent } from '../../index.js';
import { formatAddress } from '../../records.js';
import type { JoinArgs } from '../args.js';
import { MAX_NAME_LENGTH } from '../defaults.js';
import { decodeChat, encodeChat } from '../message.js';
import {
  describeStatus,
  describeWaiting,
  errorFields,
  errorMessage,
  type Io,
  messageNote,
  Out,
  PlainScreen,
  plural,
  type Screen,
  sanitize,
  shortId,
  statusFields,
  TtyScreen,
  type WaitingState,
} from '../output.js';
import { dhtOptions, dhtTarget, INTERRUPTED, startFailure } from './shared.js';

/** Runs `gtt join`; resolves with the exit code. */
export async function join(args: JoinArgs, io: Io): Promise<number> {
  const out = new Out(io);
  const tty = !args.json && io.stdout.isTTY === true && io.stdin.isTTY === true;
  const rl = createInterface({
    input: io.stdin,
    output: tty ? io.stdout : undefined,
    terminal: tty,
    prompt: '',
  });
  const screen: Screen | undefined = args.json
    ? undefined
    : tty
      ? new TtyScreen(io.stdout, rl)
      : new PlainScreen(out);

  // Leaving: the first request leaves cleanly, a second one (Ctrl-C again while closing) exits at once.
  const abort = new AbortController();
  let left: () => void = () => {};
  const leaving = new Promise<void>((resolve) => {
    left = resolve;
  });
  const leave = () => {
    if (abort.signal.aborted) {
      io.stderr.write('gtt join: forced exit\n');
      io.exit(INTERRUPTED);
    }
    abort.abort();
    left();
  };
  const offSignal = io.onSignal(leave);
  rl.on('SIGINT', leave); // Ctrl-C on a terminal in raw mode

  const queued: string[] = [];
  let exitCode = 0;
  let stopped = false;
  // End of stdin (Ctrl-D, or the end of a pipe): leave, once the lines still queued are sent.
  let draining: NodeJS.Timeout | undefined;
  rl.on('close', () => {
    if (stopped || abort.signal.aborted) return;
    if (queued.length === 0) {
      leave();
      return;
    }
    const what = plural(queued.length, 'line');
    if (screen)
      screen.line(`(end of input: sending ${what} once a neighbour is up, within ${args.timeoutS} s)`);
    draining = setTimeout(() => {
      const message = `${plural(queued.length, 'line')} not sent: no neighbour within ${args.timeoutS} s`;
      if (args.json) out.json('error', { code: 'NOT_SENT', message });
      io.stderr.write(`gtt join: ${message}\n`);
      exitCode = 1;
      leave();
    }, args.timeoutS * 1000);
  });

  // A paused stdin pipe still holds the process open: destroy it once we stop reading.
  const stopReading = () => {
    stopped = true;
    clearTimeout(draining);
    rl.close();
    io.stdin.destroy();
  };

  let topic: TrackedTopic | undefined;
  const send = (text: string) => {
    try {
      topic!.broadcast(encodeChat(text, args.name));
    } catch (e) {
      if (args.json) out.json('error', errorFields(e));
      else screen!.line(`not sent: ${errorMessage(e)}`);
    }
  };
  rl.on('line', (line) => {
    if (abort.signal.aborted || line.trim() === '') {
      if (tty) rl.prompt();
      return;
    }
    if (topic?.isJoined()) send(line);
    else {
      queued.push(line);
      if (screen) screen.line(`(no neighbour yet: queued, ${queued.length} waiting)`);
    }
    if (tty) rl.prompt();
  });

  if (screen) {
    const secret =
      args.secret === undefined
        ? 'no secret: anyone who knows the name can read its records'
        : 'with a secret';
    screen.line(`joining ${JSON.stringify(args.topic)} (${secret})`);
    screen.status(`starting a DHT node (bootstrap: ${dhtTarget(args.bootstrap)})`);
  }

  // Our own DHT node first, handed to joinTopic, so that the status line can say which step failed.
  let dht: Dht | undefined;
  try {
    dht = await Dht.create(dhtOptions(args), { signal: abort.signal });
    if (screen) screen.status('starting the gossip node');
    topic = await joinTopic(args.topic, {
      secret: args.secret,
      wait: false,
      signal: abort.signal,
      dht,
      gossip: args.listen === undefined ? {} : { listen: args.listen },
    });
  } catch (e) {
    const leftFirst = abort.signal.aborted; // before rl.close(), whose 'close' would leave()
    stopReading();
    offSignal();
    await dht?.close();
    if (leftFirst && exitCode === 0) {
      if (args.json) out.json('left');
      else out.line('left before joining');
      return 0;
    }
    // End the status line (a terminal's prompt), so that the error is a line of its own.
    if (tty) io.stdout.write('\n');
    if (leftFirst) return exitCode;
    return startFailure('join', e, io, args.json ? out : undefined);
  }

  const t = topic;
  const addresses = t.addresses().map(formatAddress);
  if (args.json) out.json('ready', { id: t.id, topic: args.topic, addresses });
  else {
    const name = args.name === undefined ? '' : ` (${args.name})`;
    screen!.line(`you are ${shortId(t.id)}${name}, listening on ${addresses.join(', ') || '(nothing)'}`);
  }

  let bootstrapped = false;
  // What a lone peer is waiting for, and since when (out.ms() of its first read that found nobody).
  const alone: WaitingState = { sinceMs: undefined, publishedMinute: undefined };
  const onStatus = (e: TrackerEvent) => {
    if (args.json) {
      out.json('status', statusFields(e));
      return;
    }
    if (e.type === 'published' && e.result.status === 'published') alone.publishedMinute = e.minute;
    const text =
      e.type === 'wait' && e.why !== 'confirm'
        ? describeWaiting(e, alone, out.ms())
        : describeStatus(e, shortId);
    if (e.type === 'joined') {
      bootstrapped = true;
      screen!.endStatus();
      screen!.line(text);
      screen!.line('type a message and press Enter; Ctrl-C to leave');
    } else if (!bootstrapped) screen!.status(text);
    else if (e.type === 'merge' || e.type === 'error') screen!.line(text);
  };
  // joinTopic starts its tracker on the next turn: no status event has been missed.
  t.on('status', onStatus);
  t.on('joined', () => {
    if (args.json) out.json('joined', { neighbors: t.neighbors().length });
  });
  t.on('neighbor-up', (peer) => {
    if (args.json) out.json('neighbor-up', { peer });
    else screen!.line(`neighbour up ${shortId(peer)}`);
    // Lines typed while we had no neighbour ('joined' fires only for the first one).
    for (const line of queued.splice(0)) send(line);
    if (draining !== undefined) leave(); // stdin had ended: they were all it waited for
  });
  // A port mapping granted (or lost), an external address learned: say where others reach us now.
  const offAddresses = t.gossip.watchAddresses(() => {
    const now = t.addresses().map(formatAddress);
    const pm = t.gossip.stats.portMapping;
    const mapped = 'protocol' in pm && pm.address !== undefined ? pm.protocol : undefined;
    if (args.json) out.json('addresses', { addresses: now, ...(mapped ? { portMapping: mapped } : {}) });
    else {
      const how =
        mapped === undefined ? '' : ` (port mapped by the router, ${mapped === 'upnp' ? 'UPnP' : 'NAT-PMP'})`;
      screen!.line(`advertising ${now.join(', ') || '(nothing)'}${how}`);
    }
  });
  t.on('neighbor-down', (peer, cause) => {
    if (args.json) out.json('neighbor-down', { peer, cause });
    else screen!.line(`neighbour down ${shortId(peer)} (${cause})`);
  });
  t.on('message', (m: TopicMessage) => {
    const chat = decodeChat(m.content);
    if (args.json) {
      const fields = {
        id: m.id,
        from: m.origin,
        name: chat.name ?? null,
        text: chat.text ?? null,
        hops: m.hops,
        sentAt: m.sentAt,
        replay: m.replay,
      };
      out.json('message', chat.hex === undefined ? fields : { ...fields, hex: chat.hex });
      return;
    }
    const name = chat.name === undefined ? '' : `${sanitize(chat.name).slice(0, MAX_NAME_LENGTH)} `;
    const who = `${name}${shortId(m.origin)}`;
    const body = chat.text === undefined ? `(binary) ${chat.hex}` : sanitize(chat.text);
    screen!.line(`<${who}> ${body}  ${messageNote(m, Date.now())}`);
  });
  t.topic.on('sent', (m) => {
    if (args.json) out.json('sent', { id: m.id, text: decodeChat(m.content).text ?? null });
  });

  await leaving;
  offSignal();
  offAddresses();
  stopReading();
  await t.close();
  await dht.close();
  if (args.json) out.json('left');
  else {
    if (tty) io.stdout.write('\r\x1b[2K');
    out.line(`left ${JSON.stringify(args.topic)}`);
  }
  return exitCode;
}
