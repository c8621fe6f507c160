package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/communityinbox/crm/value"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestRawNodeMatchesStructDecoding holds the raw-BSON reader of the full
// scan to the struct decoding the rest of the store uses, on documents as
// both writers leave them (int32 counters from FerretDB, null links, a
// contact the ledger never touched).
func TestRawNodeMatchesStructDecoding(t *testing.T) {
	at := time.Date(2025, 4, 2, 10, 30, 0, 250e6, time.UTC)
	docs := []bson.M{
		{"_id": "c1", "ws": "w", "name": "Ann", "alias": "", "canonical": "c1",
			"link": bson.M{"child": "c1", "parent": "c0", "at": at}, "eff": bson.M{"child": "c1", "parent": "c0", "at": at},
			"val": bson.M{"ver": int64(7), "own_direct": int64(-250), "own_orders": int32(3), "direct": int64(9_000_000_000), "orders": int32(4),
				"sum": bson.A{int64(5), int32(6), int64(-7)}, "count": bson.A{int32(1), int32(2), int32(3)}, "buyers": bson.A{int32(1), int32(0), int32(2)},
				"referral": int64(11), "total": int64(12), "tier": "vip"}},
		{"_id": "c2", "ws": "w", "alias": "c1", "canonical": "c1", "link": nil, "eff": nil,
			"val": bson.M{"ver": int32(0), "own_direct": int32(0), "own_orders": int32(0), "direct": int32(0), "orders": int32(0),
				"sum": bson.A{}, "count": bson.A{}, "buyers": bson.A{}, "referral": int32(0), "total": int32(0), "tier": ""}},
		{"_id": "c3", "ws": "w", "name": "new contact"},
	}
	for _, d := range docs {
		raw, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var nd nodeDoc
		if err := bson.Unmarshal(raw, &nd); err != nil {
			t.Fatal(err)
		}
		want := toNode(nd)
		got, err := rawNode(raw)
		if err != nil {
			t.Fatalf("%s: %v", d["_id"], err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nraw    %+v\nstruct %+v", d["_id"], got, want)
		}
	}
	if got, _ := rawNode(mustRaw(t, docs[0])); got.Link == nil || got.Link.At != at || got.Sum[2] != -7 || got.OwnOrders != 3 {
		t.Fatalf("c1 read as %+v", got)
	}
}

func TestRawEntry(t *testing.T) {
	at := time.Date(2025, 4, 2, 10, 30, 0, 0, time.UTC)
	got, err := rawEntry(mustRaw(t, bson.M{"_id": "w|api|1", "contact": "c1", "base": int32(1234), "booked_at": at}))
	want := value.Entry{ID: "w|api|1", Contact: "c1", Amount: 1234, At: at}
	if err != nil || got != want {
		t.Fatalf("got %+v %v, want %+v", got, err, want)
	}
	if _, err := rawEntry(mustRaw(t, bson.M{"_id": "x", "contact": "c1", "base": "12"})); err == nil {
		t.Fatal("a string amount was accepted")
	}
	if _, err := rawNode(mustRaw(t, bson.M{"_id": "c1", "link": "c0"})); err == nil {
		t.Fatal("a string link was accepted")
	}
}

func mustRaw(t *testing.T, d bson.M) bson.Raw {
	t.Helper()
	raw, err := bson.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
