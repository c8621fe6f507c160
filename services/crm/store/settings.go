package store

import (
	"context"
	"errors"
	"time"

	"github.com/communityinbox/crm/money"
	"github.com/communityinbox/crm/settings"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Settings implements settings.Storer.
type Settings struct{ col *mongo.Collection }

// NewSettings returns the settings store on db.
func NewSettings(db *mongo.Database) *Settings { return &Settings{col: db.Collection(colSettings)} }

type settingsDoc struct {
	ID           string            `bson:"_id"`
	BaseCurrency string            `bson:"base_currency"`
	Rates        map[string]string `bson:"rates"` // exact text of each rate
	WeightsBP    []int64           `bson:"weights_bp"`
	VIPTotal     int64             `bson:"vip_total"`
	VIPReferral  int64             `bson:"vip_referral"`
	Version      int64             `bson:"version"`
	UpdatedAt    time.Time         `bson:"updated_at"`
}

// Get implements settings.Storer.
func (s *Settings) Get(ctx context.Context, ws string) (settings.Settings, bool, error) {
	var d settingsDoc
	err := s.col.FindOne(ctx, bson.M{"_id": ws}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return settings.Settings{}, false, nil
	}
	if err != nil {
		return settings.Settings{}, false, mongox.Translate(err, "get settings", "settings")
	}
	out := settings.Settings{BaseCurrency: d.BaseCurrency, Rates: map[string]money.Rate{}, WeightsBP: d.WeightsBP,
		VIPTotal: d.VIPTotal, VIPReferral: d.VIPReferral, Version: d.Version, UpdatedAt: d.UpdatedAt.UTC()}
	for c, txt := range d.Rates {
		r, err := money.ParseRate(txt)
		if err != nil {
			return settings.Settings{}, false, err
		}
		out.Rates[c] = r
	}
	return out, true, nil
}

// Put implements settings.Storer with an optimistic version check.
func (s *Settings) Put(ctx context.Context, ws string, st settings.Settings) error {
	d := settingsDoc{ID: ws, BaseCurrency: st.BaseCurrency, Rates: map[string]string{}, WeightsBP: st.WeightsBP,
		VIPTotal: st.VIPTotal, VIPReferral: st.VIPReferral, Version: st.Version, UpdatedAt: st.UpdatedAt}
	for c, r := range st.Rates {
		d.Rates[c] = r.String()
	}
	var err error
	if st.Version == 1 {
		_, err = s.col.InsertOne(ctx, d)
	} else {
		var res *mongo.UpdateResult
		res, err = s.col.ReplaceOne(ctx, bson.M{"_id": ws, "version": st.Version - 1}, d, options.Replace())
		if err == nil && res.MatchedCount == 0 {
			return apperr.Conflict("settings changed concurrently, retry")
		}
	}
	if mongox.IsDuplicate(err) {
		return apperr.Conflict("settings changed concurrently, retry")
	}
	return mongox.Translate(err, "put settings", "settings")
}
