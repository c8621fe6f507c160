package webhook

import (
	"encoding/json"
	"testing"
	"time"
)

func TestFlexID(t *testing.T) {
	for in, want := range map[string]flexID{
		`"abc"`:                "abc",
		`1234567890321`:        "1234567890321",
		`12345678901234567890`: "12345678901234567890", // above int64 and 2^53: digits kept
		`-1001234567890`:       "-1001234567890",
		`null`:                 "",
	} {
		var got flexID
		if err := json.Unmarshal([]byte(in), &got); err != nil || got != want {
			t.Errorf("flexID(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`{}`, `[1]`, `true`} {
		var got flexID
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("flexID(%s) accepted as %q", in, got)
		}
	}
}

func TestFlexInt(t *testing.T) {
	for in, want := range map[string]flexInt{
		`1700000000`:        1700000000,
		`"1700000000"`:      1700000000,
		`" 1606541403440 "`: 1606541403440,
		`1.7e9`:             1700000000,
		`"soon"`:            0,
		`true`:              0,
		`null`:              0,
		`{"a":1}`:           0,
		`1e300`:             0,
	} {
		var got flexInt
		if err := json.Unmarshal([]byte(in), &got); err != nil || got != want {
			t.Errorf("flexInt(%s) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestTimestampUnits(t *testing.T) {
	sec := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)
	ms := sec.Add(123 * time.Millisecond)
	if got := unixSeconds(1700000000); !got.Equal(sec) {
		t.Errorf("unixSeconds = %v", got)
	}
	if got := unixMillis(1700000000123); !got.Equal(ms) {
		t.Errorf("unixMillis = %v", got)
	}
	if got := unixAuto(1700000000); !got.Equal(sec) {
		t.Errorf("unixAuto(seconds) = %v", got)
	}
	if got := unixAuto(1700000000123); !got.Equal(ms) {
		t.Errorf("unixAuto(millis) = %v", got)
	}
	for _, v := range []flexInt{0, -5} {
		if !unixSeconds(v).IsZero() || !unixMillis(v).IsZero() || !unixAuto(v).IsZero() {
			t.Errorf("non-positive %d should give the zero time", v)
		}
	}
}
