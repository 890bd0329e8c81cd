#!/usr/bin/env python3
"""Raw-socket and raw-gRPC probes for tests/e2e/test_edges.sh (issue 18).

  h2probe.py settings PORT            prints the server's HTTP/2 SETTINGS as
                                      id=value lines (3 = MAX_CONCURRENT_STREAMS)
  h2probe.py idle PORT N SECS         opens N TCP connections that never send a
                                      byte; prints how many the server closed
                                      within SECS, and when the last one closed
  h2probe.py list ADDR                one ListEntries call with the default
                                      page; prints "entries bytes has_token"
  h2probe.py streams PORT N SECS [ack|noack] [CERTDIR WHO]
                                      one connection opening N streams that send
                                      headers and never a message; holds them
                                      SECS s; prints "sent N reset R closed C".
                                      ack: first acknowledge the server's
                                      SETTINGS, as conforming clients do; with
                                      CERTDIR WHO: over mTLS as WHO
  h2probe.py hold PORT N SECS [SRC]   holds N idle TCP connections for SECS s
                                      (from source address SRC); prints how
                                      many could be opened, then how many the
                                      server closed at once (within 1 s)
  h2probe.py call PORT SRC            one plaintext gRPC Health/Check from
                                      source address SRC (e.g. 127.0.0.2);
                                      prints "served" when the server answers
                                      the call, else "refused"
"""
import socket
import struct
import sys
import time


def settings(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    buf = b""
    while True:
        while len(buf) < 9:
            buf += s.recv(65536)
        length, typ, flags = int.from_bytes(buf[:3], "big"), buf[3], buf[4]
        while len(buf) < 9 + length:
            buf += s.recv(65536)
        payload, buf = buf[9:9 + length], buf[9 + length:]
        if typ == 4 and not flags & 1:  # SETTINGS, not an ACK
            for i in range(0, len(payload), 6):
                ident, value = struct.unpack(">HI", payload[i:i + 6])
                print("%d=%d" % (ident, value))
            return


def idle(port, n, secs):
    conns = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(n)]
    t0 = time.monotonic()
    closed, last = 0, 0.0
    for c in conns:
        left = secs - (time.monotonic() - t0)
        if left <= 0:
            break
        c.settimeout(left)
        try:
            data = c.recv(1)
            if data == b"":
                closed += 1
            else:  # a server that speaks first is still open: wait for EOF
                while c.recv(65536):
                    pass
                closed += 1
        except (ConnectionResetError, BrokenPipeError):
            closed += 1
        except socket.timeout:
            continue
        last = time.monotonic() - t0
    print("%d %.1f" % (closed, last))


def fields(buf):
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            _, i = varint(buf, i)
        elif wt == 2:
            n, i = varint(buf, i)
            yield num, buf[i:i + n]
            i += n
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        else:
            raise ValueError("wire type %d" % wt)


def varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def list_page(addr):
    import grpc
    ch = grpc.insecure_channel(addr, options=[("grpc.max_receive_message_length", 256 << 20)])
    call = ch.unary_unary("/loopledger.v1.LedgerService/ListEntries")
    resp = call(b"", timeout=60)
    leaves = [v for f, v in fields(resp) if f == 1]
    token = any(f == 2 and v for f, v in fields(resp))
    print(len(leaves), sum(len(v) for v in leaves), int(token))


