package conversationdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func optsProjection(fields ...string) *options.FindOptionsBuilder {
	p := bson.D{}
	for _, f := range fields {
		p = append(p, bson.E{Key: f, Value: 1})
	}
	return options.Find().SetProjection(p)
}

// AddToConversations opens the conversations of counts if needed and adds each
// counted message to its conversation's counters exactly once: the update that
// counts a message also records it (with token) in the conversation, and is
// guarded by that record's absence. The records are pruned after PruneAfter;
// by then the messages must be marked counted (ApplyChanges marks the ones it
// creates visible, MarkCounted the others).
//
// Round trips: one read; one insert for new conversations; for existing ones
// the guarded updates (in commands of at most MaxUpdatesPerCommand) and one
// read back, or with SingleWriter one update per conversation; plus a rare
// repair of waiting_since when an answer arrived late.
func (s *Store) AddToConversations(ctx context.Context, token string, counts []conversation.Count) (conversation.Counted, error) {
	return s.AddToConversationsWith(ctx, token, counts, nil)
}

// AddToConversationsWith is AddToConversations that hands the outcome to
// decided as soon as it is known: with SingleWriter before the updates of
// existing conversations are written (a single writer decides them in
// memory), otherwise after. The caller may do meanwhile what does not need
// those writes done; the result returned is the same.
func (s *Store) AddToConversationsWith(ctx context.Context, token string, counts []conversation.Count,
	decided func(conversation.Counted)) (conversation.Counted, error) {
	res := conversation.Counted{Outcomes: make([]conversation.Outcome, len(counts)), Conversations: map[string]conversation.CountState{}}
	if len(counts) == 0 {
		if decided != nil {
			decided(res)
		}
		return res, nil
	}
	now := s.now()
	var ids []string
	idSet := map[string]bool{}
	for _, c := range counts {
		if !idSet[c.Thread.ID] {
			idSet[c.Thread.ID] = true
			ids = append(ids, c.Thread.ID)
		}
	}
	docs, err := s.loadConversations(ctx, ids)
	if err != nil {
		return res, err
	}

	fresh := map[string]*dbConversation{}
	freshIx := map[string]countIndex{}
	var freshOrder []string
	for _, c := range counts {
		if _, ok := docs[c.Thread.ID]; ok {
			continue
		}
		d := fresh[c.Thread.ID]
		if d == nil {
			nd := newConversationDoc(c.Thread, now)
			d = &nd
			fresh[c.Thread.ID] = d
			freshIx[c.Thread.ID] = indexCounts(d)
			freshOrder = append(freshOrder, c.Thread.ID)
		}
		addCount(d, freshIx[c.Thread.ID], s.single, token, c, now)
	}
	toInsert := make([]dbConversation, len(freshOrder))
	for i, id := range freshOrder {
		d := fresh[id]
		settleWaiting(d, counts)
		toInsert[i] = *d
	}
	dups, err := insertNew(ctx, s.conversations, toInsert)
	if err != nil {
		return res, fmt.Errorf("count messages: %w", err)
	}
	inserted := map[string]bool{}
	for i, d := range toInsert {
		if !dups[i] {
			docs[d.ID] = d
			inserted[d.ID] = true
		}
	}

	var rest []conversation.Count
	for _, c := range counts {
		if !inserted[c.Thread.ID] {
			rest = append(rest, c)
		}
	}
	var pending []mongo.WriteModel // a single writer's updates, decided in memory
	if s.single {
		pending, err = s.countSingle(ctx, token, rest, docs, now)
	} else {
		err = s.countGuarded(ctx, token, rest, docs, now)
	}
	if err != nil {
		return res, err
	}
	ixs := map[string]countIndex{}
	for i, c := range counts {
		d, ok := docs[c.Thread.ID]
		if !ok {
			return res, fmt.Errorf("count messages: conversation %s: %w", c.Thread.ID, errUnrecorded)
		}
		ix, ok := ixs[d.ID]
		if !ok {
			res.Conversations[d.ID] = toBusConversation(d)
			ix = indexCounts(&d)
			ixs[d.ID] = ix
		}
		// A missing record means it was counted long ago and pruned.
		if by, ok := ix.countedBy(c.MessageID); ok && by == token {
			res.Outcomes[i] = conversation.Mine
		} else {
			res.Outcomes[i] = conversation.Earlier
		}
	}
	if decided != nil {
		decided(res)
	}
	if err := s.bulk(ctx, s.conversations, pending); err != nil {
		return res, fmt.Errorf("count messages: %w", err)
	}
	return res, nil
}

