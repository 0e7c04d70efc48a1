// Package strictjson finds what encoding/json accepts in a JSON text
// without an error. It replaces bytes that are not UTF-8 with U+FFFD, it
// reports a leading byte order mark only as an invalid character, and of
// a name repeated in one object it keeps the last value. The API's request
// bodies and the -services file are both checked with this package.
package strictjson

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
)

// InvalidUTF8 returns the byte offset of the first byte of data that is
// not part of a UTF-8 sequence, and whether there is one.
func InvalidUTF8(data []byte) (offset int, found bool) {
	if utf8.Valid(data) {
		return 0, false
	}
	for offset < len(data) {
		r, size := utf8.DecodeRune(data[offset:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		offset += size
	}
	return offset, true
}

// ByteOrderMark returns the byte offset of a byte order mark (U+FEFF) that
// starts data, after any JSON whitespace, and whether there is one. JSON
// texts exchanged between systems must not start with one (RFC 8259,
// section 8.1).
func ByteOrderMark(data []byte) (offset int, found bool) {
	rest := bytes.TrimLeft(data, " \t\r\n")
	if !bytes.HasPrefix(rest, []byte("\uFEFF")) {
		return 0, false
	}
	return len(data) - len(rest), true
}

// RepeatedName is a name that appears twice in one JSON object.
type RepeatedName struct {
	// Pointer is the JSON Pointer (RFC 6901) of the second appearance.
	Pointer string
	Name    string
	// First is the name as it first appeared. It differs from Name only
	// in case, for FindRepeatedFoldedName.
	First string
	// Offset is the byte offset of the second appearance's opening quote.
	Offset int64
}

// FindRepeatedName returns the first name that appears twice in one object
// of data, which must be valid JSON, and whether there is one.
func FindRepeatedName(data []byte) (RepeatedName, bool) {
	return findRepeated(data, func(name string) string { return name })
}

// FindRepeatedFoldedName returns the first name that appears twice in one
// object of data, which must be valid JSON, with names compared as
// encoding/json matches them to a struct's fields: without regard to
// case. Such a repeat fills one field twice, and the last value wins.
func FindRepeatedFoldedName(data []byte) (RepeatedName, bool) {
	var fold *cases.Caser // made only for a name that is not ASCII
	return findRepeated(data, func(name string) string {
		for i := 0; i < len(name); i++ {
			if name[i] >= utf8.RuneSelf {
				if fold == nil {
					c := cases.Fold()
					fold = &c
				}
				return fold.String(name)
			}
		}
		// Folding an ASCII name lowers its case, and strings.ToLower
		// returns a name already in lower case without copying it.
		return strings.ToLower(name)
	})
}

// findRepeated finds the first name of data that appears twice in one
// object, comparing names by their key.
func findRepeated(data []byte, key func(string) string) (RepeatedName, bool) {
	type level struct {
		path     string
		names    map[string]string // the names by key, nil in an array
		index    int               // the next element's index, in an array
		wantName bool              // the next string is a name, in an object
		name     string            // the name of the value being read
	}
	var stack []*level
	// valuePath returns the pointer of the value that starts now, and
	// moves the enclosing level on past it.
	valuePath := func() string {
		if len(stack) == 0 {
			return ""
		}
		top := stack[len(stack)-1]
		if top.names != nil {
			top.wantName = true
			return top.path + "/" + EscapePointer(top.name)
		}
		top.index++
		return top.path + "/" + strconv.Itoa(top.index-1)
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		// The decoder has read up to the end of the last token, so the
		// next token starts after whitespace and any comma or colon.
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return RepeatedName{}, false
		}
		if len(stack) > 0 {
			if top := stack[len(stack)-1]; top.names != nil && top.wantName {
				if name, ok := tok.(string); ok {
					if first, seen := top.names[key(name)]; seen {
						return RepeatedName{
							Pointer: top.path + "/" + EscapePointer(name),
							Name:    name,
							First:   first,
							Offset:  start + int64(bytes.IndexByte(data[start:], '"')),
						}, true
					}
					top.names[key(name)] = name
					top.name, top.wantName = name, false
					continue
				}
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{path: valuePath(), names: map[string]string{}, wantName: true})
		case json.Delim('['):
			stack = append(stack, &level{path: valuePath()})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return RepeatedName{}, false
			}
		default:
			if len(stack) == 0 {
				return RepeatedName{}, false
			}
			valuePath()
		}
	}
}

// EscapePointer escapes a name for a JSON Pointer (RFC 6901): "~" becomes
// "~0" and "/" becomes "~1".
func EscapePointer(name string) string { return pointerEscaper.Replace(name) }

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")
