package webhook

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fixture reads a file from testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtures lists the testdata files of one platform directory.
func fixtures(t testing.TB, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	for i, n := range names {
		names[i], _ = filepath.Rel("testdata", n)
	}
	return names
}

// utc builds a UTC time; ms is milliseconds.
func utc(year int, month time.Month, day, hour, min, sec, ms int) time.Time {
	return time.Date(year, month, day, hour, min, sec, ms*int(time.Millisecond), time.UTC)
}

// assertEvents compares events field by field. A want.DedupeKey ending in
// "*" matches by prefix, for keys that end in an edit version hash.
func assertEvents(t *testing.T, got, want []Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		assertEvent(t, i, got[i], want[i])
	}
}

func assertEvent(t *testing.T, i int, got, want Event) {
	t.Helper()
	if !got.Timestamp.Equal(want.Timestamp) {
		t.Errorf("event %d: Timestamp = %v, want %v", i, got.Timestamp, want.Timestamp)
	}
	if prefix, ok := strings.CutSuffix(want.DedupeKey, "*"); ok {
		if !strings.HasPrefix(got.DedupeKey, prefix) || len(got.DedupeKey) == len(prefix) {
			t.Errorf("event %d: DedupeKey = %q, want prefix %q and a version", i, got.DedupeKey, prefix)
		}
		got.DedupeKey = want.DedupeKey
	}
	got.Timestamp, want.Timestamp = time.Time{}, time.Time{}
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for f := 0; f < gv.NumField(); f++ {
		if !reflect.DeepEqual(gv.Field(f).Interface(), wv.Field(f).Interface()) {
			t.Errorf("event %d: %s =\n  %#v\nwant\n  %#v", i, gv.Type().Field(f).Name, gv.Field(f).Interface(), wv.Field(f).Interface())
		}
	}
}

// validActions is every Action a parser may return.
var validActions = map[Action]bool{
	ActionMessage: true, ActionEdit: true, ActionDelete: true, ActionHide: true,
	ActionUnhide: true, ActionReaction: true, ActionStatus: true,
}

// checkInvariants asserts what every parser promises for every event it returns.
func checkInvariants(t testing.TB, events []Event, platforms ...Platform) {
	t.Helper()
	for i, ev := range events {
		okPlatform := false
		for _, p := range platforms {
			okPlatform = okPlatform || ev.Platform == p
		}
		if !okPlatform {
			t.Errorf("event %d: Platform %q, want one of %v", i, ev.Platform, platforms)
		}
		if ev.DedupeKey == "" || !strings.HasPrefix(ev.DedupeKey, string(ev.Platform)+":") {
			t.Errorf("event %d: DedupeKey %q does not start with the platform", i, ev.DedupeKey)
		}
		if ev.ExternalID == "" {
			t.Errorf("event %d: empty ExternalID", i)
		}
		if ev.Kind != KindComment && ev.Kind != KindDM {
			t.Errorf("event %d: Kind %q", i, ev.Kind)
		}
		if !validActions[ev.Action] {
			t.Errorf("event %d: Action %q", i, ev.Action)
		}
		if ev.Action == ActionMessage && ev.ThreadKey == "" {
			t.Errorf("event %d: message without ThreadKey", i)
		}
		if (ev.Action == ActionReaction) != (ev.Reaction != nil) {
			t.Errorf("event %d: Action %q with Reaction %v", i, ev.Action, ev.Reaction)
		}
		if (ev.Action == ActionStatus) != (ev.Status != nil) {
			t.Errorf("event %d: Action %q with Status %v", i, ev.Action, ev.Status)
		}
		if !ev.Timestamp.IsZero() && ev.Timestamp.Location() != time.UTC {
			t.Errorf("event %d: Timestamp %v not in UTC", i, ev.Timestamp)
		}
		if ev.Kind == KindComment && ev.ParentID != "" && ev.Post != nil && ev.ParentID == ev.Post.ID {
			t.Errorf("event %d: ParentID is the post id %q", i, ev.ParentID)
		}
		if (ev.Mention || ev.Share) && (ev.Action != ActionMessage || ev.Echo) {
			t.Errorf("event %d: Mention %v Share %v on a %q event (echo %v)", i, ev.Mention, ev.Share, ev.Action, ev.Echo)
		}
	}
}