def hpack_literal(name, value):
    # Literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2).
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def connect(port, certdir=None, who=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if certdir:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(certdir + "/ca.crt")
        ctx.load_cert_chain(certdir + "/%s.crt" % who, certdir + "/%s.key" % who)
        ctx.set_alpn_protocols(["h2"])
        s = ctx.wrap_socket(s, server_hostname="localhost")
    return s


def read_frame(s, buf):
    while len(buf) < 9:
        data = s.recv(65536)
        if not data:
            raise EOFError
        buf += data
    length = int.from_bytes(buf[:3], "big")
    while len(buf) < 9 + length:
        data = s.recv(65536)
        if not data:
            raise EOFError
        buf += data
    return buf[3], buf[4], buf[9:9 + length], buf[9 + length:]


def streams(port, n, secs, ack="noack", certdir=None, who=None):
    s = connect(port, certdir, who)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    buf = b""
    if ack == "ack":
        while True:
            typ, flags, _, buf = read_frame(s, buf)
            if typ == 4 and not flags & 1:
                s.sendall(b"\x00\x00\x00\x04\x01\x00\x00\x00\x00")
                break
    block = b"".join(hpack_literal(k, v) for k, v in [
        (b":method", b"POST"), (b":scheme", b"http"), (b":authority", b"x"),
        (b":path", b"/grpc.health.v1.Health/Check"), (b"content-type", b"application/grpc"),
        (b"te", b"trailers")])
    out = bytearray()
    closed = 0
    try:
        for i in range(n):
            sid = 2 * i + 1
            out += len(block).to_bytes(3, "big") + b"\x01\x04" + sid.to_bytes(4, "big") + block
            if len(out) > 1 << 20:
                s.sendall(out)
                out = bytearray()
        s.sendall(out)
    except OSError:
        closed = 1
    s.setblocking(False)
    reset, t0 = 0, time.monotonic()
    while not closed and time.monotonic() - t0 < secs:
        try:
            data = s.recv(1 << 20)
            if not data:
                closed = 1
                break
            buf += data
        except (BlockingIOError, ConnectionResetError) as e:
            if isinstance(e, ConnectionResetError):
                closed = 1
                break
            time.sleep(0.05)
        except Exception:  # ssl.SSLWantReadError and friends
            time.sleep(0.05)
        while len(buf) >= 9:
            length = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + length:
                break
            if buf[3] == 3:
                reset += 1
            elif buf[3] == 4 and not buf[4] & 1:  # ack the server's SETTINGS
                s.setblocking(True)
                s.sendall(b"\x00\x00\x00\x04\x01\x00\x00\x00\x00")
                s.setblocking(False)
            buf = buf[9 + length:]
    print("sent %d reset %d closed %d" % (n, reset, closed))


def hold(port, n, secs, src=None):
    conns = []
    for _ in range(n):
        try:
            conns.append(socket.create_connection(("127.0.0.1", port), timeout=5,
                                                  source_address=(src, 0) if src else None))
        except OSError:
            break
    print(len(conns), flush=True)
    time.sleep(1)
    closed = 0
    for c in conns:
        c.setblocking(False)
        try:
            if c.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    print(closed, flush=True)
    time.sleep(max(0, secs - 1))


def call(port, src):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src, 0))
        block = b"".join(hpack_literal(k, v) for k, v in [
            (b":method", b"POST"), (b":scheme", b"http"), (b":authority", b"x"),
            (b":path", b"/grpc.health.v1.Health/Check"), (b"content-type", b"application/grpc"),
            (b"te", b"trailers")])
        msg = b"\x00\x00\x00\x00\x00"  # an empty HealthCheckRequest
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" +
                  len(block).to_bytes(3, "big") + b"\x01\x04" + (1).to_bytes(4, "big") + block +
                  len(msg).to_bytes(3, "big") + b"\x00\x01" + (1).to_bytes(4, "big") + msg)
        buf = b""
        while True:
            typ, flags, _, buf = read_frame(s, buf)
            if typ == 4 and not flags & 1:
                s.sendall(b"\x00\x00\x00\x04\x01\x00\x00\x00\x00")
            elif typ == 1 and flags & 1:  # HEADERS ending stream 1: the trailers
                print("served")
                return
            elif typ in (3, 7):  # RST_STREAM, GOAWAY
                break
    except (OSError, EOFError):
        pass
    print("refused")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "settings":
        settings(int(sys.argv[2]))
    elif cmd == "idle":
        idle(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "list":
        list_page(sys.argv[2])
    elif cmd == "streams":
        streams(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), *sys.argv[5:8])
    elif cmd == "hold":
        hold(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), *sys.argv[5:6])
    elif cmd == "call":
        call(int(sys.argv[2]), sys.argv[3])
