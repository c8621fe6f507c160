// Package store keeps the CRM's data in MongoDB (FerretDB-compatible subset):
// contacts with their identity keys, the order ledger, settings, segments,
// integrations and the per-workspace value lease. Every query is scoped by
// workspace id, and driver errors are translated into apperr kinds.
//
// A contact is one document that two packages write: profile fields (name,
// keys, attributes, influence) through Contacts, and ledger fields (alias,
// canonical, link, eff, val) through Ledger. They never write each other's
// fields, so plain $set/$inc on disjoint paths needs no coordination.
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Collection names.
const (
	colContacts     = "crm_contacts"
	colKeys         = "crm_contact_keys"
	colConvs        = "crm_contact_conversations"
	colAudit        = "crm_contact_audit"
	colSeen         = "crm_seen_messages"
	colOrders       = "crm_orders"
	colRefunds      = "crm_refunds"
	colLeases       = "crm_leases"
	colSettings     = "crm_settings"
	colAttrs        = "crm_attribute_defs"
	colSegments     = "crm_segments"
	colIntegrations = "crm_integrations"
	colDeliveries   = "crm_webhook_deliveries"
	colCodes        = "crm_referral_codes"
)

// EnsureIndexes creates the indexes every query relies on; it is idempotent.
func EnsureIndexes(ctx context.Context, db *mongo.Database) error {
	idx := map[string][]bson.D{
		colContacts: {
			{{Key: "ws", Value: 1}, {Key: "canonical", Value: 1}},
			{{Key: "ws", Value: 1}, {Key: "alias", Value: 1}},
			{{Key: "ws", Value: 1}, {Key: "link.parent", Value: 1}},
			{{Key: "ws", Value: 1}, {Key: "eff.parent", Value: 1}},
			{{Key: "ws", Value: 1}, {Key: "val.total", Value: -1}, {Key: "_id", Value: 1}},
			{{Key: "ws", Value: 1}, {Key: "val.referral", Value: -1}, {Key: "_id", Value: 1}},
			{{Key: "ws", Value: 1}, {Key: "created_at", Value: -1}, {Key: "_id", Value: 1}},
		},
		colKeys:         {{{Key: "ws", Value: 1}, {Key: "contact", Value: 1}}},
		colConvs:        {{{Key: "ws", Value: 1}, {Key: "contact", Value: 1}, {Key: "last_activity", Value: -1}}},
		colAudit:        {{{Key: "ws", Value: 1}, {Key: "contacts", Value: 1}, {Key: "at", Value: -1}}},
		colOrders:       {{{Key: "ws", Value: 1}, {Key: "contact", Value: 1}}},
		colRefunds:      {{{Key: "ws", Value: 1}, {Key: "order", Value: 1}, {Key: "state", Value: 1}}, {{Key: "ws", Value: 1}, {Key: "contact", Value: 1}}},
		colSegments:     {{{Key: "ws", Value: 1}, {Key: "created_at", Value: -1}}},
		colIntegrations: {{{Key: "ws", Value: 1}}},
	}
	for col, keys := range idx {
		models := make([]mongo.IndexModel, 0, len(keys))
		for _, k := range keys {
			models = append(models, mongo.IndexModel{Keys: k})
		}
		// One index per command: FerretDB 1.24 fails a createIndexes naming
		// several indexes when some exist, as they do at every restart.
		if err := mongox.EnsureIndexes(ctx, db.Collection(col), models...); err != nil {
			return fmt.Errorf("ensure indexes: %w", err)
		}
	}
	return nil
}

func wsKey(ws string, parts ...string) string {
	k := ws
	for _, p := range parts {
		k += "|" + p
	}
	return k
}

// oneOf is the filter value matching any of vals. A single value is matched
// by equality: FerretDB (the development and CI server) pushes equalities
// down to its backend's indexes but answers every $in by scanning the
// collection, which in a workspace of a million contacts costs seconds.
func oneOf[T any](vals []T) any {
	if len(vals) == 1 {
		return vals[0]
	}
	return bson.M{"$in": vals}
}

// fewValues bounds the lookups findEach splits into concurrent equalities.
const fewValues = 8

// findEach runs query for the distinct vals: once per value, concurrently,
// when there are a few (each an equality, see oneOf), else once with $in.
// Results come in no particular order; callers of unsorted lookups need none.
func findEach[T any](ctx context.Context, vals []string, query func(ctx context.Context, match any) ([]T, error)) ([]T, error) {
	uniq := make([]string, 0, len(vals))
	for _, v := range vals {
		if !slices.Contains(uniq, v) {
			uniq = append(uniq, v)
		}
	}
	if len(uniq) <= 1 || len(uniq) > fewValues {
		return query(ctx, oneOf(uniq))
	}
	parts := make([][]T, len(uniq))
	errs := make([]error, len(uniq))
	var wg sync.WaitGroup
	for i, v := range uniq {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[i], errs[i] = query(ctx, v)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.Concat(parts...), nil
}
