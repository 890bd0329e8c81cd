#!/usr/bin/env python3
"""Many Watch streams at once (issue 18 item 9), for test_watch_fanout.sh.

  watchfan.py ADDR STREAMS CHANNELS UNTIL READY_FILE

Opens STREAMS Watch streams from seq 0 spread over CHANNELS connections,
writes READY_FILE once every stream has received entry 0, then reads until
each has seen seq UNTIL. Prints "ok STREAMS" when every stream received
0..UNTIL in order with each leaf identical across streams; otherwise the
first difference, and exits 1.
"""
import sys
import threading

import grpc


def varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def parse(msg):
    """WatchResponse: seq = 1, leaf = 2, status = 3 (compared with the leaf)."""
    seq, leaf, status, i = 0, b"", 0, 0
    while i < len(msg):
        key, i = varint(msg, i)
        if key == 0x08:
            seq, i = varint(msg, i)
        elif key == 0x12:
            n, i = varint(msg, i)
            leaf, i = msg[i:i + n], i + n
        elif key == 0x18:
            status, i = varint(msg, i)
        else:
            raise ValueError("unexpected field %d" % key)
    return seq, (leaf, status)


def main():
    addr, n, nch, until, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        int(sys.argv[4]), sys.argv[5]
    chans = [grpc.insecure_channel(addr, options=[("grpc.use_local_subchannel_pool", 1)])
             for _ in range(nch)]
    calls = [chans[i % nch].unary_stream("/loopledger.v1.LedgerService/Watch")(
        b"", timeout=120) for i in range(n)]
    leaves = {}
    errors = []
    started = threading.Barrier(n + 1)
    lock = threading.Lock()

    def read(k, call):
        want = 0
        first = True
        try:
            for msg in call:
                seq, leaf = parse(msg)
                if seq != want:
                    errors.append("stream %d: seq %d where %d was due" % (k, seq, want))
                    break
                with lock:
                    if leaves.setdefault(seq, leaf) != leaf:
                        errors.append("stream %d: seq %d differs between streams" % (k, seq))
                        break
                if first:
                    first = False
                    started.wait()
                if seq == until:
                    break
                want += 1
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("stream %d: %s after seq %d" % (k, e, want))
        finally:
            if first:
                started.abort()
            call.cancel()

    threads = [threading.Thread(target=read, args=(k, c), daemon=True)
               for k, c in enumerate(calls)]
    for t in threads:
        t.start()
    try:
        started.wait(timeout=60)
    except threading.BrokenBarrierError:
        pass
    open(ready, "w").write("ready\n")
    for t in threads:
        t.join(timeout=120)
    if errors or any(t.is_alive() for t in threads):
        print(errors[0] if errors else "streams still waiting after 120 s")
        sys.exit(1)
    print("ok %d" % n)


if __name__ == "__main__":
    main()
