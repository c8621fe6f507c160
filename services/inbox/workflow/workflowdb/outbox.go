package workflowdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/communityinbox/inbox/connector"
	"github.com/communityinbox/inbox/workflow"
	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// dbJob is one outbox entry, keyed by the message it sends. NextAttemptAt is
// both the schedule and the lease: a claim pushes it past the lease, so a
// worker that dies mid-send hands the job to the next claim.
type dbJob struct {
	ID             string    `bson:"_id"`
	WorkspaceID    string    `bson:"workspace_id"`
	ConversationID string    `bson:"conversation_id"`
	ChannelID      string    `bson:"channel_id"`
	Platform       string    `bson:"platform"`
	Kind           string    `bson:"kind"`
	Recipient      string    `bson:"recipient,omitempty"`
	ReplyTo        string    `bson:"reply_to,omitempty"`
	Text           string    `bson:"text"`
	Tag            string    `bson:"tag,omitempty"`
	Attempts       int       `bson:"attempts"`
	NextAttemptAt  time.Time `bson:"next_attempt_at"`
	LastError      string    `bson:"last_error,omitempty"`
}

// Enqueue schedules the send of a message at at; enqueuing twice is a no-op.
func (s *Store) Enqueue(ctx context.Context, job workflow.OutboxJob, at time.Time) error {
	_, err := s.outbox.UpdateOne(ctx, bson.D{{Key: "_id", Value: job.MessageID}},
		bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "workspace_id", Value: job.WorkspaceID},
			{Key: "conversation_id", Value: job.ConversationID}, {Key: "channel_id", Value: job.ChannelID},
			{Key: "platform", Value: string(job.Platform)}, {Key: "kind", Value: string(job.Kind)},
			{Key: "recipient", Value: job.Recipient}, {Key: "reply_to", Value: job.ReplyTo},
			{Key: "text", Value: job.Text}, {Key: "tag", Value: job.Tag},
			{Key: "attempts", Value: 0}, {Key: "next_attempt_at", Value: at}}}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	return nil
}

// ClaimJob leases the most overdue job, if any.
func (s *Store) ClaimJob(ctx context.Context, now time.Time, lease time.Duration) (workflow.OutboxJob, bool, error) {
	var d dbJob
	err := s.outbox.FindOneAndUpdate(ctx, bson.D{{Key: "next_attempt_at", Value: bson.D{{Key: "$lte", Value: now}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "next_attempt_at", Value: now.Add(lease)}}},
			{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}}},
		options.FindOneAndUpdate().SetSort(bson.D{{Key: "next_attempt_at", Value: 1}}).SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return workflow.OutboxJob{}, false, nil
	}
	if err != nil {
		return workflow.OutboxJob{}, false, fmt.Errorf("claim job: %w", err)
	}
	return workflow.OutboxJob{MessageID: d.ID, WorkspaceID: d.WorkspaceID, ConversationID: d.ConversationID,
		ChannelID: d.ChannelID, Platform: connector.Platform(d.Platform), Kind: connector.Kind(d.Kind),
		Recipient: d.Recipient, ReplyTo: d.ReplyTo, Text: d.Text, Tag: d.Tag, Attempts: d.Attempts}, true, nil
}

// FinishJob removes a job whose message reached a final state.
func (s *Store) FinishJob(ctx context.Context, messageID string) error {
	if _, err := s.outbox.DeleteOne(ctx, bson.D{{Key: "_id", Value: messageID}}); err != nil {
		return fmt.Errorf("finish job: %w", err)
	}
	return nil
}

// RetryJob reschedules a job.
func (s *Store) RetryJob(ctx context.Context, messageID string, at time.Time, lastError string) error {
	_, err := s.outbox.UpdateOne(ctx, bson.D{{Key: "_id", Value: messageID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "next_attempt_at", Value: at}, {Key: "last_error", Value: lastError}}}})
	if err != nil {
		return fmt.Errorf("retry job: %w", err)
	}
	return nil
}

// Ledger is connector.Ledger on the send_ledger collection.
type Ledger struct{ coll *mongo.Collection }

var _ connector.Ledger = (*Ledger)(nil)

type dbAttempt struct {
	ID         string    `bson:"_id"`
	State      string    `bson:"state"`
	ExternalID string    `bson:"external_id,omitempty"`
	Tries      int       `bson:"tries"`
	LastError  string    `bson:"last_error,omitempty"`
	UpdatedAt  time.Time `bson:"updated_at"`
}

func (d dbAttempt) attempt() connector.Attempt {
	return connector.Attempt{Key: d.ID, State: connector.AttemptState(d.State), ExternalID: d.ExternalID,
		Tries: d.Tries, LastError: d.LastError, UpdatedAt: d.UpdatedAt.UTC()}
}

// Claim implements connector.Ledger: an upsert matching only a failed
// attempt, so a key in any other state collides on _id and is read instead.
func (l *Ledger) Claim(ctx context.Context, key string, now time.Time) (connector.Attempt, bool, error) {
	var d dbAttempt
	err := l.coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: key}, {Key: "state", Value: string(connector.StateFailed)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: string(connector.StatePending)}, {Key: "updated_at", Value: now}}},
			{Key: "$setOnInsert", Value: bson.D{{Key: "tries", Value: 0}}}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&d)
	if err == nil {
		return d.attempt(), true, nil
	}
	if !mongox.IsDuplicate(err) {
		return connector.Attempt{}, false, fmt.Errorf("ledger claim: %w", err)
	}
	if err := l.coll.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&d); err != nil {
		return connector.Attempt{}, false, fmt.Errorf("ledger read: %w", err)
	}
	return d.attempt(), false, nil
}

// Finish implements connector.Ledger.
func (l *Ledger) Finish(ctx context.Context, a connector.Attempt) error {
	_, err := l.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: a.Key}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "state", Value: string(a.State)}, {Key: "external_id", Value: a.ExternalID}, {Key: "tries", Value: a.Tries},
		{Key: "last_error", Value: a.LastError}, {Key: "updated_at", Value: a.UpdatedAt}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("ledger finish: %w", err)
	}
	return nil
}
