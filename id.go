package joinedup

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a new identifier with the given prefix, such as
// "evt_01jd…". Identifiers made later sort later (to the millisecond), which
// keeps index inserts cheap, and carry 80 random bits.
func NewID(prefix string) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("read random bytes: " + err.Error())
	}
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}

// NewReference returns a reference number for a person to read out or type:
// "JU-" and eight characters of Crockford base32 in two groups, such as
// "JU-7K3M-9QXD". It has 40 random bits.
func NewReference() string {
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("read random bytes: " + err.Error())
	}
	s := strings.ToUpper(idEncoding.EncodeToString(b[:]))
	return "JU-" + s[:4] + "-" + s[4:]
}

// NormalizeReference returns a reference number, as a person typed it, in
// the form NewReference gives. It puts the letters in capitals and the
// hyphens in place, whatever spaces or hyphens were typed. The dashes
// U+2010 to U+2015 and the minus sign U+2212 count as hyphens, because
// text copied from a document or typed with automatic punctuation can
// have one in place of a hyphen. It reads O as 0 and I and L as 1, as
// Crockford base32 does. It applies NFKC first, so fullwidth letters
// and digits read as their ASCII forms. Other text comes back in capitals
// without spaces, and IsReference reports false for it.
func NormalizeReference(s string) string {
	s = strings.Map(hyphenForDash, norm.NFKC.String(s))
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	code, ok := strings.CutPrefix(strings.ReplaceAll(s, "-", ""), "JU")
	if !ok || len(code) != 8 {
		return s
	}
	code = strings.NewReplacer("O", "0", "I", "1", "L", "1").Replace(code)
	return "JU-" + code[:4] + "-" + code[4:]
}

// IsReference reports whether s is a reference number in the form that
// NewReference gives, such as "JU-7K3M-9QXD".
func IsReference(s string) bool {
	code, ok := strings.CutPrefix(s, "JU-")
	if !ok || len(code) != 9 || code[4] != '-' {
		return false
	}
	for i, r := range code {
		if i != 4 && !strings.ContainsRune(referenceDigits, r) {
			return false
		}
	}
	return true
}

// referenceDigits are the characters of Crockford base32 in capitals, as
// NewReference writes them.
const referenceDigits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// hyphenForDash returns "-" for the hyphens and dashes U+2010 to U+2015
// and the minus sign U+2212, and r for any other rune.
func hyphenForDash(r rune) rune {
	if r >= '\u2010' && r <= '\u2015' || r == '\u2212' {
		return '-'
	}
	return r
}
