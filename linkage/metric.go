package linkage

import (
	"math/bits"
	"unicode/utf8"
)

// The string metrics below work on bytes when both strings are ASCII,
// which folded names and addresses almost always are, and fall back to
// runes otherwise. They keep their work arrays on the stack for strings of
// up to maxStack characters, so scoring a pair allocates nothing.
const maxStack = 64

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// jaroWinkler returns the Jaro–Winkler similarity of a and b, from 0 for
// nothing in common to 1 for equal strings, with the usual prefix scale
// of 0.1 over at most four characters.
func jaroWinkler(a, b string) float64 {
	if a == b {
		if a == "" {
			return 0
		}
		return 1
	}
	if a == "" || b == "" {
		return 0
	}
	if isASCII(a) && isASCII(b) {
		if len(a) <= 64 && len(b) <= 64 {
			return jaroWinklerShort(a, b)
		}
		return jaroWinklerOf([]byte(a), []byte(b))
	}
	return jaroWinklerOf([]rune(a), []rune(b))
}

// jaroWinklerShort computes jaroWinklerOf for ASCII strings of up to 64
// bytes with bit sets: for each byte value, the set of positions in b
// that hold it. Matching a character of a is then one mask operation
// rather than a scan of the window.
func jaroWinklerShort(a, b string) float64 {
	if len(a) > len(b) {
		a, b = b, a
	}
	var positions [128]uint64
	for j := 0; j < len(b); j++ {
		positions[b[j]] |= 1 << j
	}

	window := max(len(b)/2-1, 0)
	var aMatched, bMatched uint64
	matches := 0
	for i := 0; i < len(a); i++ {
		lo, hi := max(i-window, 0), min(i+window+1, len(b))
		if lo >= hi {
			continue
		}
		inWindow := (^uint64(0) >> (64 - hi)) &^ (1<<lo - 1)
		if free := positions[a[i]] & inWindow &^ bMatched; free != 0 {
			bMatched |= free & -free
			aMatched |= 1 << i
			matches++
		}
	}
	if matches == 0 {
		return 0
	}

	transpositions := 0
	bLeft := bMatched
	for aLeft := aMatched; aLeft != 0; aLeft &= aLeft - 1 {
		i, j := bits.TrailingZeros64(aLeft), bits.TrailingZeros64(bLeft)
		bLeft &= bLeft - 1
		if a[i] != b[j] {
			transpositions++
		}
	}

	m := float64(matches)
	jaro := (m/float64(len(a)) + m/float64(len(b)) + (m-float64(transpositions/2))/m) / 3
	prefix := 0
	for prefix < min(4, len(a)) && a[prefix] == b[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}

func jaroWinklerOf[T byte | rune](a, b []T) float64 {
	if len(a) > len(b) {
		a, b = b, a
	}
	var aFlagStack, bFlagStack [maxStack]bool
	var aFlag, bFlag []bool
	if len(b) <= maxStack {
		aFlag, bFlag = aFlagStack[:len(a)], bFlagStack[:len(b)]
	} else {
		aFlag, bFlag = make([]bool, len(a)), make([]bool, len(b))
	}

	window := max(len(b)/2-1, 0)
	matches := 0
	for i, c := range a {
		lo, hi := max(i-window, 0), min(i+window+1, len(b))
		for j := lo; j < hi; j++ {
			if !bFlag[j] && b[j] == c {
				aFlag[i], bFlag[j] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}

	transpositions, j := 0, 0
	for i, c := range a {
		if !aFlag[i] {
			continue
		}
		for !bFlag[j] {
			j++
		}
		if c != b[j] {
			transpositions++
		}
		j++
	}

	m := float64(matches)
	jaro := (m/float64(len(a)) + m/float64(len(b)) + (m-float64(transpositions/2))/m) / 3
	prefix := 0
	for prefix < min(4, len(a)) && a[prefix] == b[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}

// damerauLevenshtein returns the optimal string alignment distance of a and
// b: the number of insertions, deletions, substitutions and transpositions
// of adjacent characters that turn a into b, with no substring edited
// twice. Distances above limit are returned as limit+1, which lets the
// caller ask "at most one edit?" cheaply.
func damerauLevenshtein(a, b string, limit int) int {
	if a == b {
		return 0
	}
	if isASCII(a) && isASCII(b) {
		return osaOf([]byte(a), []byte(b), limit)
	}
	return osaOf([]rune(a), []rune(b), limit)
}

func osaOf[T byte | rune](a, b []T, limit int) int {
	for len(a) > 0 && len(b) > 0 && a[0] == b[0] {
		a, b = a[1:], b[1:]
	}
	for len(a) > 0 && len(b) > 0 && a[len(a)-1] == b[len(b)-1] {
		a, b = a[:len(a)-1], b[:len(b)-1]
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > limit {
		return limit + 1
	}
	if len(a) == 0 {
		return len(b)
	}

	// Three rows of the edit matrix: two back, previous and current.
	var stack [3 * (maxStack + 1)]int
	var rows []int
	if n := len(a) + 1; n <= maxStack+1 {
		rows = stack[:3*n]
	} else {
		rows = make([]int, 3*n)
	}
	n := len(a) + 1
	prev2, prev, cur := rows[:n], rows[n:2*n], rows[2*n:]
	for i := range prev {
		prev[i] = i
	}
	for j := 1; j <= len(b); j++ {
		cur[0] = j
		rowMin := j
		for i := 1; i <= len(a); i++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[i]+1, cur[i-1]+1, prev[i-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[i-2]+1)
			}
			cur[i] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(a)], limit+1)
}

// soundex returns the American Soundex code of s packed into four bytes
// (a letter and three digits), or 0 when s has no ASCII letter. Letters
// outside A–Z are skipped; folding has already removed accents.
func soundex(s string) uint32 {
	const codes = "01230120022455012623010202" // a to z
	var out [4]byte
	n := 0
	var last byte
	for i := 0; i < len(s) && n < 4; i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c < 'a' || c > 'z' {
			continue
		}
		code := codes[c-'a']
		if n == 0 {
			out[0] = c
			n = 1
			last = code
			continue
		}
		switch {
		case code == '0':
			// Vowels separate equal codes, but h and w do not.
			if c != 'h' && c != 'w' {
				last = '0'
			}
		case code != last:
			out[n] = code
			n++
			last = code
		}
	}
	if n == 0 {
		return 0
	}
	for ; n < 4; n++ {
		out[n] = '0'
	}
	return uint32(out[0])<<24 | uint32(out[1])<<16 | uint32(out[2])<<8 | uint32(out[3])
}
