package conversationdb

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// ConversationsOfMessages returns the conversation of each stored message
// among ids that has one.
func (s *Store) ConversationsOfMessages(ctx context.Context, ids []string) (map[string]string, error) {
	type ref struct {
		ID             string `bson:"_id"`
		ConversationID string `bson:"conversation_id"`
	}
	docs, err := loadByID(ctx, s, s.messages, ids, func(d ref) string { return d.ID }, optsProjection("conversation_id"))
	if err != nil {
		return nil, fmt.Errorf("conversations of messages: %w", err)
	}
	out := map[string]string{}
	for id, d := range docs {
		if d.ConversationID != "" {
			out[id] = d.ConversationID
		}
	}
	return out, nil
}

// ApplyChanges applies changes in order, each at most once per message, and
// reports which of them this writer (token) applied and the messages after
// the writes. Changes repeated within the batch count as Earlier.
//
// Round trips: a read of the messages the batch changes without creating
// them; one insert of the messages it creates (and of placeholders); for the
// rest, and for creations that found their message stored, a read of those,
// the guarded updates (in commands of at most MaxUpdatesPerCommand) and one
// read back, or with SingleWriter one update per changed message and no read
// back. Already-seen events cost no write.
func (s *Store) ApplyChanges(ctx context.Context, token string, changes []conversation.Change) (conversation.Applied, error) {
	res := conversation.Applied{Outcomes: make([]conversation.Outcome, len(changes)), Messages: map[string]conversation.MessageState{}}
	if len(changes) == 0 {
		return res, nil
	}
	now := s.now()
	var ids []string
	idSet := map[string]bool{}
	for _, c := range changes {
		if !idSet[c.MessageID] {
			idSet[c.MessageID] = true
			ids = append(ids, c.MessageID)
		}
	}
	// A creation is inserted without reading first: a message is new far more
	// often than not, and on FerretDB every read by key scans the collection.
	// Only messages the batch does not create are read. A creation whose
	// message exists after all (a redelivery, or the placeholder of an edit
	// that came first) fails to insert and is applied as an update below.
	creates := map[string]bool{}
	for _, c := range changes {
		if c.Action == conversation.ActionCreate {
			creates[c.MessageID] = true
		}
	}
	var toRead []string
	for _, id := range ids {
		if !creates[id] {
			toRead = append(toRead, id)
		}
	}
	docs, err := s.loadMessages(ctx, toRead)
	if err != nil {
		return res, err
	}

	// Build the messages that do not exist yet; remember which change made what.
	fresh := map[string]*dbMessage{}
	var freshOrder []string
	inBatch := map[[2]string]bool{}
	pending := map[string][]int{} // message id → indexes of unseen changes to existing messages
	for i, c := range changes {
		k := [2]string{c.MessageID, c.Key}
		if inBatch[k] {
			res.Outcomes[i] = conversation.Earlier
			continue
		}
		inBatch[k] = true
		if d, ok := docs[c.MessageID]; ok {
			if _, seen := d.Seen[seenField(c.Key)]; seen {
				res.Outcomes[i] = conversation.Earlier
				continue
			}
			pending[c.MessageID] = append(pending[c.MessageID], i)
			continue
		}
		d := fresh[c.MessageID]
		if d == nil {
			nd := newMessageDoc(c, now)
			d = &nd
			fresh[c.MessageID] = d
			freshOrder = append(freshOrder, c.MessageID)
		}
		applyChange(d, token, c, now)
		res.Outcomes[i] = conversation.Mine
	}

	toInsert := make([]dbMessage, len(freshOrder))
	for i, id := range freshOrder {
		d := fresh[id]
		// A message this batch creates visible is counted by this batch, right
		// after; a crash before that is repaired when the batch is redelivered.
		d.Counted = !d.Placeholder
		toInsert[i] = *d
	}
	dups, err := insertNew(ctx, s.messages, toInsert)
	if err != nil {
		return res, fmt.Errorf("apply changes: %w", err)
	}
	inserted := map[string]bool{}
	for i, d := range toInsert {
		if !dups[i] {
			docs[d.ID] = d
			inserted[d.ID] = true
			continue
		}
		// Already there (stored earlier or by a concurrent writer): apply this
		// batch's changes to it as updates instead.
		for j, c := range changes {
			if c.MessageID == d.ID && res.Outcomes[j] == conversation.Mine {
				res.Outcomes[j] = 0
				pending[d.ID] = append(pending[d.ID], j)
			}
		}
	}
	if err := s.updateMessages(ctx, token, changes, pending, docs, res.Outcomes, now); err != nil {
		return res, err
	}
	for _, id := range ids {
		d, ok := docs[id]
		if !ok {
			return res, fmt.Errorf("apply changes: message %s: %w", id, errUnrecorded)
		}
		st := toBusMessage(d)
		st.Inserted = inserted[id]
		res.Messages[id] = st
	}
	return res, nil
}