// countGuarded counts into existing conversations with guarded updates, then
// reads them back (into docs), repairs waiting_since and prunes old records.
func (s *Store) countGuarded(ctx context.Context, token string, counts []conversation.Count, docs map[string]dbConversation, now time.Time) error {
	if len(counts) == 0 {
		return nil
	}
	var models []mongo.WriteModel
	var touched []string
	detailed := map[string]bool{}
	indexes := map[string]countIndex{}
	ixs := func(id string, d *dbConversation) countIndex {
		if _, ok := indexes[id]; !ok {
			indexes[id] = indexCounts(d)
		}
		return indexes[id]
	}
	for _, c := range counts {
		id := c.Thread.ID
		existing, known := docs[id]
		if !detailed[id] {
			detailed[id] = true
			touched = append(touched, id)
			if known {
				models = append(models, threadModels(c.Thread, &existing)...)
			} else {
				// Created concurrently after our read: we know nothing about it.
				models = append(models, threadModels(c.Thread, nil)...)
			}
		}
		if known {
			// Counted already, in this writer's records or (written in the
			// other mode) in a Counting record.
			if _, counted := ixs(id, &existing).countedBy(c.MessageID); counted {
				continue
			}
		}
		models = append(models, countModels(token, c, now, existing, known)...)
	}
	if err := s.bulk(ctx, s.conversations, models); err != nil {
		return fmt.Errorf("count messages: %w", err)
	}
	back, err := s.loadConversations(ctx, touched)
	if err != nil {
		return err
	}
	for id, d := range back {
		docs[id] = d
	}
	if err := s.repairWaiting(ctx, docs, touched); err != nil {
		return err
	}
	return s.prune(ctx, docs, touched, now)
}

// countSingle counts into existing conversations in memory (docs holds them
// after) and returns the update writing each one's difference (see
// Options.SingleWriter).
func (s *Store) countSingle(ctx context.Context, token string, counts []conversation.Count, docs map[string]dbConversation,
	now time.Time) ([]mongo.WriteModel, error) {
	if len(counts) == 0 {
		return nil, nil
	}
	var order []string
	by := map[string][]conversation.Count{}
	for _, c := range counts {
		if by[c.Thread.ID] == nil {
			order = append(order, c.Thread.ID)
		}
		by[c.Thread.ID] = append(by[c.Thread.ID], c)
	}
	var missing []string
	for _, id := range order {
		if _, ok := docs[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		// Created by someone after all (the promise was broken): read them.
		back, err := s.loadConversations(ctx, missing)
		if err != nil {
			return nil, err
		}
		for id, d := range back {
			docs[id] = d
		}
	}
	var models []mongo.WriteModel
	for _, id := range order {
		before, ok := docs[id]
		if !ok {
			return nil, fmt.Errorf("count messages: conversation %s: %w", id, errUnrecorded)
		}
		after, err := cloneDoc(before)
		if err != nil {
			return nil, err
		}
		ix := indexCounts(&after)
		for i, c := range by[id] {
			if i == 0 {
				refreshThread(&after, c.Thread)
			}
			addCount(&after, ix, true, token, c, now)
		}
		if err := s.settleFromStore(ctx, &after); err != nil {
			return nil, err
		}
		for k, e := range after.Inflight {
			if s.stale(e, now) {
				delete(after.Inflight, k)
			}
		}
		for k, e := range after.Counting {
			if s.stale(dbCounted{By: strings.TrimPrefix(k, "t"), At: e.At}, now) {
				delete(after.Counting, k)
			}
		}
		m, err := diffUpdate(id, before, after)
		if err != nil {
			return nil, err
		}
		if m != nil {
			models = append(models, m)
		}
		docs[id] = after
	}
	return models, nil
}

// settleFromStore is repairWaiting for a conversation held in memory.
func (s *Store) settleFromStore(ctx context.Context, d *dbConversation) error {
	if d.LastIncomingAt.IsZero() || !d.LastIncomingAt.After(d.LastOutgoingAt) || !d.WaitingSince.IsZero() {
		return nil
	}
	first, err := s.firstUnanswered(ctx, d.ID, d.LastOutgoingAt)
	if err != nil || first.IsZero() {
		return err
	}
	d.WaitingSince = first
	return nil
}

// firstUnanswered is the platform time of the first visible incoming message
// of a conversation after an answer at answered, or zero.
func (s *Store) firstUnanswered(ctx context.Context, conversationID string, answered time.Time) (time.Time, error) {
	var first dbMessage
	err := s.messages.FindOne(ctx, bson.D{{Key: "conversation_id", Value: conversationID},
		{Key: "platform_time", Value: bson.D{{Key: "$gt", Value: answered}}},
		{Key: "direction", Value: string(conversation.DirectionIn)}, {Key: "placeholder", Value: false}},
		options.FindOne().SetSort(bson.D{{Key: "platform_time", Value: 1}})).Decode(&first)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("first unanswered message: %w", err)
	}
	return first.PlatformTime, nil
}

