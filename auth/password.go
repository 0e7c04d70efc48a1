package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Params are the argon2id cost parameters.
type Params struct {
	Time    uint32 // passes over the memory
	Memory  uint32 // KiB
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are the second recommended option of RFC 9106, section 4
// (argon2id, t=3, 64 MiB, p=4, 128-bit salt, 256-bit tag), for machines
// without the 2 GiB per hash of the first option. The golang.org/x/crypto
// argon2 package documents the same choice.
var DefaultParams = Params{Time: 3, Memory: 64 * 1024, Threads: 4, SaltLen: 16, KeyLen: 32}

// MinPasswordLength is the minimum length of a new password, in Unicode
// code points, as NIST SP 800-63B revision 3, section 5.1.1.2, requires of
// passwords that a person chooses.
const MinPasswordLength = 8

// MaxPasswordLength bounds the input to argon2id, in bytes.
const MaxPasswordLength = 1024

// HashPassword returns the argon2id hash of password, after NFKC
// normalisation as NIST SP 800-63B recommends, in PHC string form:
// $argon2id$v=19$m=MEMORY,t=TIME,p=THREADS$SALT$KEY, with the salt and key
// in unpadded standard base64.
func HashPassword(password string, p Params) (string, error) {
	if len(password) > MaxPasswordLength {
		return "", fmt.Errorf("password longer than %d bytes", MaxPasswordLength)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(norm.NFKC.String(password)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches hash, using the
// parameters stored in the hash. A hash that is not an argon2id PHC string
// returns an error.
func VerifyPassword(password, hash string) (bool, error) {
	p, salt, want, err := decodeHash(hash)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordLength {
		return false, nil
	}
	got := argon2.IDKey([]byte(norm.NFKC.String(password)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

var errHashFormat = errors.New("invalid password hash: want $argon2id$v=19$m=…,t=…,p=…$salt$key")

func decodeHash(hash string) (Params, []byte, []byte, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, errHashFormat
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, errHashFormat
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, errHashFormat
	}
	if p.Time == 0 || p.Memory == 0 || p.Threads == 0 {
		return Params{}, nil, nil, errHashFormat
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) == 0 {
		return Params{}, nil, nil, errHashFormat
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) == 0 {
		return Params{}, nil, nil, errHashFormat
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
