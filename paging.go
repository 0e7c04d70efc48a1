package joinedup

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cursor is an item's place in a list ordered by a time and then by id,
// such as a delivery's creation time or a life event's registration time.
// A page after or before a cursor starts or ends there, wherever the list
// has gained or lost items since the cursor was given.
type Cursor[ID ~string] struct {
	At time.Time
	ID ID
}

// Token returns c as a token for a URL of the list named list, such as
// "deliveries". The token is the list's name, the time in microseconds
// since 1970 and the id, joined by dots and encoded in unpadded
// base64url, so that callers pass it back rather than build one. The name ties the token to
// its list, so ParseCursor rejects it when another list is given it. A
// list's name must not contain a dot.
func (c Cursor[ID]) Token(list string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(list + "." + strconv.FormatInt(c.At.UnixMicro(), 10) + "." + string(c.ID)))
}

// ErrCursorOfOtherList is the error of ParseCursor for a well-formed
// token that another list gave.
var ErrCursorOfOtherList = errors.New("cursor was given by another list")

// ParseCursor reads a token that Cursor.Token made for the list named
// list. It returns ErrCursorOfOtherList, wrapped, for a token made for
// another list, and another error for a token that Token did not make.
func ParseCursor[ID ~string](list, token string) (Cursor[ID], error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return Cursor[ID]{}, fmt.Errorf("cursor is not unpadded base64url: %w", err)
	}
	name, place, ok := strings.Cut(string(b), ".")
	if !ok {
		return Cursor[ID]{}, fmt.Errorf("cursor does not name a list")
	}
	micros, id, ok := strings.Cut(place, ".")
	if !ok || id == "" || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return Cursor[ID]{}, fmt.Errorf("cursor does not name an item")
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil || us < 0 {
		return Cursor[ID]{}, fmt.Errorf("cursor does not give a time")
	}
	if name != list {
		return Cursor[ID]{}, fmt.Errorf("%w %q, not %q", ErrCursorOfOtherList, name, list)
	}
	return Cursor[ID]{At: time.UnixMicro(us).UTC(), ID: ID(id)}, nil
}

// EventCursor is a life event's place in a list of life events, which is
// ordered by registration time and then id, newest first.
type EventCursor = Cursor[EventID]

// EventCursorOf returns the place of ev in a list of life events.
func EventCursorOf(ev *LifeEvent) EventCursor {
	return EventCursor{At: ev.RegisteredAt, ID: ev.ID}
}

// Page is one page of a list, such as of deliveries or life events.
type Page[T any] struct {
	Items []T
	// Total is the number of items that match the list's filter, and
	// Offset the number of them before Items in the list's order.
	Total, Offset int
}
