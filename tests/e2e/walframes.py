#!/usr/bin/env python3
"""Reads and edits loopledger write-ahead log segments (store/ll_wal.h), as
an independent reader of the documented layout, for tests/e2e/test_wal.sh.

  walframes.py list WALDIR              one line per frame: file offset first count
  walframes.py reseal WALDIR TEXT NEW   replaces TEXT by NEW (same length) inside
                                        the first leaf holding it and recomputes
                                        its frame's SHA-256, so that only the
                                        envelope's signature can tell
  walframes.py damage WALDIR N          flips a byte inside frame N (0-based, in
                                        log order) without resealing it
"""
import hashlib
import os
import struct
import sys

SEG_HDR = 64
FRAME_HDR = 32
MAGIC = 0x46574C4C  # "LLWF"


def segments(waldir):
    names = sorted(n for n in os.listdir(waldir) if n.endswith(".seg") and len(n) == 20)
    return [os.path.join(waldir, n) for n in names]


def frames(path):
    data = open(path, "rb").read()
    assert data[:8] == b"LLWALSEG", path
    segno = struct.unpack_from("<Q", data, 16)[0]
    off = SEG_HDR
    while off + FRAME_HDR + 32 <= len(data):
        magic, total, no, first, count = struct.unpack_from("<IIQQI", data, off)
        if magic != MAGIC or no != segno or total < FRAME_HDR + 32 or off + total > len(data):
            break
        body = data[off:off + total - 32]
        if hashlib.sha256(body).digest() != data[off + total - 32:off + total]:
            break
        yield off, total, first, count
        off += (total + 7) & ~7


def main():
    cmd, waldir = sys.argv[1], sys.argv[2]
    if cmd == "list":
        for p in segments(waldir):
            for off, total, first, count in frames(p):
                print(os.path.basename(p), off, first, count)
        return 0
    if cmd == "reseal":
        old, new = sys.argv[3].encode(), sys.argv[4].encode()
        assert len(old) == len(new)
        for p in segments(waldir):
            for off, total, first, count in frames(p):
                data = bytearray(open(p, "rb").read())
                frame = data[off:off + total - 32]
                at = frame.find(old, FRAME_HDR)
                if at < 0:
                    continue
                frame[at:at + len(old)] = new
                data[off:off + total - 32] = frame
                data[off + total - 32:off + total] = hashlib.sha256(bytes(frame)).digest()
                open(p, "r+b").write(data)
                print("resealed frame at %s:%d (entries %d..%d)" %
                      (os.path.basename(p), off, first, first + count - 1))
                return 0
        print("text not found in any frame", file=sys.stderr)
        return 1
    if cmd == "damage":
        want = int(sys.argv[3])
        i = 0
        for p in segments(waldir):
            for off, total, first, count in list(frames(p)):
                if i == want:
                    with open(p, "r+b") as f:
                        f.seek(off + FRAME_HDR + 6)
                        b = f.read(1)
                        f.seek(off + FRAME_HDR + 6)
                        f.write(bytes([b[0] ^ 0x20]))
                    print("damaged frame %d at %s:%d (entries %d..%d)" %
                          (i, os.path.basename(p), off, first, first + count - 1))
                    return 0
                i += 1
        print("no frame %d" % want, file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
