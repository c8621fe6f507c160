package conversationdb

import (
	"bytes"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// diffUpdate returns the update turning before into after: $set for top-level
// fields that are new or changed, $unset for those gone. Fields neither side
// knows (written by others, e.g. workflow fields this store does not model)
// are left alone. It returns nil when nothing changed.
func diffUpdate(id string, before, after any) (mongo.WriteModel, error) {
	b, err := bson.Marshal(before)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	a, err := bson.Marshal(after)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	old := map[string]bson.RawValue{}
	elems, err := bson.Raw(b).Elements()
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	for _, e := range elems {
		old[e.Key()] = e.Value()
	}
	set, unset := bson.D{}, bson.D{}
	elems, err = bson.Raw(a).Elements()
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	seen := map[string]bool{}
	for _, e := range elems {
		k, v := e.Key(), e.Value()
		seen[k] = true
		if k == "_id" {
			continue
		}
		if o, ok := old[k]; !ok || o.Type != v.Type || !bytes.Equal(o.Value, v.Value) {
			set = append(set, bson.E{Key: k, Value: v})
		}
	}
	for k := range old {
		if !seen[k] {
			unset = append(unset, bson.E{Key: k, Value: ""})
		}
	}
	upd := bson.D{}
	if len(set) > 0 {
		upd = append(upd, bson.E{Key: "$set", Value: set})
	}
	if len(unset) > 0 {
		upd = append(upd, bson.E{Key: "$unset", Value: unset})
	}
	if len(upd) == 0 {
		return nil, nil
	}
	// The filter is the id alone: FerretDB only looks a document up by key
	// when the filter has no other field, and scans the collection otherwise.
	return update(bson.D{{Key: "_id", Value: id}}, upd), nil
}
