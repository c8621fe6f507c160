package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/communityinbox/crm/contact"
	"github.com/communityinbox/crm/order"
	"github.com/communityinbox/crm/segment"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/mongox"
	"github.com/communityinbox/shared/secretbox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Segments implements segment.Storer.
type Segments struct{ col *mongo.Collection }

// NewSegments returns the segment store on db.
func NewSegments(db *mongo.Database) *Segments { return &Segments{col: db.Collection(colSegments)} }

// segmentDoc keeps the filter as its JSON text, so the saved filter is exactly
// what the API accepted.
type segmentDoc struct {
	ID        string    `bson:"_id"`
	WS        string    `bson:"ws"`
	Name      string    `bson:"name"`
	Filter    string    `bson:"filter"`
	CreatedBy string    `bson:"created_by"`
	CreatedAt time.Time `bson:"created_at"`
}

// Create implements segment.Storer.
func (s *Segments) Create(ctx context.Context, seg segment.Segment) error {
	f, err := json.Marshal(seg.Filter)
	if err != nil {
		return err
	}
	_, err = s.col.InsertOne(ctx, segmentDoc{ID: seg.ID, WS: seg.WorkspaceID, Name: seg.Name, Filter: string(f), CreatedBy: seg.CreatedBy, CreatedAt: seg.CreatedAt})
	return mongox.Translate(err, "create segment", "segment")
}

func toSegment(d segmentDoc) (segment.Segment, error) {
	var f contact.Filter
	if err := json.Unmarshal([]byte(d.Filter), &f); err != nil {
		return segment.Segment{}, err
	}
	return segment.Segment{ID: d.ID, WorkspaceID: d.WS, Name: d.Name, Filter: f, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt.UTC()}, nil
}

// Get implements segment.Storer.
func (s *Segments) Get(ctx context.Context, ws, id string) (segment.Segment, error) {
	var d segmentDoc
	if err := s.col.FindOne(ctx, bson.M{"_id": id, "ws": ws}).Decode(&d); err != nil {
		return segment.Segment{}, mongox.Translate(err, "get segment", "segment")
	}
	return toSegment(d)
}

// List implements segment.Storer.
func (s *Segments) List(ctx context.Context, ws string) ([]segment.Segment, error) {
	cur, err := s.col.Find(ctx, bson.M{"ws": ws}, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(500))
	if err != nil {
		return nil, mongox.Translate(err, "list segments", "segment")
	}
	var docs []segmentDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "list segments", "segment")
	}
	out := make([]segment.Segment, 0, len(docs))
	for _, d := range docs {
		seg, err := toSegment(d)
		if err != nil {
			return nil, err
		}
		out = append(out, seg)
	}
	return out, nil
}

// Delete implements segment.Storer.
func (s *Segments) Delete(ctx context.Context, ws, id string) error {
	res, err := s.col.DeleteOne(ctx, bson.M{"_id": id, "ws": ws})
	if err != nil {
		return mongox.Translate(err, "delete segment", "segment")
	}
	if res.DeletedCount == 0 {
		return apperr.NotFound("segment")
	}
	return nil
}

// Integrations implements order.IntegrationStore. The Shopify secret is
// stored sealed with box, bound to its workspace, integration and field.
type Integrations struct {
	col, deliveries *mongo.Collection
	box             *secretbox.Box
}

// NewIntegrations returns the integration store on db sealing secrets with box.
func NewIntegrations(db *mongo.Database, box *secretbox.Box) *Integrations {
	return &Integrations{col: db.Collection(colIntegrations), deliveries: db.Collection(colDeliveries), box: box}
}

// secretField names the sealed field in its additional data.
const secretField = "secret"

type integrationDoc struct {
	ID         string    `bson:"_id"`
	WS         string    `bson:"ws"`
	ShopDomain string    `bson:"shop_domain"`
	Secret     string    `bson:"secret"`
	CreatedAt  time.Time `bson:"created_at"`
}

// CreateIntegration implements order.IntegrationStore.
func (s *Integrations) CreateIntegration(ctx context.Context, in order.Integration) error {
	sealed, err := s.box.Seal(in.Secret, in.WorkspaceID, in.ID, secretField)
	if err != nil {
		return fmt.Errorf("create integration: %w", err)
	}
	_, err = s.col.InsertOne(ctx, integrationDoc{ID: in.ID, WS: in.WorkspaceID, ShopDomain: in.ShopDomain, Secret: sealed, CreatedAt: in.CreatedAt})
	return mongox.Translate(err, "create integration", "integration")
}

