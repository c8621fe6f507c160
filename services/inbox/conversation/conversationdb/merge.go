package conversationdb

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/communityinbox/inbox/conversation"
)

// This file applies changes to documents in memory, for documents this batch
// creates: they are built whole and inserted in one command. The rules must
// match the update operations of changeModels and countModels exactly; the
// tests apply the same events through both paths and compare.

// newMessageDoc is the placeholder a message starts as, before its first change.
func newMessageDoc(c conversation.Change, now time.Time) dbMessage {
	d := dbMessage{
		ID: c.MessageID, WorkspaceID: c.WorkspaceID, ChannelID: c.ChannelID, Platform: c.Platform,
		Kind: string(c.Kind), ExternalID: c.ExternalID, ConversationID: c.ConversationID,
		Placeholder: true, CreatedAt: now, ReceivedAt: c.ReceivedAt, Seen: map[string]string{},
	}
	if c.Action == conversation.ActionStatus {
		d.Direction = string(conversation.DirectionOut)
	}
	return d
}

// applyChange applies c to d unless its key was seen, and reports whether it did.
func applyChange(d *dbMessage, token string, c conversation.Change, now time.Time) bool {
	sk := seenField(c.Key)
	if _, ok := d.Seen[sk]; ok {
		return false
	}
	if d.Seen == nil {
		d.Seen = map[string]string{}
	}
	d.Seen[sk] = token
	d.Rev++
	d.UpdatedAt = now
	switch c.Action {
	case conversation.ActionCreate:
		if c.ConversationID != "" {
			d.ConversationID = c.ConversationID
		}
		d.Direction, d.Echo, d.Author = string(c.Direction), c.Echo, toDBIdentity(c.Author)
		d.Attachments = toDBAttachments(c.Attachments)
		d.ParentID, d.ParentExternalID = c.ParentID, c.ParentExternalID
		d.ReplyToID, d.ReplyToExternalID = c.ReplyToID, c.ReplyToExternalID
		d.PlatformTime, d.ReceivedAt, d.Placeholder = c.At, c.ReceivedAt, false
		if c.DeliveryID != "" {
			d.CreatedBy = c.DeliveryID
		}
		if d.TextAt.IsZero() || d.TextAt.Before(c.At) {
			d.Text, d.TextAt = c.Text, c.At
		}
		if c.Direction == conversation.DirectionOut {
			advanceDelivery(d, conversation.DeliverySent, c.At)
		}
	case conversation.ActionEdit:
		d.Edits = append(d.Edits, dbEdit{Text: c.Text, At: c.At})
		if d.TextAt.IsZero() || !d.TextAt.After(c.At) {
			d.Text, d.TextAt = c.Text, c.At
		}
	case conversation.ActionDelete:
		d.Tombstone = &dbTombstone{State: string(conversation.TombstoneDeleted), At: c.At}
	case conversation.ActionHide, conversation.ActionUnhide:
		deleted := d.Tombstone != nil && d.Tombstone.State == string(conversation.TombstoneDeleted)
		if !deleted && (d.VisibilityAt.IsZero() || d.VisibilityAt.Before(c.At)) {
			d.VisibilityAt = c.At
			if c.Action == conversation.ActionHide {
				d.Tombstone = &dbTombstone{State: string(conversation.TombstoneHidden), At: c.At}
			} else {
				d.Tombstone = nil
			}
		}
	case conversation.ActionReact:
		if r := c.Reaction; r != nil {
			k := reactionField(r.UserID)
			if old, ok := d.Reactions[k]; !ok || !old.At.After(c.At) {
				if d.Reactions == nil {
					d.Reactions = map[string]dbReaction{}
				}
				d.Reactions[k] = dbReaction{UserID: r.UserID, Emoji: r.Emoji, At: c.At}
			}
		}
	case conversation.ActionStatus:
		if st := c.Delivery; st != nil {
			if st.State == conversation.DeliveryFailed {
				if d.Delivery == nil {
					d.Delivery = &dbDelivery{}
				}
				d.Delivery.ErrorCode, d.Delivery.ErrorMessage = st.ErrorCode, st.ErrorMessage
			}
			advanceDelivery(d, st.State, c.At)
		}
	}
	return true
}

// advanceDelivery moves d's delivery state forward, keeping a recorded error.
func advanceDelivery(d *dbMessage, state conversation.DeliveryState, at time.Time) {
	if d.Delivery == nil {
		d.Delivery = &dbDelivery{}
	}
	if rank := state.Rank(); d.Delivery.Rank < rank {
		d.Delivery.State, d.Delivery.Rank, d.Delivery.At = string(state), rank, at
	}
}

// newConversationDoc is a freshly opened conversation, as openConversation would insert it.
func newConversationDoc(t conversation.Thread, now time.Time) dbConversation {
	d := dbConversation{
		ID: t.ID, WorkspaceID: t.WorkspaceID, ChannelID: t.ChannelID, Platform: t.Platform, Kind: string(t.Kind),
		ThreadKey: t.ThreadKey, Status: string(conversation.StatusOpen), CreatedAt: now, UpdatedAt: now,
	}
	if p := t.Post; p != nil && p.ID != "" {
		d.Post = &dbPost{ID: p.ID, Text: p.Text, Permalink: p.Permalink, Type: p.Type}
	}
	if t.Customer.UserID != "" {
		d.Customer = toDBIdentity(t.Customer)
	}
	return d
}

