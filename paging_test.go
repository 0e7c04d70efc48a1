package joinedup

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

// TestCursorRoundTrip checks that a cursor read back from its token is
// the cursor that made it, to the microsecond, and that tokens no cursor
// made are rejected.
func TestCursorRoundTrip(t *testing.T) {
	c := EventCursor{At: time.Date(2026, time.December, 4, 12, 0, 0, 123456000, time.UTC), ID: "evt_01jd"}
	got, err := ParseCursor[EventID]("life-events", c.Token("life-events"))
	if err != nil || got != c {
		t.Errorf("ParseCursor(%q) = %+v, %v; want %+v", c.Token("life-events"), got, err, c)
	}

	token := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, bad := range []string{
		"", "not base64!", token("life-events.123") + "=", token("life-events.1234"), token("life-events.1234."),
		token("life-events.x.evt_1"), token("life-events.-1.evt_1"), token("life-events.1234.evt 1"),
		token("life-events.1234.évt"), token("1234.evt_1"), token("life-events"),
	} {
		_, err := ParseCursor[EventID]("life-events", bad)
		if err == nil {
			t.Errorf("ParseCursor(%q) accepted it", bad)
		}
		if errors.Is(err, ErrCursorOfOtherList) {
			t.Errorf("ParseCursor(%q) = %v, want a malformed cursor, not one of another list", bad, err)
		}
	}
}

// TestCursorOfOtherList checks that a cursor is rejected by a list other
// than the one it was made for, with ErrCursorOfOtherList.
func TestCursorOfOtherList(t *testing.T) {
	c := DeliveryCursor{At: time.Date(2026, time.December, 4, 12, 0, 0, 0, time.UTC), ID: "dlv_01jd"}
	for _, other := range []string{"life-events", "notices/child-benefit", "", "deliveries2"} {
		_, err := ParseCursor[DeliveryID](other, c.Token("deliveries"))
		if !errors.Is(err, ErrCursorOfOtherList) {
			t.Errorf("ParseCursor(%q) of a deliveries cursor: error %v, want ErrCursorOfOtherList", other, err)
		}
	}
}
