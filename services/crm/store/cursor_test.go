package store

import (
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	ts := time.Date(2025, 3, 1, 12, 0, 0, 123e6, time.UTC)
	for _, v := range []any{int64(-42), ts, "Ann"} {
		got, id, err := decodeCursor(encodeCursor(v, "id1"))
		if err != nil || id != "id1" || got != v {
			t.Errorf("%v → %v %q %v", v, got, id, err)
		}
	}
}

// FuzzDecodeCursor: cursors come from clients; decoding must refuse junk
// cleanly and whatever it accepts must encode back to an equal cursor.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(int64(5), "a"))
	f.Add(encodeCursor("x", "b"))
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		v, id, err := decodeCursor(s)
		if err != nil {
			return
		}
		v2, id2, err := decodeCursor(encodeCursor(v, id))
		if err != nil || id2 != id || v2 != v {
			t.Fatalf("%q: %v %q does not round-trip: %v %q %v", s, v, id, v2, id2, err)
		}
	})
}
