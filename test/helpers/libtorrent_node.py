#!/usr/bin/env python3
"""A loopback testnet of real libtorrent DHT nodes, driven over line-delimited JSON (stdin/stdout).

One process hosts N libtorrent sessions (python3-libtorrent, libtorrent-rasterbar 2.0). Node i listens
on its own host 127.(1+i).0.1 (Linux routes all of 127.0.0.0/8 to the loopback interface), so
libtorrent's per-IP limits (its DoS blocker, one routing-table entry per IP) see one node per IP, as on
the real DHT. Nothing is ever sent off the loopback interface: see SETTINGS below, setting by setting.
With --hosts the nodes listen on the addresses given instead, which must be loopback or documentation
addresses (RFC 5737: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24): the NAT lab (test/helpers/nat-lab.ts)
runs this script inside a network namespace of its own whose "internet" uses those ranges.

Start-up: every session starts with no bootstrap node at all, then each is told about every other one
and about the --bootstrap addresses with `add_dht_node` (a BEP 5 ping; the node enters the routing
table when it answers). Not through `dht_bootstrap_nodes`: libtorrent takes those for routers, which
it never puts in its routing table, so node 0 would be missing from every other node's table. With
--bootstrap, every node then runs a few lookups toward random targets (as BEP 5 bucket refreshes do)
to meet the nodes behind those addresses. Once every routing table holds at least
min(N - 1, --min-routing) nodes (and at least one), the process prints

    {"type":"ready","nodes":[{"host":"127.1.0.1","port":40123}, ...]}

Commands, one JSON object a line, each with an "id" the answer echoes ({"type":"result","id":..,...}
or {"type":"error","id":..,"message":..}):
    {"cmd":"get","node":i,"publicKey":hex,"salt":hex,"timeoutMs":n}
        a BEP 44 mutable get from node i, as a libtorrent client; answers
        "item": {"value":hex,"seq":n,"signature":hex} or null (nothing found).
    {"cmd":"put","node":i,"seed":hex,"publicKey":hex,"salt":hex,"value":hex,"timeoutMs":n}
        a BEP 44 mutable put from node i, signed by libtorrent with the ed25519 seed; libtorrent picks
        the seq itself (one above the highest it finds); answers "seq" and "numSuccess".
    {"cmd":"stop","node":i}     destroys node i's session (its DHT storage and routing table go).
    {"cmd":"start","node":i}    a fresh session on node i's host and port (a new node id, an empty
                                store: a node that restarted without its state), introduced to the
                                running nodes; answers once its routing table is not empty.
    {"cmd":"stats"}             "nodes": [{"host","port","id","running","routingTable"}].
    {"cmd":"close"}             answers, then exits.
The process exits by itself when stdin closes (its parent died or closed it) and after --lifetime-ms,
printing {"type":"exit","reason":..} first, so it can never outlive the test that started it.
"""

import argparse
import hashlib
import json
import os
import queue
import sys
import threading
import time
import warnings

import libtorrent as lt

# Non-default settings, and why (libtorrent setting names; defaults are libtorrent 2.0's).
SETTINGS = {
    # Default 'dht.libtorrent.org:25401': a fresh session would contact the public router. Never. (Our
    # nodes meet through add_dht_node, see the module docstring.)
    "dht_bootstrap_nodes": "",
    # Local service discovery multicasts on the LAN; UPnP and NAT-PMP talk to the gateway.
    "enable_lsd": False,
    "enable_upnp": False,
    "enable_natpmp": False,
    # Watches the system's interfaces and reopens listen sockets on changes: not wanted in a lab.
    "enable_ip_notifier": False,
    # No peer connections exist (no torrent is ever added); off so that none can be made either.
    "enable_outgoing_tcp": False,
    "enable_outgoing_utp": False,
    # Default True: one routing-table entry per IP / per /24 among a lookup's nodes. All of our nodes
    # (and every node of a bittorrent-dht testnet) share 127.0.0.0/8, so with the default the routing
    # tables would hold one node.
    "dht_restrict_routing_ips": False,
    "dht_restrict_search_ips": False,
    # Default 10 disk threads per session; a session here never touches the disk.
    "aio_threads": 1,
    # What we read: DHT alerts (get/put results, stats), errors and listen results.
    "alert_mask": int(
        lt.alert.category_t.dht_notification
        | lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.stats_notification
    ),
}

# --relaxed: for labs that send far more than a real client would from one IP (the same few publishers
# in trial after trial, or a bittorrent-dht testnet whose nodes all share 127.0.0.1).
RELAXED = {
    # Default 5: 10 s worth of it (50 packets) from one IP within 10 s blocks that IP for
    # dht_block_timeout (300 s): measured, 50 packets in 0.22 s did.
    "dht_block_ratelimit": 100000,
    # Default 8000 B/s of DHT replies per session: a burst of puts and reads drops replies.
    "dht_upload_rate_limit": 100000000,
}

