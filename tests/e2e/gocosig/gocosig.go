// gocosig checks a published loopledger checkpoint and its witness
// cosignatures with the Go reference signed-note implementation
// (golang.org/x/mod/sumdb/note), which shares no code with the server:
// note.Open parses the note, matches every signature line to a verifier by
// name and key hash, ignores lines of unknown signers and refuses the note
// when a known signer's signature does not verify. The log's key is a
// standard note verifier (note.NewVerifier); each witness key is a C2SP
// tlog-cosignature Ed25519 (cosignature/v1, type 0x04) verifier written
// here from the spec, as note.Verifier lets any signature scheme plug in.
//
//	gocosig -vkey LOGVKEY -witness WVKEY... -quorum N FILE|URL
//
// Prints "ok size N cosigned by a,b" and exits 0 when the log's signature
// and at least N of the witnesses' cosignatures verify; 1 otherwise.
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gocosig: "+format+"\n", args...)
	os.Exit(1)
}

// cosigner verifies cosignature/v1 signatures (c2sp.org/tlog-cosignature).
type cosigner struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

func (c *cosigner) Name() string    { return c.name }
func (c *cosigner) KeyHash() uint32 { return c.hash }

// Verify: sig is timestamp (u64 big-endian) || Ed25519 signature over
// "cosignature/v1\ntime <ts>\n" || the note text.
func (c *cosigner) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	ts := binary.BigEndian.Uint64(sig[:8])
	if ts > 1<<63-1 {
		return false
	}
	m := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", ts)), msg...)
	return ed25519.Verify(c.pub, m, sig[8:])
}

func parseCosigner(vkey string) *cosigner {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		fail("witness key %q: want name+hash+base64", vkey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		fail("witness key %q: not an Ed25519 cosignature (0x04) key", vkey)
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	if hex.EncodeToString(h[:4]) != parts[1] {
		fail("witness key %q: key hash does not match", vkey)
	}
	return &cosigner{name: parts[0], hash: binary.BigEndian.Uint32(h[:4]),
		pub: ed25519.PublicKey(raw[1:])}
}

func read(src string) []byte {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		resp, err := http.Get(src)
		if err != nil {
			fail("%v", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			fail("%s: HTTP %d", src, resp.StatusCode)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			fail("%v", err)
		}
		return b
	}
	b, err := os.ReadFile(src)
	if err != nil {
		fail("%v", err)
	}
	return b
}

func main() {
	vkey := flag.String("vkey", "", "the log's note verifier key")
	quorum := flag.Int("quorum", 1, "cosignatures required")
	var wits list
	flag.Var(&wits, "witness", "a witness's cosignature verifier key (repeatable)")
	flag.Parse()
	if *vkey == "" || flag.NArg() != 1 {
		fail("usage: gocosig -vkey VKEY -witness WVKEY... -quorum N FILE|URL")
	}
	logv, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("log key: %v", err)
	}
	vs := []note.Verifier{logv}
	isWitness := map[string]bool{}
	for _, w := range wits {
		c := parseCosigner(w)
		vs = append(vs, c)
		isWitness[c.name] = true
	}
	n, err := note.Open(read(flag.Arg(0)), note.VerifierList(vs...))
	if err != nil {
		fail("%s: %v", flag.Arg(0), err)
	}
	logSigned := false
	var cosigned []string
	for _, s := range n.Sigs {
		if s.Name == logv.Name() && s.Hash == logv.KeyHash() {
			logSigned = true
		} else if isWitness[s.Name] {
			cosigned = append(cosigned, s.Name)
		}
	}
	if !logSigned {
		fail("no valid signature by the log")
	}
	sort.Strings(cosigned)
	if len(cosigned) < *quorum {
		fail("%d valid cosignature(s) (%s), quorum %d", len(cosigned),
			strings.Join(cosigned, ","), *quorum)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("checkpoint body has fewer than three lines")
	}
	fmt.Printf("ok size %s cosigned by %s (%d unverified signature lines)\n", lines[1],
		strings.Join(cosigned, ","), len(n.UnverifiedSigs))
}
