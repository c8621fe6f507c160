// Package reportingdb is the Mongo store of reporting: the timeline,
// report_records, report_settings and business_hours collections.
package reportingdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/communityinbox/inbox/metrics"
	"github.com/communityinbox/inbox/reporting"
	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Store implements reporting.Storer on Mongo.
type Store struct {
	timeline, records, settings, hours *mongo.Collection
}

// New returns the store on db, creating its indexes.
func New(ctx context.Context, db *mongo.Database) (*Store, error) {
	s := &Store{timeline: db.Collection("timeline"), records: db.Collection("report_records"),
		settings: db.Collection("report_settings"), hours: db.Collection("business_hours")}
	if err := mongox.EnsureIndexes(ctx, s.timeline, mongo.IndexModel{
		Keys: bson.D{{Key: "workspace_id", Value: 1}, {Key: "conversation_id", Value: 1}, {Key: "at", Value: 1}}}); err != nil {
		return nil, err
	}
	if err := mongox.EnsureIndexes(ctx, s.records,
		mongo.IndexModel{Keys: bson.D{{Key: "workspace_id", Value: 1}, {Key: "end", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "workspace_id", Value: 1}, {Key: "conversation_id", Value: 1}}}); err != nil {
		return nil, err
	}
	return s, nil
}

type entryDoc struct {
	ID             string    `bson:"_id"`
	WorkspaceID    string    `bson:"workspace_id"`
	ConversationID string    `bson:"conversation_id"`
	ChannelID      string    `bson:"channel_id,omitempty"`
	Kind           string    `bson:"kind"`
	At             time.Time `bson:"at"`
	AgentID        string    `bson:"agent_id,omitempty"`
	Status         string    `bson:"status,omitempty"`
}

// PutEntry inserts e once; a redelivered entry is left as first stored.
func (s *Store) PutEntry(ctx context.Context, e reporting.Entry) error {
	doc := entryDoc{ID: e.WorkspaceID + "|" + e.ID, WorkspaceID: e.WorkspaceID, ConversationID: e.ConversationID,
		ChannelID: e.ChannelID, Kind: string(e.Kind), At: e.At.UTC(), AgentID: e.AgentID, Status: string(e.Status)}
	_, err := s.timeline.UpdateOne(ctx, bson.D{{Key: "_id", Value: doc.ID}},
		bson.D{{Key: "$setOnInsert", Value: doc}}, options.UpdateOne().SetUpsert(true))
	if mongox.IsDuplicate(err) {
		return nil // a concurrent upsert of the same entry won
	}
	return mongox.Translate(err, "put timeline entry", "timeline entry")
}

// Timeline returns a conversation's entries in time order.
func (s *Store) Timeline(ctx context.Context, ws, conversationID string) ([]reporting.Entry, error) {
	cur, err := s.timeline.Find(ctx, bson.D{{Key: "workspace_id", Value: ws}, {Key: "conversation_id", Value: conversationID}},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, mongox.Translate(err, "find timeline", "timeline")
	}
	var docs []entryDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "read timeline", "timeline")
	}
	out := make([]reporting.Entry, len(docs))
	for i, d := range docs {
		out[i] = reporting.Entry{ID: d.ID, WorkspaceID: d.WorkspaceID, ConversationID: d.ConversationID, ChannelID: d.ChannelID,
			Kind: metrics.EventKind(d.Kind), At: d.At, AgentID: d.AgentID, Status: metrics.Status(d.Status)}
	}
	return out, nil
}

type recordDoc struct {
	ID             string    `bson:"_id"`
	WorkspaceID    string    `bson:"workspace_id"`
	ConversationID string    `bson:"conversation_id"`
	Kind           string    `bson:"kind"`
	Channel        string    `bson:"channel,omitempty"`
	AgentID        string    `bson:"agent_id,omitempty"`
	Segment        int       `bson:"segment"`
	Start          time.Time `bson:"start"`
	End            time.Time `bson:"end"`
	DurationMS     int64     `bson:"duration_ms"`
	ElapsedMS      int64     `bson:"elapsed_ms"`
	Answered       bool      `bson:"answered"`
	Day            string    `bson:"day"`
	TargetMS       int64     `bson:"target_ms"`
	Met            bool      `bson:"met"`
}

// recordID is a record's natural key: one first response and one resolution
// per segment, one reply per customer burst (identified by its start).
func recordID(ws string, r metrics.Record) string {
	return ws + "|" + r.ConversationID + "|" + string(r.Kind) + "|" + strconv.Itoa(r.Segment) + "|" +
		strconv.FormatInt(r.Start.UnixNano(), 10)
}

func toRecordDoc(ws string, r metrics.Record) recordDoc {
	return recordDoc{ID: recordID(ws, r), WorkspaceID: ws, ConversationID: r.ConversationID, Kind: string(r.Kind),
		Channel: r.Channel, AgentID: r.AgentID, Segment: r.Segment, Start: r.Start.UTC(), End: r.End.UTC(),
		DurationMS: r.Duration.Milliseconds(), ElapsedMS: r.Elapsed.Milliseconds(), Answered: r.Answered, Day: r.Day,
		TargetMS: r.Target.Milliseconds(), Met: r.Met}
}

func toRecord(d recordDoc) metrics.Record {
	return metrics.Record{Kind: metrics.RecordKind(d.Kind), ConversationID: d.ConversationID, Channel: d.Channel,
		AgentID: d.AgentID, Segment: d.Segment, Start: d.Start, End: d.End,
		Duration: time.Duration(d.DurationMS) * time.Millisecond, Elapsed: time.Duration(d.ElapsedMS) * time.Millisecond,
		Answered: d.Answered, Day: d.Day, Target: time.Duration(d.TargetMS) * time.Millisecond, Met: d.Met}
}