POLL_S = 0.01
READY_TIMEOUT_S = 30.0
START_TIMEOUT_S = 15.0
STATS_TIMEOUT_S = 5.0
DEFAULT_GET_TIMEOUT_S = 30.0
# Random-target lookups per node at start-up when joining --bootstrap addresses (guess).
REFRESH_WALKS = 4
# A get or put that timed out still blocks its (node, key) until its alert comes, at most this long.
ABANDON_S = 60.0


def out(message):
    try:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        os._exit(0)


def bye(reason, code=0):
    out({"type": "exit", "reason": reason})
    # No destructors: a session's teardown can take a while and nothing here needs saving.
    os._exit(code)


def lt_secret_key(seed):
    """libtorrent's 64-byte ed25519 secret key (orlp/ed25519 layout) of a 32-byte RFC 8032 seed."""
    sk = bytearray(hashlib.sha512(seed).digest())
    sk[0] &= 248
    sk[31] &= 63
    sk[31] |= 64
    return bytes(sk)


def routing_size(alert):
    total = 0
    for bucket in alert.routing_table:
        total += bucket["num_nodes"] if isinstance(bucket, dict) else getattr(bucket, "num_nodes", 0)
    return total


class Node:
    def __init__(self, index, host, port, relaxed):
        self.index = index
        self.host = host
        self.port = port
        self.relaxed = relaxed
        self.session = None
        self.routing = 0

    def start(self):
        pack = dict(SETTINGS)
        if self.relaxed:
            pack.update(RELAXED)
        # Default '0.0.0.0:6881,[::]:6881' and any interface: bind this node's loopback host only, so
        # that it is one IP of its own and has no socket on a real interface at all.
        pack["listen_interfaces"] = "%s:%d" % (self.host, self.port)
        pack["outgoing_interfaces"] = self.host
        self.routing = 0
        self.session = lt.session(pack)
        # Wait for the UDP socket (the DHT's): with port 0 it tells the port the OS chose.
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            for a in self.session.pop_alerts():
                if isinstance(a, lt.listen_failed_alert):
                    raise RuntimeError("node %d: %s" % (self.index, a.message()))
                if isinstance(a, lt.listen_succeeded_alert) and a.socket_type == lt.socket_type_t.udp:
                    self.port = a.port
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("node %d did not listen on %s" % (self.index, self.host))
            time.sleep(POLL_S)

    def node_id(self):
        """The DHT node id (hex), or None when stopped. libtorrent may change it (BEP 42) as it learns
        its external address from the `ip` of replies."""
        if self.session is None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            state = self.session.dht_state()
        ids = state.get(b"node-id") if isinstance(state, dict) else None
        return bytes(ids[0][:20]).hex() if ids else None

    def stop(self):
        self.session = None  # the session's destructor stops its DHT and closes its sockets


