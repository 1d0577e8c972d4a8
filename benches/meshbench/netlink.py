"""Kernel routes of one namespace over rtnetlink (fast enough to poll a
40-node mesh every few tens of milliseconds, unlike running `ip`)."""
import ipaddress
import socket
import struct

from . import owned

RTM_NEWROUTE, RTM_GETROUTE = 24, 26
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
RTA_DST, RTA_GATEWAY, RTA_PRIORITY, RTA_VIA = 1, 5, 6, 18
RTN_UNICAST = 1


class RouteReader:
    """A NETLINK_ROUTE socket opened inside one namespace."""

    def __init__(self, ns):
        with owned.in_netns(ns):
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self):
        self.sock.close()

    def routes(self, family, proto):
        """{destination network: next hop address or None} of the unicast
        routes with route protocol `proto`, lowest metric first."""
        self.seq += 1
        req = struct.pack("=IHHII", 16 + 12, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, self.seq, 0)
        req += struct.pack("=BBBBBBBBI", family, 0, 0, 0, 0, 0, 0, 0, 0)
        self.sock.send(req)
        best = {}
        while True:
            buf = self.sock.recv(1 << 16)
            off = 0
            while off + 16 <= len(buf):
                length, kind, _, seq, _ = struct.unpack_from("=IHHII", buf, off)
                if seq == self.seq and kind == NLMSG_DONE:
                    return {dst: hop for dst, (_, hop) in best.items()}
                if seq == self.seq and kind == NLMSG_ERROR:
                    raise OSError("route dump failed")
                if seq == self.seq and kind == RTM_NEWROUTE:
                    r = parse_route(buf[off + 16:off + length], proto)
                    if r and (r[0] not in best or r[1] < best[r[0]][0]):
                        best[r[0]] = r[1:]
                if length == 0:
                    break
                off += (length + 3) & ~3


def parse_route(body, proto):
    """(network, metric, next hop) of one RTM_NEWROUTE body, or None if it
    is not a unicast route of protocol `proto`."""
    family, dst_len, _, _, _, rproto, _, rtype, _ = struct.unpack_from("=BBBBBBBBI", body)
    if rproto != proto or rtype != RTN_UNICAST:
        return None
    af = socket.AF_INET if family == socket.AF_INET else socket.AF_INET6
    dst, metric, hop = None, 0, None
    off = 12
    while off + 4 <= len(body):
        alen, atype = struct.unpack_from("=HH", body, off)
        data = body[off + 4:off + alen]
        if atype == RTA_DST:
            dst = socket.inet_ntop(af, data)
        elif atype == RTA_PRIORITY:
            metric = struct.unpack("=I", data)[0]
        elif atype == RTA_GATEWAY:
            hop = socket.inet_ntop(af, data)
        elif atype == RTA_VIA:
            vf = struct.unpack_from("=H", data)[0]
            hop = socket.inet_ntop(socket.AF_INET6 if vf == socket.AF_INET6 else socket.AF_INET, data[2:])
        if alen < 4:
            break
        off += (alen + 3) & ~3
    base = dst or ("0.0.0.0" if af == socket.AF_INET else "::")
    return ipaddress.ip_network(f"{base}/{dst_len}"), metric, hop