// updateMessages applies the pending changes (by message id, indexes into
// changes) to existing messages and records their outcomes; docs is updated
// to the messages after the writes.
func (s *Store) updateMessages(ctx context.Context, token string, changes []conversation.Change, pending map[string][]int,
	docs map[string]dbMessage, outcomes []conversation.Outcome, now time.Time) error {
	if len(pending) == 0 {
		return nil
	}
	var touched []string
	for id := range pending {
		touched = append(touched, id)
	}
	sort.Strings(touched)
	if s.single {
		// Nobody else writes: apply in memory to what we read, write the difference.
		var missing []string
		for _, id := range touched {
			if _, ok := docs[id]; !ok {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			// Inserted by someone after all (the promise was broken): read them.
			back, err := s.loadMessages(ctx, missing)
			if err != nil {
				return err
			}
			for id, d := range back {
				docs[id] = d
			}
		}
		var models []mongo.WriteModel
		for _, id := range touched {
			before, ok := docs[id]
			if !ok {
				return fmt.Errorf("apply changes: message %s: %w", id, errUnrecorded)
			}
			after, err := cloneDoc(before)
			if err != nil {
				return err
			}
			for _, i := range pending[id] {
				if applyChange(&after, token, changes[i], now) {
					outcomes[i] = conversation.Mine
				} else {
					outcomes[i] = conversation.Earlier
				}
			}
			m, err := diffUpdate(id, before, after)
			if err != nil {
				return err
			}
			if m != nil {
				models = append(models, m)
			}
			docs[id] = after
		}
		if err := s.bulk(ctx, s.messages, models); err != nil {
			return fmt.Errorf("apply changes: %w", err)
		}
		return nil
	}
	var models []mongo.WriteModel
	for _, id := range touched {
		for _, i := range pending[id] {
			models = append(models, changeModels(token, changes[i], now)...)
		}
	}
	if err := s.bulk(ctx, s.messages, models); err != nil {
		return fmt.Errorf("apply changes: %w", err)
	}
	back, err := s.loadMessages(ctx, touched)
	if err != nil {
		return err
	}
	for id, d := range back {
		docs[id] = d
	}
	for _, id := range touched {
		for _, i := range pending[id] {
			c := changes[i]
			switch by, seen := docs[id].Seen[seenField(c.Key)]; {
			case !seen:
				return fmt.Errorf("apply changes: %s on %s: %w", c.Action, id, errUnrecorded)
			case by == token:
				outcomes[i] = conversation.Mine
			default:
				outcomes[i] = conversation.Earlier
			}
		}
	}
	return nil
}

// cloneDoc deep-copies a document through BSON.
func cloneDoc[T any](d T) (T, error) {
	var out T
	b, err := bson.Marshal(d)
	if err != nil {
		return out, fmt.Errorf("clone: %w", err)
	}
	if err := bson.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("clone: %w", err)
	}
	return out, nil
}

func (s *Store) loadMessages(ctx context.Context, ids []string) (map[string]dbMessage, error) {
	return loadByID(ctx, s, s.messages, ids, func(d dbMessage) string { return d.ID })
}