class Lab:
    def __init__(self, args):
        hosts = args.hosts or ["127.%d.0.1" % (1 + i) for i in range(args.nodes)]
        for host in hosts:
            lab_address(host)
        self.nodes = [Node(i, host, 0, args.relaxed) for i, host in enumerate(hosts)]
        if args.ports:
            for node, port in zip(self.nodes, args.ports):
                node.port = port
        self.extra = [parse_addr(b) for b in args.bootstrap]
        self.min_routing = min(args.nodes - 1, args.min_routing)
        # Requests: {"node", "key", "deadline", "id", "send", "sent"}; one per (node, key) in flight.
        self.gets = []
        self.puts = []
        self.stats_waits = []  # [id, deadline, pending node indices]
        self.starts = []  # [id, node, deadline]
        self.next_stats = 0.0

    def running(self):
        return [n for n in self.nodes if n.session is not None]

    def introduce(self, node):
        for other in self.running():
            if other is not node:
                node.session.add_dht_node((other.host, other.port))
                other.session.add_dht_node((node.host, node.port))
        for b in self.extra:
            node.session.add_dht_node(b)

    def boot(self):
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            for other in self.nodes:
                if other is not node:
                    node.session.add_dht_node((other.host, other.port))
            for b in self.extra:
                node.session.add_dht_node(b)
        deadline = time.monotonic() + READY_TIMEOUT_S
        wanted = max(self.min_routing, 1 if (self.extra or len(self.nodes) > 1) else 0)
        next_stats = 0.0
        walked = not self.extra
        while True:
            now = time.monotonic()
            if now >= next_stats:
                for node in self.nodes:
                    node.session.post_dht_stats()
                next_stats = now + 0.2
            self.poll()
            if not walked and all(n.routing > 0 for n in self.nodes):
                # The pings are answered: walk from the nodes behind --bootstrap to their neighbours.
                for node in self.nodes:
                    for _ in range(REFRESH_WALKS):
                        node.session.dht_get_immutable_item(lt.sha1_hash(os.urandom(20)))
                walked = True
            if walked and all(n.routing >= wanted for n in self.nodes):
                return
            if now > deadline:
                sizes = ",".join(str(n.routing) for n in self.nodes)
                raise RuntimeError("routing tables did not fill (wanted %d, got %s)" % (wanted, sizes))
            time.sleep(POLL_S)

    def poll(self):
        for node in self.nodes:
            if node.session is None:
                continue
            for a in node.session.pop_alerts():
                self.on_alert(node, a)

    def on_alert(self, node, a):
        if isinstance(a, lt.dht_stats_alert):
            node.routing = routing_size(a)
            for wait in self.stats_waits:
                wait[2].discard(node.index)
        elif isinstance(a, lt.dht_mutable_item_alert):
            if not a.authoritative:
                return
            # The alert's salt cannot be read (the binding decodes it as UTF-8), so requests are matched
            # by node and key alone, which is unambiguous because only one per (node, key) is in flight.
            g = self.take(self.gets, node, bytes(a.key))
            if g is None or g["answered"]:
                return
            try:
                # The binding's `item` is a dict (key, value, signature, seq, salt, authoritative).
                found = a.item
            except RuntimeError:  # "invalid type requested from entry": nothing was found
                found = None
            value = found.get("value") if isinstance(found, dict) else found
            item = None
            if isinstance(value, str):
                value = value.encode("latin-1")
            if isinstance(value, (bytes, bytearray)):
                item = {"value": bytes(value).hex(), "seq": a.seq, "signature": bytes(a.signature).hex()}
            elif value is not None:
                item = {"value": None, "entry": repr(value), "seq": a.seq, "signature": bytes(a.signature).hex()}
            out({"type": "result", "id": g["id"], "item": item})
        elif isinstance(a, lt.dht_put_alert):
            p = self.take(self.puts, node, bytes(a.public_key))
            if p is not None and not p["answered"]:
                out({"type": "result", "id": p["id"], "seq": a.seq, "numSuccess": a.num_success})

    def take(self, requests, node, key):
        """Ends the request in flight for (node, key) and sends the next queued one for it, if any."""
        found = None
        for r in requests:
            if r["node"] is node and r["key"] == key and r["sent"]:
                found = r
                break
        if found is None:
            return None
        requests.remove(found)
        self.send_next(requests, node, key)
        return found

    def send_next(self, requests, node, key):
        for r in requests:
            if r["node"] is node and r["key"] == key:
                if not r["sent"]:
                    r["sent"] = True
                    r["send"]()
                return

    def tick(self):
        now = time.monotonic()
        for pending, what in ((self.gets, "get"), (self.puts, "put")):
            for r in [r for r in pending if r["deadline"] < now]:
                if not r["answered"]:
                    r["answered"] = True
                    out({"type": "error", "id": r["id"], "message": "%s timed out" % what})
                # One sent stays until its alert comes (libtorrent ends every traversal), so the alert
                # cannot be taken for the next request's; a traversal that never ends is dropped later.
                if not r["sent"] or r["deadline"] + ABANDON_S < now:
                    pending.remove(r)
                    self.send_next(pending, r["node"], r["key"])
        for wait in list(self.stats_waits):
            if not wait[2] or wait[1] < now:
                self.stats_waits.remove(wait)
                out({"type": "result", "id": wait[0], "nodes": self.describe()})
        for start in list(self.starts):
            node = start[1]
            if node.routing > 0 or start[2] < now:
                self.starts.remove(start)
                if node.routing > 0:
                    out({"type": "result", "id": start[0], "node": {"host": node.host, "port": node.port}})
                else:
                    out({"type": "error", "id": start[0], "message": "node %d found no node" % node.index})
            elif node.session is not None and now >= self.next_stats:
                node.session.post_dht_stats()
        if now >= self.next_stats:
            self.next_stats = now + 0.1

    def queue(self, requests, request):
        busy = any(r["node"] is request["node"] and r["key"] == request["key"] for r in requests)
        request["sent"] = False
        request["answered"] = False
        requests.append(request)
        if not busy:
            request["sent"] = True
            request["send"]()

    def describe(self):
        return [
            {
                "host": n.host,
                "port": n.port,
                "id": n.node_id(),
                "running": n.session is not None,
                "routingTable": n.routing,
            }
            for n in self.nodes
        ]

    def node_arg(self, msg, running=True):
        i = msg.get("node", 0)
        if not isinstance(i, int) or not 0 <= i < len(self.nodes):
            raise ValueError("no node %r" % (i,))
        node = self.nodes[i]
        if running and node.session is None:
            raise ValueError("node %d is stopped" % i)
        return node

    def command(self, msg):
        cmd = msg.get("cmd")
        rid = msg.get("id")
        now = time.monotonic()
        timeout = msg.get("timeoutMs")
        deadline = now + (timeout / 1000.0 if isinstance(timeout, (int, float)) else DEFAULT_GET_TIMEOUT_S)
        if cmd == "get":
            node = self.node_arg(msg)
            key, salt = bytes.fromhex(msg["publicKey"]), bytes.fromhex(msg.get("salt", ""))
            send = lambda: node.session.dht_get_mutable_item(key, salt)  # noqa: E731
            self.queue(self.gets, {"node": node, "key": key, "deadline": deadline, "id": rid, "send": send})
        elif cmd == "put":
            node = self.node_arg(msg)
            key, salt = bytes.fromhex(msg["publicKey"]), bytes.fromhex(msg.get("salt", ""))
            secret = lt_secret_key(bytes.fromhex(msg["seed"]))
            value = bytes.fromhex(msg["value"])
            send = lambda: node.session.dht_put_mutable_item(secret, key, value, salt)  # noqa: E731
            self.queue(self.puts, {"node": node, "key": key, "deadline": deadline, "id": rid, "send": send})
        elif cmd == "stop":
            node = self.node_arg(msg, running=False)
            node.stop()
            node.routing = 0
            for requests in (self.gets, self.puts):
                for r in [r for r in requests if r["node"] is node]:
                    requests.remove(r)
                    if not r["answered"]:
                        out({"type": "error", "id": r["id"], "message": "node %d stopped" % node.index})
            out({"type": "result", "id": rid})
        elif cmd == "start":
            node = self.node_arg(msg, running=False)
            if node.session is not None:
                raise ValueError("node %d is running" % node.index)
            node.start()
            self.introduce(node)
            self.starts.append([rid, node, now + START_TIMEOUT_S])
        elif cmd == "stats":
            running = self.running()
            for node in running:
                node.session.post_dht_stats()
            self.stats_waits.append([rid, now + STATS_TIMEOUT_S, {n.index for n in running}])
        elif cmd == "close":
            out({"type": "result", "id": rid})
            bye("closed")
        else:
            raise ValueError("unknown command %r" % (cmd,))


