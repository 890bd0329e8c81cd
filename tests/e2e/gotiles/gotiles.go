// gotiles reads a loopledger log published as C2SP tlog-tiles over HTTP
// with Go's reference tile client (golang.org/x/mod/sumdb/tlog), which
// shares no code with the server, and checks it against the gRPC API's
// answers (the JSON that `loopctl --json` prints).
//
//	gotiles -url http://HOST:PORT/ -vkey VKEY -checkpoint OUT.note
//	        [-old OLD.note -consistency PROOF.json]
//	        [-entry GET.json -inclusion PROVE.json]... [-bundles]
//
// The checkpoint is fetched from the URL, verified and written to
// -checkpoint. Go's tiles carry their height in the path (tile/8/L/N) and
// call entry bundles "data"; the TileReader below maps those paths onto
// tlog-tiles paths and changes nothing else. With -bundles every entry
// bundle of the tree is fetched and each entry is checked against the
// level-0 tile hashes.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gotiles: "+format+"\n", args...)
	os.Exit(1)
}

var base string
var fetches int

func get(path string) []byte {
	resp, err := http.Get(base + path)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		fail("GET %s: status %d %v", path, resp.StatusCode, err)
	}
	fetches++
	return body
}

// specPath maps Go's tile path onto the tlog-tiles path.
func specPath(t tlog.Tile) string {
	p := t.Path() // tile/8/<L or data>/<N>[.p/<W>]
	if !strings.HasPrefix(p, "tile/8/") {
		fail("unexpected tile path %s", p)
	}
	p = "tile/" + p[len("tile/8/"):]
	if strings.HasPrefix(p, "tile/data/") {
		p = "tile/entries/" + p[len("tile/data/"):]
	}
	return p
}

type reader struct{}