// changeModels returns the updates of one change to an existing message: the
// guarded update that records the change's key (and applies what does not
// depend on order), then the conditional updates that apply what does, which
// are idempotent and monotonic on their own and so safe to repeat.
func changeModels(token string, c conversation.Change, now time.Time) []mongo.WriteModel {
	id := bson.E{Key: "_id", Value: c.MessageID}
	seen := "seen." + seenField(c.Key)
	guard := bson.D{id, {Key: seen, Value: bson.D{{Key: "$exists", Value: false}}}}
	set := bson.D{{Key: seen, Value: token}, {Key: "updated_at", Value: now}}
	upd := bson.D{{Key: "$inc", Value: bson.D{{Key: "rev", Value: 1}}}}
	var cond []mongo.WriteModel

	switch c.Action {
	case conversation.ActionCreate:
		if c.ConversationID != "" {
			set = append(set, bson.E{Key: "conversation_id", Value: c.ConversationID})
		}
		set = append(set,
			bson.E{Key: "direction", Value: string(c.Direction)},
			bson.E{Key: "echo", Value: c.Echo},
			bson.E{Key: "author", Value: toDBIdentity(c.Author)},
			bson.E{Key: "attachments", Value: toDBAttachments(c.Attachments)},
			bson.E{Key: "parent_id", Value: c.ParentID},
			bson.E{Key: "parent_external_id", Value: c.ParentExternalID},
			bson.E{Key: "reply_to_id", Value: c.ReplyToID},
			bson.E{Key: "reply_to_external_id", Value: c.ReplyToExternalID},
			bson.E{Key: "platform_time", Value: c.At},
			bson.E{Key: "received_at", Value: c.ReceivedAt},
			bson.E{Key: "placeholder", Value: false},
		)
		if c.DeliveryID != "" {
			set = append(set, bson.E{Key: "created_by", Value: c.DeliveryID})
		}
		// The original's text loses to an edit of the same or a later time.
		cond = append(cond, update(bson.D{id, {Key: "text_at", Value: notGTE(c.At)}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "text", Value: c.Text}, {Key: "text_at", Value: c.At}}}}))
		if c.Direction == conversation.DirectionOut {
			cond = append(cond, deliveryModel(id, conversation.DeliverySent, c.At))
		}
	case conversation.ActionEdit:
		upd = append(upd, bson.E{Key: "$push", Value: bson.D{{Key: "edits", Value: dbEdit{Text: c.Text, At: c.At}}}})
		cond = append(cond, update(bson.D{id, {Key: "text_at", Value: notGT(c.At)}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "text", Value: c.Text}, {Key: "text_at", Value: c.At}}}}))
	case conversation.ActionDelete:
		set = append(set, bson.E{Key: "tombstone", Value: dbTombstone{State: string(conversation.TombstoneDeleted), At: c.At}})
	case conversation.ActionHide, conversation.ActionUnhide:
		filter := bson.D{id,
			{Key: "tombstone.state", Value: bson.D{{Key: "$ne", Value: string(conversation.TombstoneDeleted)}}},
			{Key: "visibility_at", Value: notGTE(c.At)}}
		var u bson.D
		if c.Action == conversation.ActionHide {
			u = bson.D{{Key: "$set", Value: bson.D{
				{Key: "tombstone", Value: dbTombstone{State: string(conversation.TombstoneHidden), At: c.At}},
				{Key: "visibility_at", Value: c.At}}}}
		} else {
			u = bson.D{{Key: "$set", Value: bson.D{{Key: "visibility_at", Value: c.At}}},
				{Key: "$unset", Value: bson.D{{Key: "tombstone", Value: ""}}}}
		}
		cond = append(cond, update(filter, u))
	case conversation.ActionReact:
		if r := c.Reaction; r != nil {
			path := "reactions." + reactionField(r.UserID)
			cond = append(cond, update(bson.D{id, {Key: path + ".at", Value: notGT(c.At)}},
				bson.D{{Key: "$set", Value: bson.D{{Key: path, Value: dbReaction{UserID: r.UserID, Emoji: r.Emoji, At: c.At}}}}}))
		}
	case conversation.ActionStatus:
		if d := c.Delivery; d != nil {
			if d.State == conversation.DeliveryFailed {
				set = append(set, bson.E{Key: "delivery.error_code", Value: d.ErrorCode},
					bson.E{Key: "delivery.error_message", Value: d.ErrorMessage})
			}
			cond = append(cond, deliveryModel(id, d.State, c.At))
		}
	}
	upd = append(upd, bson.E{Key: "$set", Value: set})
	return append([]mongo.WriteModel{update(guard, upd)}, cond...)
}

// deliveryModel advances the delivery state to state unless it is already at
// that rank or beyond. Fields are set one by one so a recorded error survives.
func deliveryModel(id bson.E, state conversation.DeliveryState, at time.Time) mongo.WriteModel {
	rank := state.Rank()
	return update(bson.D{id, {Key: "delivery.rank", Value: notGTE(rank)}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "delivery.state", Value: string(state)},
			{Key: "delivery.rank", Value: rank},
			{Key: "delivery.at", Value: at}}}})
}

// MarkCounted records that messages are included in their conversations' counters.
func (s *Store) MarkCounted(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if s.single {
		models := make([]mongo.WriteModel, len(ids))
		for i, id := range ids {
			models[i] = update(bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "counted", Value: true}}}})
		}
		return s.bulk(ctx, s.messages, models)
	}
	_, err := s.messages.UpdateMany(ctx, append(idFilter(ids), bson.E{Key: "counted", Value: false}),
		bson.D{{Key: "$set", Value: bson.D{{Key: "counted", Value: true}}}})
	if err != nil {
		return fmt.Errorf("mark counted: %w", err)
	}
	return nil
}
