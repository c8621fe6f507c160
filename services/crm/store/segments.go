package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/communityinbox/crm/contact"
	"github.com/communityinbox/crm/order"
	"github.com/communityinbox/crm/segment"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/mongox"
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

// Integrations implements order.IntegrationStore.
type Integrations struct{ col, deliveries *mongo.Collection }

// NewIntegrations returns the integration store on db.
func NewIntegrations(db *mongo.Database) *Integrations {
	return &Integrations{col: db.Collection(colIntegrations), deliveries: db.Collection(colDeliveries)}
}

type integrationDoc struct {
	ID         string    `bson:"_id"`
	WS         string    `bson:"ws"`
	ShopDomain string    `bson:"shop_domain"`
	Secret     string    `bson:"secret"`
	CreatedAt  time.Time `bson:"created_at"`
}

// CreateIntegration implements order.IntegrationStore.
func (s *Integrations) CreateIntegration(ctx context.Context, in order.Integration) error {
	_, err := s.col.InsertOne(ctx, integrationDoc{ID: in.ID, WS: in.WorkspaceID, ShopDomain: in.ShopDomain, Secret: in.Secret, CreatedAt: in.CreatedAt})
	return mongox.Translate(err, "create integration", "integration")
}

func toIntegration(d integrationDoc) order.Integration {
	return order.Integration{ID: d.ID, WorkspaceID: d.WS, ShopDomain: d.ShopDomain, Secret: d.Secret, CreatedAt: d.CreatedAt.UTC()}
}

// Integration implements order.IntegrationStore.
func (s *Integrations) Integration(ctx context.Context, id string) (order.Integration, error) {
	var d integrationDoc
	if err := s.col.FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		return order.Integration{}, mongox.Translate(err, "get integration", "integration")
	}
	return toIntegration(d), nil
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
		out[i] = toIntegration(d)
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
