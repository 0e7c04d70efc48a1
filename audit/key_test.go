package audit

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	k, err := LoadOrCreateKey(dir, "joinedup.test/audit")
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	if !k.CanSign() || k.Origin() != "joinedup.test/audit" {
		t.Errorf("new key: can sign %t, origin %q; want true and joinedup.test/audit", k.CanSign(), k.Origin())
	}

	info, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatalf("stat key file: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %v, want 0600", perm)
	}
	pub, err := os.ReadFile(filepath.Join(dir, PublicKeyFile))
	if err != nil {
		t.Fatalf("read public key file: %v", err)
	}
	if got := strings.TrimSpace(string(pub)); got != k.PublicKey() {
		t.Errorf("public key file = %q, want %q", got, k.PublicKey())
	}

	again, err := LoadOrCreateKey(dir, "")
	if err != nil {
		t.Fatalf("load key: %v", err)
	}
	if again.PublicKey() != k.PublicKey() {
		t.Errorf("loaded key %q, want the created %q", again.PublicKey(), k.PublicKey())
	}

	// A checkpoint signed by the loaded key verifies with the public key file.
	msg, err := signCheckpoint(again, 1, bytes.Repeat([]byte{1}, hashSize))
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	public, err := LoadPublicKey(filepath.Join(dir, PublicKeyFile))
	if err != nil {
		t.Fatalf("load public key: %v", err)
	}
	if public.CanSign() {
		t.Errorf("public key can sign, want it not to")
	}
	if _, err := ParseCheckpoint(msg, public); err != nil {
		t.Errorf("parse checkpoint with the public key: %v", err)
	}
}

func TestLoadOrCreateKeyRejects(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(t *testing.T, dir string)
		origin string
		want   string
	}{
		{"readable by others", func(t *testing.T, dir string) {
			mustCreateKey(t, dir)
			if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "", "chmod 600"},
		{"garbage", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("not a key"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "", "parse private key"},
		{"no origin for a new key", func(t *testing.T, dir string) {}, "", "origin is missing"},
		{"invalid origin", func(t *testing.T, dir string) {}, "two words", "origin \"two words\" is invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			_, err := LoadOrCreateKey(dir, tc.origin)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadOrCreateKey = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func mustCreateKey(t *testing.T, dir string) {
	t.Helper()
	if _, err := LoadOrCreateKey(dir, "joinedup.test/audit"); err != nil {
		t.Fatalf("create key: %v", err)
	}
}

func TestParseCheckpointRejects(t *testing.T) {
	k, err := GenerateKey(rand.Reader, "joinedup.test/audit")
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	other, err := GenerateKey(rand.Reader, "joinedup.test/audit")
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	otherOrigin, err := GenerateKey(rand.Reader, "elsewhere.test/audit")
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	root := bytes.Repeat([]byte{7}, hashSize)
	// sign signs a checkpoint of tree size 5, then replaces the size line
	// with changed when it is not empty.
	sign := func(k *Key, changed string) []byte {
		t.Helper()
		msg, err := signCheckpoint(k, 5, root)
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		if changed == "" {
			return msg
		}
		return bytes.Replace(msg, []byte("\n5\n"), []byte(changed), 1)
	}

	cases := []struct {
		name string
		msg  []byte
		key  *Key
		want string
	}{
		{"signed by another key", sign(other, ""), k, "not signed by the audit key"},
		{"other origin", sign(otherOrigin, ""), otherOrigin, ""},
		{"body changed after signing", sign(k, "\n6\n"), k, "signature is invalid"},
		{"not a note", []byte("hello"), k, "not a valid signed note"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCheckpoint(tc.msg, tc.key)
			if tc.want == "" {
				if err != nil {
					t.Errorf("ParseCheckpoint with its own key = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseCheckpoint = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadOrCreateKeyRestoresPublicKey(t *testing.T) {
	dir := t.TempDir()
	k, err := LoadOrCreateKey(dir, "joinedup.test/audit")
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	pubPath := filepath.Join(dir, PublicKeyFile)
	if err := os.Remove(pubPath); err != nil {
		t.Fatalf("remove public key: %v", err)
	}
	if _, err := LoadOrCreateKey(dir, ""); err != nil {
		t.Fatalf("load key: %v", err)
	}
	pub, err := LoadPublicKey(pubPath)
	if err != nil {
		t.Fatalf("load restored public key: %v", err)
	}
	if pub.PublicKey() != k.PublicKey() {
		t.Errorf("restored public key %q, want %q", pub.PublicKey(), k.PublicKey())
	}
}

func TestLoadOrCreateKeyKeepsOrigin(t *testing.T) {
	dir := t.TempDir()
	mustCreateKey(t, dir)
	k, err := LoadOrCreateKey(dir, "elsewhere.test")
	if err != nil {
		t.Fatalf("load key under another origin: %v", err)
	}
	if k.Origin() != "joinedup.test/audit" {
		t.Errorf("origin = %q, want the key's own, joinedup.test/audit", k.Origin())
	}
}
