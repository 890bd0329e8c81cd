// goverify checks loopledger's checkpoints and proofs with the Go reference
// implementations of signed notes and transparency-log proofs
// (golang.org/x/mod/sumdb/note and sumdb/tlog), which share no code with the
// server. It reads the JSON that `loopctl --json` prints.
//
//	goverify -vkey VKEY -checkpoint NOTE [-old NOTE -consistency PROOF.json]
//	         [-entry GET.json -inclusion PROVE.json]...
//
// Exit status 0 means every check passed; anything else prints the failure.
package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "goverify: "+format+"\n", args...)
	os.Exit(1)
}

// openCheckpoint verifies the note's signature and parses the C2SP
// tlog-checkpoint body (origin, size, base64 root, optional extensions).
func openCheckpoint(v note.Verifier, path string) checkpoint {
	raw, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		fail("%s: signature: %v", path, err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		fail("%s: checkpoint body has fewer than 3 lines", path)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		fail("%s: bad tree size %q", path, lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("%s: bad root hash %q", path, lines[2])
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

func hashes(hexes []string) []tlog.Hash {
	out := make([]tlog.Hash, len(hexes))
	for i, h := range hexes {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != tlog.HashSize {
			fail("bad proof hash %q", h)
		}
		copy(out[i][:], b)
	}
	return out
}

func main() {
	vkey := flag.String("vkey", "", "verifier key name+hash+key")
	cpPath := flag.String("checkpoint", "", "signed checkpoint note")
	oldPath := flag.String("old", "", "older signed checkpoint note")
	consPath := flag.String("consistency", "", "loopctl --json prove --consistency output")
	var entries, inclusions list
	flag.Var(&entries, "entry", "loopctl --json get output (repeatable)")
	flag.Var(&inclusions, "inclusion", "loopctl --json prove output (repeatable, pairs with -entry)")
	flag.Parse()
	if *vkey == "" || *cpPath == "" || len(entries) != len(inclusions) {
		flag.Usage()
		os.Exit(2)
	}
	v, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	cp := openCheckpoint(v, *cpPath)
	checks := 1

	if *oldPath != "" {
		old := openCheckpoint(v, *oldPath)
		if old.origin != cp.origin {
			fail("origins differ: %q vs %q", old.origin, cp.origin)
		}
		var p struct {
			OldSize int64    `json:"old_size"`
			NewSize int64    `json:"new_size"`
			Hashes  []string `json:"hashes"`
		}
		readJSON(*consPath, &p)
		if p.OldSize != old.size || p.NewSize != cp.size {
			fail("consistency proof is for %d->%d, checkpoints are %d->%d",
				p.OldSize, p.NewSize, old.size, cp.size)
		}
		if err := tlog.CheckTree(hashes(p.Hashes), cp.size, cp.root, old.size, old.root); err != nil {
			fail("consistency %d->%d: %v", old.size, cp.size, err)
		}
		checks++
	}

	for i := range entries {
		var e struct {
			Seq  int64  `json:"seq"`
			Leaf string `json:"leaf"`
		}
		var p struct {
			Seq      int64    `json:"seq"`
			TreeSize int64    `json:"tree_size"`
			Hashes   []string `json:"hashes"`
		}
		readJSON(entries[i], &e)
		readJSON(inclusions[i], &p)
		leaf, err := base64.StdEncoding.DecodeString(e.Leaf)
		if err != nil || len(leaf) == 0 {
			fail("%s: bad leaf", entries[i])
		}
		if p.Seq != e.Seq || p.TreeSize != cp.size {
			fail("inclusion proof is for #%d in %d, want #%d in %d", p.Seq, p.TreeSize, e.Seq, cp.size)
		}
		// The leaf hash is computed here from the bytes GetEntry returned,
		// never taken from the server.
		if err := tlog.CheckRecord(hashes(p.Hashes), cp.size, cp.root, e.Seq, tlog.RecordHash(leaf)); err != nil {
			fail("inclusion of #%d: %v", e.Seq, err)
		}
		checks++
	}
	fmt.Printf("goverify: ok: %d checks against %s size %d\n", checks, cp.origin, cp.size)
}
