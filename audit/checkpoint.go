package audit

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/joinedup/joinedup"
)

// Checkpoint is a signed statement of the log's size and root hash. Its
// body is the transparency-dev checkpoint format: the origin, the tree size
// in decimal and the root hash in standard base64, one per line. The body
// is signed with the hub's Ed25519 key as a signed note.
type Checkpoint struct {
	Origin string
	Size   uint64
	Hash   []byte

	// Note is the signed note, body and signature lines, as published.
	Note []byte
}

// signCheckpoint returns the signed note of a checkpoint for the tree of
// the given size and root hash.
func signCheckpoint(k *Key, size uint64, root []byte) ([]byte, error) {
	if k.signer == nil {
		return nil, errors.New("the audit key has no private part, so it cannot sign")
	}
	body := fmt.Sprintf("%s\n%d\n%s\n", k.Origin(), size, base64.StdEncoding.EncodeToString(root))
	msg, err := note.Sign(&note.Note{Text: body}, k.signer)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return msg, nil
}

// ErrOtherKey means a checkpoint is not signed by the key it was checked
// against, as when a hub has a key other than the one that signed its log.
var ErrOtherKey = errors.New("the checkpoint is signed by another key")

// ParseCheckpoint checks the signature of a signed checkpoint against k and
// returns the checkpoint. A note that k did not sign, or whose origin is
// not k's, returns an EINVALID error, which matches ErrOtherKey when no
// signature is by k.
func ParseCheckpoint(msg []byte, k *Key) (*Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(k.verifier))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return nil, &joinedup.Error{Code: joinedup.EINVALID,
				Message: fmt.Sprintf("The checkpoint is not signed by the audit key %s.", k.Origin()), Err: fmt.Errorf("%w: %w", ErrOtherKey, err)}
		}
		var invalid *note.InvalidSignatureError
		if errors.As(err, &invalid) {
			return nil, &joinedup.Error{Code: joinedup.EINVALID,
				Message: "The checkpoint's signature is invalid: the checkpoint was changed after it was signed.", Err: err}
		}
		return nil, &joinedup.Error{Code: joinedup.EINVALID, Message: "The checkpoint is not a valid signed note.", Err: err}
	}

	cp, err := parseCheckpointBody(n.Text)
	if err != nil {
		return nil, &joinedup.Error{Code: joinedup.EINVALID, Message: "The checkpoint body is invalid.", Err: err}
	}
	if cp.Origin != k.Origin() {
		return nil, joinedup.Errorf(joinedup.EINVALID, "The checkpoint is for origin %q, not %q.", cp.Origin, k.Origin())
	}
	cp.Note = bytes.Clone(msg)
	return cp, nil
}

// unverifiedCheckpoint returns the checkpoint that a signed note states,
// without checking its signature.
func unverifiedCheckpoint(msg []byte) (*Checkpoint, error) {
	end := bytes.Index(msg, []byte("\n\n"))
	if end < 0 {
		return nil, errors.New("the note has no blank line after its text")
	}
	return parseCheckpointBody(string(msg[:end+1]))
}

// parseCheckpointBody parses the origin, size and root hash lines. Lines
// after them are extensions, which the format allows and this log ignores.
func parseCheckpointBody(text string) (*Checkpoint, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("want at least 3 lines, got %d", len(lines))
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("parse tree size %q: %w", lines[1], err)
	}
	hash, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil {
		return nil, fmt.Errorf("parse root hash: %w", err)
	}
	if len(hash) != hashSize {
		return nil, fmt.Errorf("root hash is %d bytes, want %d", len(hash), hashSize)
	}
	return &Checkpoint{Origin: lines[0], Size: size, Hash: hash}, nil
}