// ReplaceRecords upserts records by natural key, then deletes the
// conversation's records that are no longer computed (a late message can
// change which burst a reply answered). Each write is single-document, so a
// concurrent reader sees at worst a mix of the old and the new set for a moment.
func (s *Store) ReplaceRecords(ctx context.Context, ws, conversationID string, records []metrics.Record) error {
	keep := make([]string, 0, len(records))
	for _, r := range records {
		d := toRecordDoc(ws, r)
		keep = append(keep, d.ID)
		_, err := s.records.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d, options.Replace().SetUpsert(true))
		if err != nil && !mongox.IsDuplicate(err) {
			return mongox.Translate(err, "put report record", "report record")
		}
	}
	_, err := s.records.DeleteMany(ctx, bson.D{{Key: "workspace_id", Value: ws}, {Key: "conversation_id", Value: conversationID},
		{Key: "_id", Value: bson.D{{Key: "$nin", Value: keep}}}})
	return mongox.Translate(err, "delete stale report records", "report records")
}

// Records returns the records of ws whose interval ends in [from, to).
func (s *Store) Records(ctx context.Context, ws string, from, to time.Time) ([]metrics.Record, error) {
	cur, err := s.records.Find(ctx, bson.D{{Key: "workspace_id", Value: ws},
		{Key: "end", Value: bson.D{{Key: "$gte", Value: from.UTC()}, {Key: "$lt", Value: to.UTC()}}}})
	if err != nil {
		return nil, mongox.Translate(err, "find report records", "report records")
	}
	var docs []recordDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "read report records", "report records")
	}
	out := make([]metrics.Record, len(docs))
	for i, d := range docs {
		out[i] = toRecord(d)
	}
	return out, nil
}

type settingsDoc struct {
	ID                    string `bson:"_id"` // workspace id
	FirstResponseTargetMS int64  `bson:"first_response_target_ms"`
	ReplyTargetMS         int64  `bson:"reply_target_ms"`
	ResolutionTargetMS    int64  `bson:"resolution_target_ms"`
}

// Settings returns the workspace's targets; zero when none are stored.
func (s *Store) Settings(ctx context.Context, ws string) (reporting.Settings, error) {
	var d settingsDoc
	err := s.settings.FindOne(ctx, bson.D{{Key: "_id", Value: ws}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return reporting.Settings{}, nil
	}
	if err != nil {
		return reporting.Settings{}, mongox.Translate(err, "get report settings", "report settings")
	}
	return reporting.Settings{FirstResponseTarget: time.Duration(d.FirstResponseTargetMS) * time.Millisecond,
		ReplyTarget:      time.Duration(d.ReplyTargetMS) * time.Millisecond,
		ResolutionTarget: time.Duration(d.ResolutionTargetMS) * time.Millisecond}, nil
}

// PutSettings replaces the workspace's targets.
func (s *Store) PutSettings(ctx context.Context, ws string, set reporting.Settings) error {
	d := settingsDoc{ID: ws, FirstResponseTargetMS: set.FirstResponseTarget.Milliseconds(),
		ReplyTargetMS: set.ReplyTarget.Milliseconds(), ResolutionTargetMS: set.ResolutionTarget.Milliseconds()}
	_, err := s.settings.ReplaceOne(ctx, bson.D{{Key: "_id", Value: ws}}, d, options.Replace().SetUpsert(true))
	return mongox.Translate(err, "put report settings", "report settings")
}

// hoursDoc keeps spans as a flat list of subdocuments: FerretDB does not
// store nested arrays.
type hoursDoc struct {
	ID          string    `bson:"_id"` // workspace|channel
	WorkspaceID string    `bson:"workspace_id"`
	ChannelID   string    `bson:"channel_id"`
	Timezone    string    `bson:"timezone"`
	Spans       []spanDoc `bson:"spans"`
}

type spanDoc struct {
	Day  string `bson:"day"`
	From string `bson:"from"`
	To   string `bson:"to"`
}

func hoursID(ws, channelID string) string { return ws + "|" + channelID }

// Hours returns a channel's business hours; not found when none are stored.
func (s *Store) Hours(ctx context.Context, ws, channelID string) (reporting.Hours, error) {
	var d hoursDoc
	err := s.hours.FindOne(ctx, bson.D{{Key: "_id", Value: hoursID(ws, channelID)}}).Decode(&d)
	if err != nil {
		return reporting.Hours{}, mongox.Translate(err, "get business hours", "business hours")
	}
	h := reporting.Hours{ChannelID: d.ChannelID, Timezone: d.Timezone, Week: map[string][][2]string{}}
	for _, sp := range d.Spans {
		h.Week[sp.Day] = append(h.Week[sp.Day], [2]string{sp.From, sp.To})
	}
	return h, nil
}

// PutHours replaces a channel's business hours.
func (s *Store) PutHours(ctx context.Context, ws string, h reporting.Hours) error {
	d := hoursDoc{ID: hoursID(ws, h.ChannelID), WorkspaceID: ws, ChannelID: h.ChannelID, Timezone: h.Timezone, Spans: []spanDoc{}}
	days := slices.Sorted(maps.Keys(h.Week))
	for _, day := range days {
		for _, sp := range h.Week[day] {
			d.Spans = append(d.Spans, spanDoc{Day: day, From: sp[0], To: sp[1]})
		}
	}
	_, err := s.hours.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("put business hours: %w", mongox.Translate(err, "replace", "business hours"))
	}
	return nil
}
