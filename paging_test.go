package joinedup

import (
	"encoding/base64"
	"testing"
	"time"
)

// TestCursorRoundTrip checks that a cursor read back from its token is
// the cursor that made it, to the microsecond, and that tokens no cursor
// made are refused.
func TestCursorRoundTrip(t *testing.T) {
	c := EventCursor{At: time.Date(2026, time.December, 4, 12, 0, 0, 123456000, time.UTC), ID: "evt_01jd"}
	got, err := ParseCursor[EventID](c.String())
	if err != nil || got != c {
		t.Errorf("ParseCursor(%q) = %+v, %v; want %+v", c.String(), got, err, c)
	}

	token := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, bad := range []string{
		"", "not base64!", token("123") + "=", token("1234"), token("1234."), token("x.evt_1"),
		token("-1.evt_1"), token("1234.evt 1"), token("1234.évt"),
	} {
		if _, err := ParseCursor[EventID](bad); err == nil {
			t.Errorf("ParseCursor(%q) accepted it", bad)
		}
	}
}
