// Package conversationdb stores conversations, messages and identities in
// MongoDB (or FerretDB) and applies ingest changes to them with single-document
// atomic updates, so that retried and reordered platform events converge on one
// state without transactions.
//
// A batch first reads the documents it touches. Documents that do not exist
// yet are built in memory and inserted whole, in one command. Changes to
// existing documents are guarded updates: "has this event been applied?" is a
// condition in the update filter, and the same update records the event with
// the writer's token, so reading the documents back tells which updates this
// writer made. Updates never fail on purpose: FerretDB stops a bulk write at
// its first error whatever "ordered" says, so errors cannot carry meaning.
// Applying an already-seen event is skipped without a write.
//
// FerretDB 1.x applies an update as an unguarded read-modify-write of the
// whole document, so guards are not atomic there and concurrent writers lose
// updates; it also scans the collection for any filter but {_id}. On it, run
// one writer at a time and set Options.SingleWriter: the store then applies
// changes in memory to what it read and writes one {_id} update per document.
// The in-memory rules (merge.go) and the update operators must agree; the
// tests apply the same events both ways.
package conversationdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// PruneAfter is how long a conversation remembers which writer counted a
// message. It must exceed the longest time between a batch storing a message
// and a redelivery of that batch counting it again (the queue lease, plus any
// time all workers are down), or a redelivery that late could count twice.
const PruneAfter = time.Hour

// DefaultMaxUpdatesPerCommand bounds the updates sent in one command. FerretDB
// 1.x keeps a pooled backend connection per matched update until the command
// ends, so a command of ~100 updates (50 on PostgreSQL) exhausts its pool and
// hangs; 16 leaves room for a few concurrent workers. Real MongoDB takes far more.
const DefaultMaxUpdatesPerCommand = 16

// Options tune a Store.
type Options struct {
	// MaxUpdatesPerCommand bounds the updates of one bulk write; 0 means DefaultMaxUpdatesPerCommand.
	MaxUpdatesPerCommand int
	// SingleWriter promises that no other writer applies changes, counts or
	// sightings concurrently (the caller serializes batches). The store then
	// checks guards against what it read at the start of the batch and writes
	// one update per document, filtered by _id alone. That is what FerretDB
	// needs: its updates are not atomic anyway, and it looks documents up by
	// key only when the filter is {_id}; a guarded filter scans the collection.
	SingleWriter bool
}

// Store is the MongoDB store of the inbox model.
type Store struct {
	conversations *mongo.Collection
	messages      *mongo.Collection
	identities    *mongo.Collection
	maxUpdates    int
	single        bool
	now           func() time.Time

	mu      sync.Mutex
	settled map[string]time.Time // tokens of batches that can never run again, with when they settled
}

// New returns a store on db, creating its indexes.
func New(ctx context.Context, db *mongo.Database, o Options) (*Store, error) {
	if o.MaxUpdatesPerCommand <= 0 {
		o.MaxUpdatesPerCommand = DefaultMaxUpdatesPerCommand
	}
	s := &Store{
		conversations: db.Collection(conversationsColl),
		messages:      db.Collection(messagesColl),
		identities:    db.Collection(identitiesColl),
		maxUpdates:    o.MaxUpdatesPerCommand,
		single:        o.SingleWriter,
		now:           func() time.Time { return time.Now().UTC() },
	}
	idx := []struct {
		c    *mongo.Collection
		keys bson.D
	}{
		// Messages of a conversation in time order; also the waiting_since repair.
		{s.messages, bson.D{{Key: "conversation_id", Value: 1}, {Key: "platform_time", Value: 1}}},
		// The inbox list: a workspace's conversations by status, newest first.
		{s.conversations, bson.D{{Key: "workspace_id", Value: 1}, {Key: "status", Value: 1}, {Key: "last_message_at", Value: -1}}},
		{s.conversations, bson.D{{Key: "workspace_id", Value: 1}, {Key: "channel_id", Value: 1}}},
		{s.identities, bson.D{{Key: "workspace_id", Value: 1}, {Key: "platform", Value: 1}, {Key: "user_id", Value: 1}}},
	}
	for _, i := range idx {
		if _, err := i.c.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: i.keys}); err != nil {
			return nil, fmt.Errorf("conversationdb: index %v: %w", i.keys, err)
		}
	}
	return s, nil
}