// toIntegration opens d's secret. A secret stored in plain text (before
// encryption) or under an old key is sealed again here too, so that one
// written by an instance still running older code after this one's Reseal
// does not stay in the clear; failing that only leaves it to the next read
// or start.
func (s *Integrations) toIntegration(ctx context.Context, d integrationDoc) (order.Integration, error) {
	secret, stale, err := s.box.Open(d.Secret, d.WS, d.ID, secretField)
	if err != nil {
		return order.Integration{}, fmt.Errorf("integration %s: %w", d.ID, err)
	}
	if stale {
		_, _ = s.reseal(ctx, d, secret)
	}
	return order.Integration{ID: d.ID, WorkspaceID: d.WS, ShopDomain: d.ShopDomain, Secret: secret, CreatedAt: d.CreatedAt.UTC()}, nil
}

// reseal stores secret, the opened secret of d, sealed under the current
// key. The update applies only while the stored value is still d's, so it
// never overwrites a concurrent change; done reports that it applied.
func (s *Integrations) reseal(ctx context.Context, d integrationDoc, secret string) (done bool, err error) {
	sealed, err := s.box.Seal(secret, d.WS, d.ID, secretField)
	if err != nil {
		return false, fmt.Errorf("reseal integration %s: %w", d.ID, err)
	}
	res, err := s.col.UpdateOne(ctx, bson.M{"_id": d.ID, "ws": d.WS, "secret": d.Secret}, bson.M{"$set": bson.M{"secret": sealed}})
	if err != nil {
		return false, mongox.Translate(err, "reseal integration", "integration")
	}
	return res.MatchedCount > 0, nil
}

// ResealStats counts what Reseal did.
type ResealStats struct {
	Resealed   int // written again under the current key
	Unreadable int // left alone: sealed with a key the box lacks, or tampered with
}

// Reseal seals again under the current key every integration secret stored
// in plain text (before encryption) or under an old key. Integrations are
// never rewritten otherwise, so this, run at start, is what encrypts secrets
// stored before encryption and finishes a key rotation. Unreadable secrets
// are counted and skipped: reading them fails loudly anyway, and one of them
// must not stop the service.
func (s *Integrations) Reseal(ctx context.Context) (ResealStats, error) {
	var st ResealStats
	cur, err := s.col.Find(ctx, bson.M{})
	if err != nil {
		return st, fmt.Errorf("reseal integrations: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d integrationDoc
		if err := cur.Decode(&d); err != nil {
			return st, fmt.Errorf("reseal integrations: %w", err)
		}
		secret, stale, err := s.box.Open(d.Secret, d.WS, d.ID, secretField)
		if err != nil {
			st.Unreadable++
			continue
		}
		if !stale {
			continue
		}
		done, err := s.reseal(ctx, d, secret)
		if err != nil {
			return st, err
		}
		if done {
			st.Resealed++
		}
	}
	if err := cur.Err(); err != nil {
		return st, fmt.Errorf("reseal integrations: %w", err)
	}
	return st, nil
}

// Integration implements order.IntegrationStore.
func (s *Integrations) Integration(ctx context.Context, id string) (order.Integration, error) {
	var d integrationDoc
	if err := s.col.FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		return order.Integration{}, mongox.Translate(err, "get integration", "integration")
	}
	return s.toIntegration(ctx, d)
}

// Integrations implements order.IntegrationStore.
func (s *Integrations) Integrations(ctx context.Context, ws string) ([]order.Integration, error) {
	cur, err := s.col.Find(ctx, bson.M{"ws": ws}, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}))
	if err != nil {
		return nil, mongox.Translate(err, "list integrations", "integration")
	}
	var docs []integrationDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "list integrations", "integration")
	}
	out := make([]order.Integration, len(docs))
	for i, d := range docs {
		var err error
		if out[i], err = s.toIntegration(ctx, d); err != nil {
			return nil, fmt.Errorf("list integrations: %w", err)
		}
	}
	return out, nil
}

// DeleteIntegration implements order.IntegrationStore.
func (s *Integrations) DeleteIntegration(ctx context.Context, ws, id string) error {
	res, err := s.col.DeleteOne(ctx, bson.M{"_id": id, "ws": ws})
	if err != nil {
		return mongox.Translate(err, "delete integration", "integration")
	}
	if res.DeletedCount == 0 {
		return apperr.NotFound("integration")
	}
	return nil
}

// DeliverySeen implements order.IntegrationStore.
func (s *Integrations) DeliverySeen(ctx context.Context, integrationID, webhookID string) (bool, error) {
	n, err := s.deliveries.CountDocuments(ctx, bson.M{"_id": integrationID + "|" + webhookID}, options.Count().SetLimit(1))
	return n > 0, mongox.Translate(err, "delivery seen", "delivery")
}

// RecordDelivery implements order.IntegrationStore; recording twice is fine.
func (s *Integrations) RecordDelivery(ctx context.Context, integrationID, webhookID, topic string) error {
	_, err := s.deliveries.InsertOne(ctx, bson.M{"_id": integrationID + "|" + webhookID, "topic": topic, "at": time.Now().UTC()})
	if mongox.IsDuplicate(err) {
		return nil
	}
	return mongox.Translate(err, "record delivery", "delivery")
}
