package value

import (
	"reflect"
	"testing"
)

func parents(m map[string]string) func(string) (string, bool) {
	return func(id string) (string, bool) {
		p, ok := m[id]
		return p, ok
	}
}

func TestAncestors(t *testing.T) {
	pm := parents(map[string]string{"e": "d", "d": "c", "c": "b", "b": "a"})
	if got := Ancestors(pm, "e", 3); !reflect.DeepEqual(got, []string{"d", "c", "b"}) {
		t.Errorf("depth 3: %v", got)
	}
	if got := Ancestors(pm, "c", 5); !reflect.DeepEqual(got, []string{"b", "a"}) {
		t.Errorf("to the root: %v", got)
	}
	if got := Ancestors(pm, "a", 3); got != nil {
		t.Errorf("root: %v", got)
	}
	loop := parents(map[string]string{"x": "y", "y": "z", "z": "y"})
	if got := Ancestors(loop, "x", 9); !reflect.DeepEqual(got, []string{"y", "z"}) {
		t.Errorf("corrupt loop: %v", got)
	}
}

func TestEntryDeltas(t *testing.T) {
	got := EntryDeltas([]string{"d", "c", "b"}, -250, false)
	want := []Delta{{"d", 1, -250, 0, 0}, {"c", 2, -250, 0, 0}, {"b", 3, -250, 0, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("refund: %+v", got)
	}
	got = EntryDeltas([]string{"d"}, 0, true)
	if want := []Delta{{"d", 1, 0, 0, 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("free first order: %+v", got)
	}
	if got := EntryDeltas([]string{"d"}, 0, false); got != nil {
		t.Errorf("nothing changed: %+v", got)
	}
}

func TestMoveDeltas(t *testing.T) {
	// x: direct 5, one order; below it 7 at depth 1 (1 contact, a buyer) and
	// 11 at depth 2 (2 contacts, no buyer).
	sub := Value{Direct: 5, Orders: 1, ReferralByLevel: []int64{7, 11, 13}, ReferredCount: []int{1, 2, 3}, ReferredBuyers: []int{1, 0, 1}}
	got := MoveDeltas([]string{"p", "g"}, sub, +1)
	want := []Delta{
		{"p", 1, 5, 1, 1}, {"p", 2, 7, 1, 1}, {"p", 3, 11, 2, 0},
		{"g", 2, 5, 1, 1}, {"g", 3, 7, 1, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("attach:\n got %+v\nwant %+v", got, want)
	}
	got = MoveDeltas([]string{"p"}, Value{ReferralByLevel: make([]int64, 2), ReferredCount: make([]int, 2), ReferredBuyers: make([]int, 2)}, -1)
	if want := []Delta{{"p", 1, 0, -1, 0}}; !reflect.DeepEqual(got, want) {
		t.Errorf("detach empty: %+v", got)
	}
}