# Where a node may listen or send: loopback, and the documentation ranges of the NAT lab's namespaces.
LAB_PREFIXES = ("127.", "192.0.2.", "198.51.100.", "203.0.113.")


def lab_address(host):
    # A lab that could reach a real node is a lab that could flood one.
    if not host.startswith(LAB_PREFIXES):
        raise SystemExit("address %r is neither loopback nor a documentation address" % host)
    return host


def parse_addr(text):
    host, _, port = text.rpartition(":")
    return (lab_address(host), int(port))


def read_stdin(lines):
    try:
        for line in sys.stdin:
            lines.put(line)
    finally:
        lines.put(None)


def main():
    parser = argparse.ArgumentParser(description="libtorrent DHT nodes on loopback (see module docstring)")
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--hosts", type=lambda s: [h for h in s.split(",") if h], default=[])
    parser.add_argument("--ports", type=lambda s: [int(p) for p in s.split(",") if p], default=[])
    parser.add_argument("--bootstrap", action="append", default=[], help="extra host:port (lab addresses)")
    parser.add_argument("--relaxed", action="store_true")
    parser.add_argument("--min-routing", type=int, default=8)
    parser.add_argument("--lifetime-ms", type=int, default=300000)
    args = parser.parse_args()
    if args.hosts:
        args.nodes = len(args.hosts)
    if not 1 <= args.nodes <= 254:
        raise SystemExit("--nodes must be 1..254")
    end_at = time.monotonic() + args.lifetime_ms / 1000.0

    lines = queue.Queue()
    threading.Thread(target=read_stdin, args=(lines,), daemon=True).start()
    lab = Lab(args)
    try:
        lab.boot()
    except Exception as error:  # noqa: BLE001 - reported to the parent, then exit
        out({"type": "error", "message": "start-up failed: %s" % error})
        bye("failed", 1)
    out({"type": "ready", "nodes": [{"host": n.host, "port": n.port} for n in lab.nodes]})

    while True:
        if time.monotonic() > end_at:
            bye("lifetime")
        try:
            line = lines.get(timeout=POLL_S)
        except queue.Empty:
            line = ""
        if line is None:
            bye("stdin closed")
        if line.strip():
            msg = None
            try:
                msg = json.loads(line)
                lab.command(msg)
            except Exception as error:  # noqa: BLE001 - a bad command fails alone
                rid = msg.get("id") if isinstance(msg, dict) else None
                out({"type": "error", "id": rid, "message": str(error)})
        lab.poll()
        lab.tick()


if __name__ == "__main__":
    main()