// Settle says that the batch that wrote with token is acknowledged and will
// never be redelivered: its counting records are no longer needed, and the
// next count into each conversation drops them instead of keeping them for
// PruneAfter. That keeps a busy conversation's records to the batches still
// in flight. Settling is per process; records of batches another process
// wrote, or this one before a restart, fall back to PruneAfter.
func (s *Store) Settle(token string) {
	if token == "" {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settled == nil {
		s.settled = map[string]time.Time{}
	}
	s.settled[token] = now
	if len(s.settled)%1024 == 0 {
		for t, at := range s.settled {
			if now.Sub(at) > PruneAfter {
				delete(s.settled, t)
			}
		}
	}
}

// stale says whether a counting record may go: its batch settled, or it is
// older than PruneAfter.
func (s *Store) stale(e dbCounted, now time.Time) bool {
	if now.Sub(e.At) > PruneAfter {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.settled[e.By]
	return ok
}

// SetClock replaces the store's clock, for tests.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// singleConcurrency is how many one-update commands a single writer keeps in
// flight. FerretDB runs the statements of one command one after another and a
// command of n updates costs several times n single ones, while independent
// commands run in parallel on its backend.
const singleConcurrency = 8

// bulk runs update models in order, in commands of at most maxUpdates. A
// single writer's models touch one document each, so there they go as
// concurrent one-update commands instead.
func (s *Store) bulk(ctx context.Context, c *mongo.Collection, models []mongo.WriteModel) error {
	if s.single && len(models) > 1 {
		return eachConcurrently(ctx, models, func(ctx context.Context, m mongo.WriteModel) error {
			if _, err := c.BulkWrite(ctx, []mongo.WriteModel{m}); err != nil {
				return fmt.Errorf("%s update: %w", c.Name(), err)
			}
			return nil
		})
	}
	for len(models) > 0 {
		n := min(len(models), s.maxUpdates)
		if _, err := c.BulkWrite(ctx, models[:n], options.BulkWrite().SetOrdered(true)); err != nil {
			return fmt.Errorf("%s bulk write: %w", c.Name(), err)
		}
		models = models[n:]
	}
	return nil
}

// insertChunk is how many documents one insert command of insertNew carries.
const insertChunk = 1000

// insertStreams is how many insert commands of insertNew may be in flight:
// two let the server insert on two cores (a warm drain stored 8-30 % more
// per second than with one; three did no better than two).
const insertStreams = 2

// insertNew inserts docs (unordered) and returns the indexes of those that
// already existed: a concurrent writer created them since we looked. Large
// batches go a chunk per command, encoded while the server stores the
// chunks before, with up to insertStreams commands in flight. Chunks never
// collide: a batch inserts each document once.
func insertNew[T any](ctx context.Context, c *mongo.Collection, docs []T) (map[int]bool, error) {
	dup := map[int]bool{}
	if len(docs) == 0 {
		return dup, nil
	}
	if len(docs) <= insertChunk {
		return dup, insertDocs(ctx, c, 0, docs, dup)
	}
	type result struct {
		dup map[int]bool
		err error
	}
	var inflight []chan result
	// wait collects the oldest command in flight.
	wait := func() error {
		r := <-inflight[0]
		inflight = inflight[1:]
		for i := range r.dup {
			dup[i] = true
		}
		return r.err
	}
	waitAll := func() error {
		var err error
		for len(inflight) > 0 {
			err = errors.Join(err, wait())
		}
		return err
	}
	for off := 0; off < len(docs); off += insertChunk {
		chunk := docs[off:min(off+insertChunk, len(docs))]
		raw := make([]bson.Raw, len(chunk))
		for i, d := range chunk {
			b, err := bson.Marshal(d)
			if err != nil {
				return nil, errors.Join(fmt.Errorf("%s insert: %w", c.Name(), err), waitAll())
			}
			raw[i] = b
		}
		if len(inflight) >= insertStreams {
			if err := wait(); err != nil {
				return nil, errors.Join(err, waitAll())
			}
		}
		done := make(chan result, 1)
		inflight = append(inflight, done)
		go func(off int) {
			r := result{dup: map[int]bool{}}
			r.err = insertDocs(ctx, c, off, raw, r.dup)
			done <- r
		}(off)
	}
	if err := waitAll(); err != nil {
		return nil, err
	}
	return dup, nil
}

// insertDocs inserts docs (unordered) and marks in dup, by index plus off,
// those that already existed.
func insertDocs[T any](ctx context.Context, c *mongo.Collection, off int, docs []T, dup map[int]bool) error {
	_, err := c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return fmt.Errorf("%s insert: %w", c.Name(), err)
	}
	for _, we := range bwe.WriteErrors {
		if !we.HasErrorCode(11000) {
			return fmt.Errorf("%s insert: %w", c.Name(), err)
		}
		dup[off+we.Index] = true
	}
	return nil
}

// shortHash names a value in a document path: hex, prefixed so it is never
// read as an array index.
func shortHash(prefix, v string) string {
	s := sha256.Sum256([]byte(v))
	return prefix + hex.EncodeToString(s[:12])
}

func seenField(key string) string         { return shortHash("k", key) }
func reactionField(user string) string    { return shortHash("u", user) }
func inflightKey(messageID string) string { return "m" + messageID }
func messageOfInflightKey(k string) string {
	if len(k) > 0 && k[0] == 'm' {
		return k[1:]
	}
	return k
}

func notGTE(v any) bson.D { return bson.D{{Key: "$not", Value: bson.D{{Key: "$gte", Value: v}}}} }
func notGT(v any) bson.D  { return bson.D{{Key: "$not", Value: bson.D{{Key: "$gt", Value: v}}}} }

func update(filter, upd bson.D) mongo.WriteModel {
	return mongo.NewUpdateOneModel().SetFilter(filter).SetUpdate(upd)
}

// errUnrecorded means a change was written without error but its mark is missing on read-back.
var errUnrecorded = errors.New("conversationdb: change not recorded")

func idFilter(ids []string) bson.D {
	return bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
}

// keyLookupMax is the most documents a single writer reads one key per
// command; more are read with one $in.
const keyLookupMax = 64

// loadByID reads the documents of c with the given ids into a map by id. On
// MongoDB one $in does it with the _id index. FerretDB 1.x answers $in by
// converting every document of the collection and filtering them itself,
// which grows with the collection, while an {_id} equality is filtered by
// its backend; so a single writer (the FerretDB mode) reads a few ids with
// concurrent equalities.
func loadByID[T any](ctx context.Context, s *Store, c *mongo.Collection, ids []string, id func(T) string, opts ...options.Lister[options.FindOptions]) (map[string]T, error) {
	out := make(map[string]T, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if !s.single || len(ids) > keyLookupMax {
		// All of them in the first reply: a server's default first batch
		// (101 documents) would cost a getMore round trip per hundred ids.
		all := append([]options.Lister[options.FindOptions]{options.Find().SetBatchSize(int32(min(len(ids), 1<<20)))}, opts...)
		cur, err := c.Find(ctx, idFilter(ids), all...)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", c.Name(), err)
		}
		var docs []T
		if err := cur.All(ctx, &docs); err != nil {
			return nil, fmt.Errorf("load %s: %w", c.Name(), err)
		}
		for _, d := range docs {
			out[id(d)] = d
		}
		return out, nil
	}
	var mu sync.Mutex
	err := eachConcurrently(ctx, ids, func(ctx context.Context, key string) error {
		cur, err := c.Find(ctx, bson.D{{Key: "_id", Value: key}}, opts...)
		if err != nil {
			return fmt.Errorf("load %s: %w", c.Name(), err)
		}
		var docs []T
		if err := cur.All(ctx, &docs); err != nil {
			return fmt.Errorf("load %s: %w", c.Name(), err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, d := range docs {
			out[id(d)] = d
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachConcurrently calls f for every item with at most singleConcurrency
// calls in flight and returns the first error.
func eachConcurrently[T any](ctx context.Context, items []T, f func(context.Context, T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, singleConcurrency)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(ctx, it); err != nil {
				select {
				case errs <- err:
				default:
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return ctx.Err()
	}
}

// Message returns one message of a workspace.
func (s *Store) Message(ctx context.Context, workspaceID, id string) (conversation.Message, error) {
	var d dbMessage
	err := s.messages.FindOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "workspace_id", Value: workspaceID}}).Decode(&d)
	if err != nil {
		return conversation.Message{}, mongox.Translate(err, "message", "message")
	}
	return toBusMessage(d).Message, nil
}

// Conversation returns one conversation of a workspace.
func (s *Store) Conversation(ctx context.Context, workspaceID, id string) (conversation.Conversation, error) {
	var d dbConversation
	err := s.conversations.FindOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "workspace_id", Value: workspaceID}}).Decode(&d)
	if err != nil {
		return conversation.Conversation{}, mongox.Translate(err, "conversation", "conversation")
	}
	return toBusConversation(d).Conversation, nil
}

// ConversationMessages returns the messages of a conversation in platform time
// order, placeholders left out.
func (s *Store) ConversationMessages(ctx context.Context, workspaceID, conversationID string) ([]conversation.Message, error) {
	cur, err := s.messages.Find(ctx, bson.D{{Key: "conversation_id", Value: conversationID},
		{Key: "workspace_id", Value: workspaceID}, {Key: "placeholder", Value: false}},
		options.Find().SetSort(bson.D{{Key: "platform_time", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("conversation messages: %w", err)
	}
	var docs []dbMessage
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("conversation messages: %w", err)
	}
	out := make([]conversation.Message, len(docs))
	for i, d := range docs {
		out[i] = toBusMessage(d).Message
	}
	return out, nil
}

// ChannelConversations returns the conversations of a channel, newest first.
func (s *Store) ChannelConversations(ctx context.Context, workspaceID, channelID string) ([]conversation.Conversation, error) {
	cur, err := s.conversations.Find(ctx, bson.D{{Key: "workspace_id", Value: workspaceID}, {Key: "channel_id", Value: channelID}},
		options.Find().SetSort(bson.D{{Key: "last_message_at", Value: -1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("channel conversations: %w", err)
	}
	var docs []dbConversation
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("channel conversations: %w", err)
	}
	out := make([]conversation.Conversation, len(docs))
	for i, d := range docs {
		out[i] = toBusConversation(d).Conversation
	}
	return out, nil
}

// Identity returns one identity record.
func (s *Store) Identity(ctx context.Context, id string) (conversation.IdentityRecord, error) {
	var d dbIdentityRecord
	if err := s.identities.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return conversation.IdentityRecord{}, mongox.Translate(err, "identity", "identity")
	}
	return toBusIdentityRecord(d, "").IdentityRecord, nil
}