// settleWaiting fixes waiting_since of a conversation built from this batch
// alone: when an answer cleared it although the customer wrote again later,
// the wait starts at the first incoming message after the last answer.
func settleWaiting(d *dbConversation, counts []conversation.Count) {
	if d.LastIncomingAt.IsZero() || !d.LastIncomingAt.After(d.LastOutgoingAt) || !d.WaitingSince.IsZero() {
		return
	}
	for _, c := range counts {
		if c.Thread.ID == d.ID && c.Direction == conversation.DirectionIn && c.At.After(d.LastOutgoingAt) &&
			(d.WaitingSince.IsZero() || c.At.Before(d.WaitingSince)) {
			d.WaitingSince = c.At
		}
	}
}

func (s *Store) loadConversations(ctx context.Context, ids []string) (map[string]dbConversation, error) {
	return loadByID(ctx, s, s.conversations, ids, func(d dbConversation) string { return d.ID })
}

// threadModels refreshes what later messages may know better than the first
// one: the post's text and link, a DM customer's handle and name; a comment
// thread's customer is its first commenter and is only set when missing. With
// the conversation as read (cur), updates that would change nothing are left out.
func threadModels(t conversation.Thread, cur *dbConversation) []mongo.WriteModel {
	id := bson.E{Key: "_id", Value: t.ID}
	var models []mongo.WriteModel
	set := bson.D{}
	add := func(k, v, old string) {
		if v != "" && (cur == nil || v != old) {
			set = append(set, bson.E{Key: k, Value: v})
		}
	}
	var post dbPost
	if cur != nil && cur.Post != nil {
		post = *cur.Post
	}
	if p := t.Post; p != nil && p.ID != "" {
		add("post.id", p.ID, post.ID)
		add("post.text", p.Text, post.Text)
		add("post.permalink", p.Permalink, post.Permalink)
		add("post.type", p.Type, post.Type)
	}
	cust := t.Customer
	var old dbIdentity
	if cur != nil {
		old = cur.Customer
	}
	if cust.UserID != "" && t.Kind == conversation.KindDM {
		add("customer.platform", cust.Platform, old.Platform)
		add("customer.user_id", cust.UserID, old.UserID)
		add("customer.handle", cust.Handle, old.Handle)
		add("customer.name", cust.Name, old.Name)
	}
	if len(set) > 0 {
		models = append(models, update(bson.D{id}, bson.D{{Key: "$set", Value: set}}))
	}
	if cust.UserID != "" && t.Kind != conversation.KindDM && (cur == nil || cur.Customer.UserID == "") {
		models = append(models, update(bson.D{id, {Key: "customer.user_id", Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "customer", Value: toDBIdentity(cust)}}}}))
	}
	return models
}

