"""An emulated wifi mesh: one namespace per node with a `wlan0` (a veth
whose other end is a port of one bridge in the mesh's hub namespace).
Who hears whom, per-direction loss and silent cuts are nftables rules on
that bridge; carrier stays up on every `wlan0` throughout.

The bridge's forward hook looks up (source MAC . egress port) in the map
`air`: accept (a link), `jump lossN` (a link losing N % in that direction),
or drop (no link, or a cut link). Matching the egress port rather than the
destination MAC is what makes multicast (hellos, OGMs) obey the topology
too. A prerouting counter per protocol counts every frame once, as it is
sent.
"""
import ipaddress
import json
import time

from . import owned
from .netlink import RouteReader

COUNTED = {"roost": 4310, "babel": 6696}
ETH_HEADER = 14  # bridge hooks see the frame without its Ethernet header


def mac(i):
    return f"02:00:00:00:{i >> 8:02x}:{i & 255:02x}"


def link_local(i):
    """The EUI-64 link-local address the kernel gives wlan0 of node i."""
    return ipaddress.ip_address(f"fe80::ff:fe00:{i:x}")


def v4(i):
    return f"10.77.{i >> 8}.{i & 255}"


def v6(i):
    return f"fd77::{i:x}"


class Mesh:
    made = 0  # meshes made so far: names their namespaces

    def __init__(self, n, edges, loss=0):
        Mesh.made += 1
        tag = f"m{Mesh.made}"
        self.n = n
        self.hub = f"{owned.PREFIX}-{tag}-hub"
        self.ns = {i: f"{owned.PREFIX}-{tag}-{i}" for i in range(1, n + 1)}
        self.edges = {tuple(sorted(e)) for e in edges}
        self.loss = {(a, b): loss for e in self.edges for a, b in (e, e[::-1])}
        self.cut = set()
        self.by_link_local = {link_local(i): i for i in self.ns}
        self.readers = {}
        self.build()

    def nodes(self):
        return range(1, self.n + 1)

    def up_edges(self):
        return self.edges - self.cut

    def build(self):
        owned.add_netns([self.hub, *self.ns.values()])
        owned.sh(["ip", "netns", "exec", self.hub, "sysctl", "-qw",
                  "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        owned.sh(["ip", "-n", self.hub, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"])
        self.apply_air()
        owned.sh(["ip", "-batch", "-"], "".join(
            f"link add wlan0 netns {ns} address {mac(i)} type veth peer name p{i} netns {self.hub}\n"
            for i, ns in self.ns.items()))
        owned.sh(["ip", "-n", self.hub, "-batch", "-"],
                 "".join(f"link set p{i} master br0 up\n" for i in self.ns) + "link set br0 up\n")
        for i, ns in self.ns.items():
            owned.sh(["ip", "-n", ns, "-batch", "-"],
                     f"addr add {v4(i)}/32 dev lo\naddr add {v6(i)}/128 dev lo\nlink set wlan0 up\n")
        self.wait_dad()

    def wait_dad(self, timeout=30):
        deadline = time.monotonic() + timeout
        pending = set(self.ns.values())
        while pending and time.monotonic() < deadline:
            pending = {ns for ns in pending
                       if owned.sh(["ip", "-n", ns, "-6", "addr", "show", "tentative"]).strip()}
            time.sleep(0.1)
        if pending:
            raise RuntimeError(f"DAD did not finish in {sorted(pending)}")

    def verdict(self, a, b):
        if tuple(sorted((a, b))) in self.cut:
            return "drop"
        pct = self.loss[(a, b)]
        return f"jump loss{pct}" if pct else "accept"

    def apply_air(self):
        """(Re)writes the whole bridge ruleset in one nft transaction."""
        pcts = sorted({p for p in self.loss.values() if p})
        elements = ", ".join(f'{mac(a)} . "p{b}" : {self.verdict(a, b)}' for a, b in sorted(self.loss))
        counters = "".join(f"counter {name} {{}}\n" for name in COUNTED)
        count_rules = "".join(f'meta l4proto udp udp dport {port} counter name "{name}"\n'
                              for name, port in COUNTED.items())
        loss_chains = "".join(f"chain loss{p} {{ numgen random mod 100 < {p} drop; accept; }}\n"
                              for p in pcts)
        owned.sh(["ip", "netns", "exec", self.hub, "nft", "-f", "-"], f"""
table bridge mesh
delete table bridge mesh
table bridge mesh {{
{counters}{loss_chains}
map air {{ type ether_addr . ifname : verdict; {"elements = { " + elements + " }" if elements else ""} }}
chain count {{ type filter hook prerouting priority -200; policy accept;
{count_rules}}}
chain hear {{ type filter hook forward priority 0; policy drop; ether saddr . oifname vmap @air; }}
}}
""")

    def set_cut(self, a, b, cut):
        """Silently cuts (or restores) link a-b in both directions."""
        e = tuple(sorted((a, b)))
        (self.cut.add if cut else self.cut.discard)(e)
        verdicts = ", ".join(f'{mac(x)} . "p{y}" : {self.verdict(x, y)}' for x, y in (e, e[::-1]))
        keys = ", ".join(f'{mac(x)} . "p{y}"' for x, y in (e, e[::-1]))
        owned.sh(["ip", "netns", "exec", self.hub, "nft", "-f", "-"],
                 f"delete element bridge mesh air {{ {keys} }}\nadd element bridge mesh air {{ {verdicts} }}\n")

    def frames(self, name):
        """(frames, Ethernet bytes) the counter `name` saw so far."""
        out = json.loads(owned.sh(["ip", "netns", "exec", self.hub, "nft", "-j", "list", "counter",
                                   "bridge", "mesh", name]))
        c = next(x["counter"] for x in out["nftables"] if "counter" in x)
        return c["packets"], c["bytes"] + ETH_HEADER * c["packets"]

    def routes(self, i, family, proto):
        if i not in self.readers:
            self.readers[i] = RouteReader(self.ns[i])
        return self.readers[i].routes(family, proto)

    def close(self):
        for r in self.readers.values():
            r.close()
        owned.del_netns([self.hub, *self.ns.values()])
