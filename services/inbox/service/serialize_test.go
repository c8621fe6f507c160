package service

import (
	"context"
	"os"
	"testing"

	"github.com/communityinbox/shared/mongotest"
)

func TestSerializeWritesOnFerretDB(t *testing.T) {
	db := mongotest.DB(t)
	got, err := serializeWrites(context.Background(), "auto", db)
	if err != nil {
		t.Fatal(err)
	}
	// The test server is FerretDB unless MONGO_TEST_URI points elsewhere.
	var info struct {
		FerretDB any `bson:"ferretdbVersion"`
	}
	if err := db.RunCommand(context.Background(), map[string]int{"buildInfo": 1}).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("MONGO_TEST_URI") == "" && !got {
		t.Fatal("the embedded FerretDB was not detected")
	}
	if got != (info.FerretDB != nil) {
		t.Fatalf("auto = %v, server is FerretDB: %v", got, info.FerretDB != nil)
	}
	if got, _ := serializeWrites(context.Background(), "false", db); got {
		t.Fatal("false ignored")
	}
	if _, err := serializeWrites(context.Background(), "maybe", db); err == nil {
		t.Fatal("bad mode accepted")
	}
}