// countModels adds one message to an existing conversation: the guarded
// counter update, then the order-independent waiting_since rule. The incoming
// rule is left out when the conversation as read (cur) shows it cannot change
// anything: its effect only ever grows stale in a way repairWaiting restores.
func countModels(token string, c conversation.Count, now time.Time, cur dbConversation, known bool) []mongo.WriteModel {
	id := bson.E{Key: "_id", Value: c.Thread.ID}
	rec := "inflight." + inflightKey(c.MessageID)
	set := bson.D{{Key: rec, Value: dbCounted{By: token, At: now}}, {Key: "updated_at", Value: now}}
	inc := bson.D{{Key: "message_count", Value: 1}}
	maxes := bson.D{{Key: "last_message_at", Value: c.At}}
	var wait mongo.WriteModel
	if c.Direction == conversation.DirectionOut {
		inc = append(inc, bson.E{Key: "outgoing_count", Value: 1})
		maxes = append(maxes, bson.E{Key: "last_outgoing_at", Value: c.At})
		// An answer ends the wait of every message up to its time; incoming
		// messages after it are found again by repairWaiting.
		wait = update(bson.D{id, {Key: "waiting_since", Value: bson.D{{Key: "$lte", Value: c.At}}}},
			bson.D{{Key: "$unset", Value: bson.D{{Key: "waiting_since", Value: ""}}}})
	} else {
		inc = append(inc, bson.E{Key: "incoming_count", Value: 1})
		maxes = append(maxes, bson.E{Key: "last_incoming_at", Value: c.At})
		set = append(set, bson.E{Key: "status", Value: string(conversation.StatusOpen)})
		noop := known && (!cur.LastOutgoingAt.Before(c.At) && !cur.LastOutgoingAt.IsZero() ||
			!cur.WaitingSince.IsZero() && !cur.WaitingSince.After(c.At))
		if !noop {
			wait = update(bson.D{id, {Key: "last_outgoing_at", Value: notGTE(c.At)}},
				bson.D{{Key: "$min", Value: bson.D{{Key: "waiting_since", Value: c.At}}}})
		}
	}
	counter := update(bson.D{id, {Key: rec, Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "$set", Value: set}, {Key: "$inc", Value: inc}, {Key: "$max", Value: maxes}})
	// After the counter's $max, last_message_at is at most c.At exactly when
	// this message is the newest: then it is the one to preview.
	last := update(bson.D{id, {Key: "last_message_at", Value: bson.D{{Key: "$lte", Value: c.At}}}},
		bson.D{{Key: "$set", Value: lastMessageSet(c.MessageID, c.Preview, c.Direction)}})
	if wait == nil {
		return []mongo.WriteModel{counter, last}
	}
	return []mongo.WriteModel{counter, last, wait}
}

// repairWaiting restores waiting_since where an answer that arrived late
// cleared it although the customer wrote again after that answer.
func (s *Store) repairWaiting(ctx context.Context, docs map[string]dbConversation, ids []string) error {
	for _, id := range ids {
		d, ok := docs[id]
		if !ok {
			continue
		}
		if d.LastIncomingAt.IsZero() || !d.LastIncomingAt.After(d.LastOutgoingAt) || !d.WaitingSince.IsZero() {
			continue
		}
		first, err := s.firstUnanswered(ctx, id, d.LastOutgoingAt)
		if err != nil {
			return fmt.Errorf("repair waiting: %w", err)
		}
		if first.IsZero() {
			continue
		}
		if _, err := s.conversations.UpdateOne(ctx, bson.D{{Key: "_id", Value: id},
			{Key: "last_outgoing_at", Value: notGTE(first)}},
			bson.D{{Key: "$min", Value: bson.D{{Key: "waiting_since", Value: first}}}}); err != nil {
			return fmt.Errorf("repair waiting: %w", err)
		}
		d.WaitingSince = first
		docs[id] = d
	}
	return nil
}

// prune drops counting records older than PruneAfter from the conversations just read.
func (s *Store) prune(ctx context.Context, docs map[string]dbConversation, ids []string, now time.Time) error {
	var models []mongo.WriteModel
	for _, id := range ids {
		d := docs[id]
		unset := bson.D{}
		for k, e := range d.Inflight {
			if s.stale(e, now) {
				unset = append(unset, bson.E{Key: "inflight." + k, Value: ""})
			}
		}
		for k, e := range d.Counting {
			if s.stale(dbCounted{By: strings.TrimPrefix(k, "t"), At: e.At}, now) {
				unset = append(unset, bson.E{Key: "counting." + k, Value: ""})
			}
		}
		if len(unset) > 0 {
			models = append(models, update(bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$unset", Value: unset}}))
		}
	}
	if len(models) == 0 {
		return nil
	}
	if err := s.bulk(ctx, s.conversations, models); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	return nil
}

// lastMessageSet is the $set naming a conversation's newest message.
func lastMessageSet(id, preview string, dir conversation.Direction) bson.D {
	return bson.D{{Key: "last_message_id", Value: id}, {Key: "last_message_text", Value: preview},
		{Key: "last_message_direction", Value: string(dir)}}
}

// RefreshLastMessages rewrites the preview of each conversation whose newest
// message is one of ms, from the message as it is now: its edited text, or
// nothing once it is deleted or hidden. Repeating it changes nothing.
func (s *Store) RefreshLastMessages(ctx context.Context, ms []conversation.Message) error {
	var models []mongo.WriteModel
	for _, m := range ms {
		models = append(models, update(bson.D{{Key: "_id", Value: m.ConversationID}, {Key: "last_message_id", Value: m.ID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "last_message_text", Value: m.Preview()}}}}))
	}
	if len(models) == 0 {
		return nil
	}
	if err := s.bulk(ctx, s.conversations, models); err != nil {
		return fmt.Errorf("refresh previews: %w", err)
	}
	return nil
}
