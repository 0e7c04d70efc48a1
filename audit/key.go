package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// Names of the key files in the data directory. The private key file
// contains a signed-note signer key and must be readable by its owner only.
// The public key file contains the matching verifier key, for anyone who
// checks checkpoints.
const (
	KeyFile       = "audit.key"
	PublicKeyFile = "audit.key.pub"
)

// Key is the hub's Ed25519 key for checkpoints. Its name in the signed-note
// format is the log's origin, the first line of every checkpoint. A key
// loaded from a public key file verifies checkpoints but cannot sign them.
type Key struct {
	signer   note.Signer
	verifier note.Verifier
	public   string
}

// Origin returns the log's origin, which is the key's name.
func (k *Key) Origin() string { return k.verifier.Name() }

// PublicKey returns the verifier key in the signed-note format,
// "<origin>+<key hash>+<base64 key>".
func (k *Key) PublicKey() string { return k.public }

// CanSign reports whether k has its private part.
func (k *Key) CanSign() bool { return k.signer != nil }

// GenerateKey returns a new key for the given origin, read from random.
func GenerateKey(random io.Reader, origin string) (*Key, error) {
	skey, _, err := note.GenerateKey(random, origin)
	if err != nil {
		return nil, fmt.Errorf("generate audit key for origin %q: %w", origin, err)
	}
	return parsePrivateKey(skey)
}

// LoadOrCreateKey reads the private key from KeyFile in dir, or creates it
// with mode 0600, and its public key in PublicKeyFile, when dir has none.
// A new key is named origin. An existing key keeps the origin it was
// created with, which names the log in every checkpoint it signed, and its
// file must not be readable by group or others.
func LoadOrCreateKey(dir, origin string) (*Key, error) {
	k, err := loadKey(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(dir, origin)
	}
	if err != nil {
		return nil, err
	}

	// Restore a deleted public key file, which joinedup audit verify reads.
	pubPath := filepath.Join(dir, PublicKeyFile)
	if _, err := os.Stat(pubPath); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(pubPath, []byte(k.PublicKey()+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("write audit public key: %w", err)
		}
	}
	return k, nil
}

// CheckKey returns the error that LoadOrCreateKey(dir, origin) would
// return for a fault of the key or of its directory, without creating
// anything.
func CheckKey(dir, origin string) error {
	if info, err := os.Stat(dir); err == nil && !info.IsDir() {
		return fmt.Errorf("key directory %s is a file, not a directory", dir)
	}
	_, err := loadKey(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return checkOrigin(origin)
	}
	return err
}

// LoadKey reads the private key from KeyFile in dir, creating nothing.
// When dir has no key, the error matches fs.ErrNotExist.
func LoadKey(dir string) (*Key, error) {
	return loadKey(dir)
}

// loadKey reads the private key in dir.
func loadKey(dir string) (*Key, error) {
	return loadPrivateKey(filepath.Join(dir, KeyFile))
}

func loadPrivateKey(path string) (*Key, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read audit key: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("audit key %s has mode %v: run chmod 600 on it", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read audit key: %w", err)
	}
	k, err := parsePrivateKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("read audit key %s: %w", path, err)
	}
	return k, nil
}

// checkOrigin checks origin as the name of a new key.
func checkOrigin(origin string) error {
	if origin == "" {
		return errors.New("create audit key: the origin is missing")
	}
	if !utf8.ValidString(origin) || strings.ContainsFunc(origin, unicode.IsSpace) || strings.Contains(origin, "+") {
		return fmt.Errorf("create audit key: origin %q is invalid: use a name without spaces or +, such as council.example/joinedup", origin)
	}
	return nil
}

func createKey(dir, origin string) (*Key, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return nil, fmt.Errorf("create audit key for origin %q: %w", origin, err)
	}
	k, err := parsePrivateKey(skey)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create audit key: %w", err)
	}

	// O_EXCL makes a second process that races this one fail rather than
	// overwrite the key the first one has started to sign with.
	path := filepath.Join(dir, KeyFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create audit key: %w", err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write audit key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write audit key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write audit key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, PublicKeyFile), []byte(vkey+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("write audit public key: %w", err)
	}
	return k, nil
}

// parsePrivateKey parses a signer key, "PRIVATE+KEY+<name>+<hash>+<base64
// of the algorithm byte and the Ed25519 seed>", and derives its verifier.
func parsePrivateKey(skey string) (*Key, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return nil, errors.New("parse private key: want 5 fields separated by +")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, errors.New("parse private key: not an Ed25519 signer key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return nil, fmt.Errorf("derive public key: %w", err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("derive public key: %w", err)
	}
	return &Key{signer: signer, verifier: verifier, public: vkey}, nil
}

// ParsePublicKey parses a verifier key in the signed-note format and
// returns a key that verifies but cannot sign.
func ParsePublicKey(vkey string) (*Key, error) {
	vkey = strings.TrimSpace(vkey)
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	return &Key{verifier: verifier, public: vkey}, nil
}

// LoadPublicKey reads a verifier key from the file at path.
func LoadPublicKey(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read audit public key: %w", err)
	}
	k, err := ParsePublicKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("read audit public key %s: %w", path, err)
	}
	return k, nil
}
