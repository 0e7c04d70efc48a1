package audit

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the fixtures in testdata from the current code")

// leafFixture is one case of testdata/leaves-v1.json: an entry as a caller
// gives it, with Seq and Time as Append set them, and its leaf.
type leafFixture struct {
	Name     string `json:"name"`
	Entry    Entry  `json:"entry"`
	Leaf     string `json:"leaf"`
	LeafHash string `json:"leafHash"`
}

func fixtureEntries() []leafFixture {
	at := time.Date(2026, 12, 4, 20, 16, 54, 123456000, time.UTC)
	return []leafFixture{
		{Name: "record opened", Entry: Entry{
			Seq: 0, Time: at, Actor: "staff-7", Action: ActionAccess, Subject: "person-0042",
			Purpose: "adult-social-care", Reasons: []string{"policy0", "relationship: allocated worker"},
			Detail: json.RawMessage(`{"record": "rec-9", "fields": ["name", "address"]}`),
		}},
		{Name: "consent withdrawn without detail", Entry: Entry{
			Seq: 1, Time: at.Add(time.Second), Actor: "resident", Action: ActionConsentWithdrawn,
			Subject: "person-0042", Purpose: "tell-us-once",
		}},
		{Name: "policy changed with escapes", Entry: Entry{
			Seq: 2, Time: at.Add(time.Minute), Actor: "admin-1", Action: ActionPolicyChanged,
			Reasons: []string{"line one\nline two", "<b> & \u2028"},
			Detail:  json.RawMessage(`{"z": {"b": 1.50, "a": 1e3}, "name": "Zoë \"quoted\"", "list": [true, null]}`),
		}},
	}
}

func TestLeafFixtures(t *testing.T) {
	path := filepath.Join("testdata", "leaves-v1.json")
	if *update {
		cases := fixtureEntries()
		for i := range cases {
			leaf, err := EncodeLeaf(1, cases[i].Entry)
			if err != nil {
				t.Fatalf("encode %s: %v", cases[i].Name, err)
			}
			cases[i].Leaf = string(leaf)
			cases[i].LeafHash = hex.EncodeToString(sha256Leaf(leaf))
		}
		writeFixture(t, path, cases)
	}

	var cases []leafFixture
	readFixture(t, path, &cases)
	if len(cases) == 0 {
		t.Fatalf("%s has no cases", path)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			leaf, err := EncodeLeaf(1, c.Entry)
			if err != nil {
				t.Fatalf("encode leaf: %v", err)
			}
			if string(leaf) != c.Leaf {
				t.Errorf("leaf =\n%s\nwant\n%s", leaf, c.Leaf)
			}
			if got := hex.EncodeToString(sha256Leaf([]byte(c.Leaf))); got != c.LeafHash {
				t.Errorf("SHA-256 of 0x00 and the fixture leaf = %s, want the fixture's %s", got, c.LeafHash)
			}
			h, err := LeafHash(1, c.Entry)
			if err != nil {
				t.Fatalf("leaf hash: %v", err)
			}
			if got := hex.EncodeToString(h); got != c.LeafHash {
				t.Errorf("leaf hash = %s, want %s", got, c.LeafHash)
			}
		})
	}
}

// sha256Leaf computes the RFC 6962 leaf hash without the merkle package,
// as a verifier written from the format's description would.
func sha256Leaf(leaf []byte) []byte {
	sum := sha256.Sum256(append([]byte{0}, leaf...))
	return sum[:]
}

func TestCheckpointFixture(t *testing.T) {
	notePath := filepath.Join("testdata", "checkpoint-v1.txt")
	keyPath := filepath.Join("testdata", "checkpoint-v1.pub")
	if *update {
		k, err := GenerateKey(rand.Reader, "joinedup.test/audit")
		if err != nil {
			t.Fatalf("generate key: %v", err)
		}
		root := bytes.Repeat([]byte{0xab}, hashSize)
		msg, err := signCheckpoint(k, 42, root)
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		writeFile(t, notePath, msg)
		writeFile(t, keyPath, []byte(k.PublicKey()+"\n"))
	}

	k, err := LoadPublicKey(keyPath)
	if err != nil {
		t.Fatalf("load key: %v", err)
	}
	msg, err := os.ReadFile(notePath)
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	cp, err := ParseCheckpoint(msg, k)
	if err != nil {
		t.Fatalf("parse checkpoint: %v", err)
	}
	if cp.Origin != "joinedup.test/audit" || cp.Size != 42 || !bytes.Equal(cp.Hash, bytes.Repeat([]byte{0xab}, hashSize)) {
		t.Errorf("checkpoint = %q, size %d, hash %x; want joinedup.test/audit, 42, ab repeated", cp.Origin, cp.Size, cp.Hash)
	}
	wantBody := "joinedup.test/audit\n42\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n"
	if !bytes.HasPrefix(msg, []byte(wantBody)) {
		t.Errorf("note starts %q, want the body %q and a blank line", msg[:min(len(msg), len(wantBody))], wantBody)
	}
}

func writeFixture(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("encode %s: %v", path, err)
	}
	writeFile(t, path, append(b, '\n'))
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func readFixture(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}