// countingKeyLen is the length of a message's key in a Counting record: 64
// bits of a hash of its id, which two messages of one conversation's
// records share with a chance of about n²/2⁶⁵.
const countingKeyLen = 16

func countingKey(messageID string) string {
	s := sha256.Sum256([]byte(messageID))
	return hex.EncodeToString(s[:countingKeyLen/2])
}

func countingField(token string) string { return "t" + token }

// countIndex is what a conversation remembers of who counted which message:
// the writer token by message id (Inflight) or by counting key (Counting).
type countIndex struct {
	byMessage map[string]string
	byKey     map[string]string
}

func indexCounts(d *dbConversation) countIndex {
	ix := countIndex{byMessage: map[string]string{}, byKey: map[string]string{}}
	for k, e := range d.Inflight {
		ix.byMessage[messageOfInflightKey(k)] = e.By
	}
	for f, e := range d.Counting {
		for i := 0; i+countingKeyLen <= len(e.IDs); i += countingKeyLen {
			ix.byKey[e.IDs[i:i+countingKeyLen]] = strings.TrimPrefix(f, "t")
		}
	}
	return ix
}

// countedBy says which writer counted a message recently, if one did.
func (ix countIndex) countedBy(messageID string) (string, bool) {
	if by, ok := ix.byMessage[messageID]; ok {
		return by, true
	}
	by, ok := ix.byKey[countingKey(messageID)]
	return by, ok
}

// addCount counts one message into d unless ix shows it counted already, and
// reports whether it did. The record goes to d.Counting when compact (a
// single writer), else to d.Inflight, whose per-message fields the guarded
// updates test.
func addCount(d *dbConversation, ix countIndex, compact bool, token string, c conversation.Count, now time.Time) bool {
	if _, ok := ix.countedBy(c.MessageID); ok {
		return false
	}
	if compact {
		k := countingKey(c.MessageID)
		if d.Counting == nil {
			d.Counting = map[string]dbCounting{}
		}
		e := d.Counting[countingField(token)]
		if e.At.IsZero() {
			e.At = now
		}
		e.IDs += k
		d.Counting[countingField(token)] = e
		ix.byKey[k] = token
	} else {
		if d.Inflight == nil {
			d.Inflight = map[string]dbCounted{}
		}
		d.Inflight[inflightKey(c.MessageID)] = dbCounted{By: token, At: now}
		ix.byMessage[c.MessageID] = token
	}
	d.UpdatedAt = now
	d.MessageCount++
	if d.LastMessageID == "" || !c.At.Before(d.LastMessageAt) {
		d.LastMessageID, d.LastMessageText, d.LastMessageDir = c.MessageID, c.Preview, string(c.Direction)
	}
	d.LastMessageAt = maxTime(d.LastMessageAt, c.At)
	if c.Direction == conversation.DirectionOut {
		d.OutgoingCount++
		d.LastOutgoingAt = maxTime(d.LastOutgoingAt, c.At)
		if !d.WaitingSince.IsZero() && !d.WaitingSince.After(c.At) {
			d.WaitingSince = time.Time{}
		}
		return true
	}
	d.IncomingCount++
	d.LastIncomingAt = maxTime(d.LastIncomingAt, c.At)
	d.Status = string(conversation.StatusOpen)
	if d.LastOutgoingAt.IsZero() || d.LastOutgoingAt.Before(c.At) {
		if d.WaitingSince.IsZero() || c.At.Before(d.WaitingSince) {
			d.WaitingSince = c.At
		}
	}
	return true
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// refreshThread applies to d what threadModels writes: the post's known fields, a DM
// customer's latest handle and name, a comment thread's first commenter.
func refreshThread(d *dbConversation, t conversation.Thread) {
	if p := t.Post; p != nil && p.ID != "" {
		if d.Post == nil {
			d.Post = &dbPost{}
		}
		for _, f := range []struct {
			dst *string
			v   string
		}{{&d.Post.ID, p.ID}, {&d.Post.Text, p.Text}, {&d.Post.Permalink, p.Permalink}, {&d.Post.Type, p.Type}} {
			if f.v != "" {
				*f.dst = f.v
			}
		}
	}
	cust := t.Customer
	switch {
	case cust.UserID == "":
	case t.Kind == conversation.KindDM:
		d.Customer.UserID = cust.UserID
		if cust.Platform != "" {
			d.Customer.Platform = cust.Platform
		}
		if cust.Handle != "" {
			d.Customer.Handle = cust.Handle
		}
		if cust.Name != "" {
			d.Customer.Name = cust.Name
		}
	case d.Customer.UserID == "":
		d.Customer = toDBIdentity(cust)
	}
}
