package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestFindEachSplitsFewValuesIntoEqualities pins what FerretDB needs from
// lookups: one value and a few distinct values are queried by equality (the
// latter concurrently), many by one $in; duplicates are asked once.
func TestFindEachSplitsFewValuesIntoEqualities(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		vals    []string
		queries int
		in      bool
	}{
		{[]string{"a"}, 1, false},
		{[]string{"a", "b", "a", "c"}, 3, false},
		{[]string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}, 1, true},
		{nil, 1, true},
	} {
		var mu sync.Mutex
		var matches []any
		got, err := findEach(ctx, tc.vals, func(_ context.Context, match any) ([]string, error) {
			mu.Lock()
			defer mu.Unlock()
			matches = append(matches, match)
			if m, ok := match.(bson.M); ok {
				return slices.Clone(m["$in"].([]string)), nil
			}
			return []string{match.(string)}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(matches) != tc.queries {
			t.Fatalf("%v: %d queries (%v), want %d", tc.vals, len(matches), matches, tc.queries)
		}
		if _, isIn := matches[0].(bson.M); isIn != tc.in {
			t.Fatalf("%v: query %v, $in wanted: %v", tc.vals, matches[0], tc.in)
		}
		want := slices.Compact(slices.Sorted(slices.Values(tc.vals)))
		slices.Sort(got)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("%v: results %v, want %v", tc.vals, got, want)
		}
	}
	boom := errors.New("boom")
	_, err := findEach(ctx, []string{"a", "b"}, func(_ context.Context, match any) ([]string, error) {
		if match == "b" {
			return nil, fmt.Errorf("query b: %w", boom)
		}
		return []string{"a"}, nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("a failed lookup returned %v", err)
	}
}
