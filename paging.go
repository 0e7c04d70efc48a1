package joinedup

import (
	"encoding/base64"
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

// String returns c as a token for a URL: the time in microseconds since
// 1970 and the id, joined by a dot and encoded in unpadded base64url, so
// that callers pass it back rather than build one.
func (c Cursor[ID]) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.At.UnixMicro(), 10) + "." + string(c.ID)))
}

// ParseCursor reads a token made by Cursor.String.
func ParseCursor[ID ~string](token string) (Cursor[ID], error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return Cursor[ID]{}, fmt.Errorf("cursor is not unpadded base64url: %w", err)
	}
	micros, id, ok := strings.Cut(string(b), ".")
	if !ok || id == "" || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return Cursor[ID]{}, fmt.Errorf("cursor does not name an item")
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil || us < 0 {
		return Cursor[ID]{}, fmt.Errorf("cursor does not give a time")
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
