package workflow

import (
	"testing"
	"time"
)

func TestCursorRoundTripAndSortBinding(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 30, 15, 123456789, time.UTC)
	s := encodeCursor(Cursor{At: at, ID: "c-42"}, SortWaiting)
	c, err := decodeCursor(s, SortWaiting)
	if err != nil || !c.At.Equal(at) || c.ID != "c-42" {
		t.Fatalf("round trip: %+v %v", c, err)
	}
	if _, err := decodeCursor(s, SortRecent); err == nil {
		t.Fatal("a waiting cursor was accepted by the recent sort")
	}
	for _, bad := range []string{"", "!!", "e30", encodeCursor(Cursor{At: at}, SortRecent)} {
		if _, err := decodeCursor(bad, SortRecent); err == nil {
			t.Fatalf("cursor %q accepted", bad)
		}
	}
}

// FuzzDecodeCursor: cursors come from clients; any string either decodes to
// a cursor that encodes back to an equivalent one, or is refused.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(Cursor{At: time.Unix(1700000000, 5), ID: "abc"}, SortRecent))
	f.Add("eyJzIjoicmVjZW50IiwidCI6MCwiaSI6IngifQ")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s, SortRecent)
		if err != nil {
			return
		}
		if c.ID == "" {
			t.Fatal("accepted a cursor without an id")
		}
		back, err := decodeCursor(encodeCursor(c, SortRecent), SortRecent)
		if err != nil || !back.At.Equal(c.At) || back.ID != c.ID {
			t.Fatalf("re-encoding changed %+v into %+v (%v)", c, back, err)
		}
	})
}