func (reader) Height() int { return 8 }
func (reader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		out[i] = get(specPath(t))
	}
	return out, nil
}
func (reader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func parseCheckpoint(v note.Verifier, raw []byte, what string) checkpoint {
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		fail("%s: signature: %v", what, err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		fail("%s: checkpoint body has fewer than 3 lines", what)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		fail("%s: bad tree size %q", what, lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("%s: bad root hash", what)
	}
	var cp checkpoint
	cp.origin, cp.size = lines[0], size
	copy(cp.root[:], root)
	return cp
}

func readJSON(path string, v interface{}) {
	raw, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		fail("%s: %v", path, err)
	}
}

func sameHashes(what string, got []tlog.Hash, hexes []string) {
	if len(got) != len(hexes) {
		fail("%s: tiles give %d hashes, gRPC %d", what, len(got), len(hexes))
	}
	for i, h := range hexes {
		if hex.EncodeToString(got[i][:]) != h {
			fail("%s: hash %d differs between tiles and gRPC", what, i)
		}
	}
}

// bundle fetches the entry bundle holding seq in a tree of size leaves.
func bundle(n, size int64) [][]byte {
	w := int64(256)
	if (n+1)*256 > size {
		w = size - n*256
	}
	raw := get(specPath(tlog.Tile{H: 8, L: -1, N: n, W: int(w)}))
	var out [][]byte
	for len(raw) > 0 {
		if len(raw) < 2 {
			fail("bundle %d: truncated length", n)
		}
		l := int(raw[0])<<8 | int(raw[1])
		if len(raw) < 2+l {
			fail("bundle %d: truncated entry", n)
		}
		out = append(out, raw[2:2+l])
		raw = raw[2+l:]
	}
	if int64(len(out)) != w {
		fail("bundle %d holds %d entries, want %d", n, len(out), w)
	}
	return out
}

func main() {
	url := flag.String("url", "", "tiles base URL")
	vkey := flag.String("vkey", "", "log verifier key")
	cpOut := flag.String("checkpoint", "", "where to write the fetched checkpoint")
	oldPath := flag.String("old", "", "an older checkpoint fetched earlier")
	consPath := flag.String("consistency", "", "loopctl --json prove --consistency OLD NEW")
	allBundles := flag.Bool("bundles", false, "check every entry bundle against the tiles")
	var entries, inclusions list
	flag.Var(&entries, "entry", "loopctl --json get output (repeatable)")
	flag.Var(&inclusions, "inclusion", "loopctl --json prove output (pairs with -entry)")
	flag.Parse()
	if *url == "" || *vkey == "" || *cpOut == "" || len(entries) != len(inclusions) {
		flag.Usage()
		os.Exit(2)
	}
	base = strings.TrimSuffix(*url, "/") + "/"
	v, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	raw := get("checkpoint")
	cp := parseCheckpoint(v, raw, "checkpoint")
	if err := os.WriteFile(*cpOut, raw, 0o644); err != nil {
		fail("%v", err)
	}
	// TileHashReader checks every tile it reads against cp.root.
	thr := tlog.TileHashReader(tlog.Tree{N: cp.size, Hash: cp.root}, reader{})
	root, err := tlog.TreeHash(cp.size, thr)
	if err != nil || root != cp.root {
		fail("tree hash from tiles: %v (root match %v)", err, root == cp.root)
	}
	checks := 1

	if *oldPath != "" {
		oraw, err := os.ReadFile(*oldPath)
		if err != nil {
			fail("%v", err)
		}
		old := parseCheckpoint(v, oraw, *oldPath)
		p, err := tlog.ProveTree(cp.size, old.size, thr)
		if err != nil {
			fail("consistency proof from tiles: %v", err)
		}
		if err := tlog.CheckTree(p, cp.size, cp.root, old.size, old.root); err != nil {
			fail("consistency %d->%d from tiles: %v", old.size, cp.size, err)
		}
		if *consPath != "" {
			var g struct {
				OldSize int64    `json:"old_size"`
				NewSize int64    `json:"new_size"`
				Hashes  []string `json:"hashes"`
			}
			readJSON(*consPath, &g)
			if g.OldSize != old.size || g.NewSize != cp.size {
				fail("gRPC consistency proof is for %d->%d, want %d->%d", g.OldSize, g.NewSize, old.size, cp.size)
			}
			sameHashes("consistency", p, g.Hashes)
		}
		checks++
	}

	for i := range entries {
		var e struct {
			Seq  int64  `json:"seq"`
			Leaf string `json:"leaf"`
		}
		var g struct {
			Seq      int64    `json:"seq"`
			TreeSize int64    `json:"tree_size"`
			Hashes   []string `json:"hashes"`
		}
		readJSON(entries[i], &e)
		readJSON(inclusions[i], &g)
		leaf, err := base64.StdEncoding.DecodeString(e.Leaf)
		if err != nil || len(leaf) == 0 {
			fail("%s: bad leaf", entries[i])
		}
		if g.TreeSize != cp.size || g.Seq != e.Seq {
			fail("gRPC inclusion proof is for #%d in %d, want #%d in %d", g.Seq, g.TreeSize, e.Seq, cp.size)
		}
		p, err := tlog.ProveRecord(cp.size, e.Seq, thr)
		if err != nil {
			fail("inclusion proof of #%d from tiles: %v", e.Seq, err)
		}
		if err := tlog.CheckRecord(p, cp.size, cp.root, e.Seq, tlog.RecordHash(leaf)); err != nil {
			fail("inclusion of #%d (GetEntry's leaf) via tiles: %v", e.Seq, err)
		}
		sameHashes(fmt.Sprintf("inclusion of #%d", e.Seq), p, g.Hashes)
		b := bundle(e.Seq/256, cp.size)
		if !bytes.Equal(b[e.Seq%256], leaf) {
			fail("entry bundle holds other bytes for #%d than GetEntry", e.Seq)
		}
		checks++
	}

	if *allBundles {
		for n := int64(0); n*256 < cp.size; n++ {
			b := bundle(n, cp.size)
			idx := make([]int64, len(b))
			for i := range b {
				idx[i] = tlog.StoredHashIndex(0, n*256+int64(i))
			}
			hs, err := thr.ReadHashes(idx)
			if err != nil {
				fail("leaf hashes of bundle %d: %v", n, err)
			}
			for i := range b {
				if tlog.RecordHash(b[i]) != hs[i] {
					fail("entry #%d of its bundle does not hash to the level-0 tile", n*256+int64(i))
				}
			}
			checks++
		}
	}
	fmt.Printf("gotiles: ok: %d checks against %s size %d (%d HTTP fetches)\n", checks, cp.origin, cp.size, fetches)
}
