package ingest

import (
	"time"

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/webhook"
)

// item is one parsed event on the channel it was routed to.
type item struct {
	ch          channel.Channel
	ev          webhook.Event
	receivedAt  time.Time
	delivery    string // the queue delivery's id; "" for polled events
	redelivered bool
}

var actions = map[webhook.Action]conversation.Action{
	webhook.ActionMessage:  conversation.ActionCreate,
	webhook.ActionEdit:     conversation.ActionEdit,
	webhook.ActionDelete:   conversation.ActionDelete,
	webhook.ActionHide:     conversation.ActionHide,
	webhook.ActionUnhide:   conversation.ActionUnhide,
	webhook.ActionReaction: conversation.ActionReact,
	webhook.ActionStatus:   conversation.ActionStatus,
}

var deliveryStates = map[string]conversation.DeliveryState{
	webhook.StatusSent:      conversation.DeliverySent,
	webhook.StatusDelivered: conversation.DeliveryDelivered,
	webhook.StatusRead:      conversation.DeliveryRead,
	webhook.StatusFailed:    conversation.DeliveryFailed,
}

func identity(i webhook.Identity) conversation.Identity {
	return conversation.Identity{Platform: string(i.Platform), UserID: i.UserID, Handle: i.Handle, Name: i.Name}
}

// toChange turns an event into a change of one message; false for events the
// inbox does not keep (no message id, unknown action or delivery state).
// threadID overrides the conversation the event's thread key gives, for
// replies attached to the thread of the message they answer.
func toChange(it item, threadID string) (conversation.Change, bool) {
	ev, ch := it.ev, it.ch
	action, ok := actions[ev.Action]
	if !ok || ev.ExternalID == "" || ev.DedupeKey == "" {
		return conversation.Change{}, false
	}
	kind := conversation.Kind(ev.Kind)
	if kind != conversation.KindComment {
		kind = conversation.KindDM
	}
	at := ev.Timestamp
	if at.IsZero() {
		at = it.receivedAt
	}
	c := conversation.Change{
		Key:         ev.DedupeKey,
		DeliveryID:  it.delivery,
		Action:      action,
		MessageID:   conversation.MessageID(ch.ID, ev.ExternalID),
		WorkspaceID: ch.WorkspaceID,
		ChannelID:   ch.ID,
		Platform:    string(ev.Platform),
		Kind:        kind,
		ExternalID:  ev.ExternalID,
		At:          at.UTC().Truncate(time.Millisecond),
		ReceivedAt:  it.receivedAt.UTC().Truncate(time.Millisecond),
		Text:        ev.Text,
	}
	if ev.ThreadKey != "" {
		c.ConversationID = conversation.ConversationID(ch.WorkspaceID, ch.ID, kind, ev.ThreadKey)
	}
	if threadID != "" {
		c.ConversationID = threadID
	}
	switch action {
	case conversation.ActionCreate:
		if c.ConversationID == "" {
			return conversation.Change{}, false
		}
		c.Direction = conversation.DirectionIn
		if ev.Echo {
			c.Direction = conversation.DirectionOut
		}
		c.Echo = ev.Echo
		c.Author = identity(ev.Author)
		for _, a := range ev.Attachments {
			c.Attachments = append(c.Attachments, conversation.Attachment{Type: a.Type, URL: a.URL, MimeType: a.MimeType,
				MediaID: a.MediaID, SHA256: a.SHA256, Name: a.Name})
		}
		if ev.ParentID != "" {
			c.ParentID, c.ParentExternalID = conversation.MessageID(ch.ID, ev.ParentID), ev.ParentID
		}
		if ev.ReplyTo != "" {
			c.ReplyToID, c.ReplyToExternalID = conversation.MessageID(ch.ID, ev.ReplyTo), ev.ReplyTo
		}
		t := conversation.Thread{ID: c.ConversationID, WorkspaceID: ch.WorkspaceID, ChannelID: ch.ID,
			Platform: string(ev.Platform), Kind: kind, ThreadKey: ev.ThreadKey, Customer: identity(ev.Customer)}
		if ev.Post != nil && threadID == "" {
			t.Post = &conversation.Post{ID: ev.Post.ID, Text: ev.Post.Text, Permalink: ev.Post.Permalink, Type: ev.Post.Type}
		}
		if threadID != "" {
			// Attached to the thread of the message it answers: that thread's key and post stand.
			t.ThreadKey = ""
		}
		c.Thread = &t
	case conversation.ActionReact:
		if ev.Reaction == nil || ev.Author.UserID == "" {
			return conversation.Change{}, false
		}
		emoji := ev.Reaction.Emoji
		if ev.Reaction.Removed {
			emoji = ""
		}
		c.Reaction = &conversation.Reaction{UserID: ev.Author.UserID, Emoji: emoji}
	case conversation.ActionStatus:
		if ev.Status == nil {
			return conversation.Change{}, false
		}
		st, ok := deliveryStates[ev.Status.State]
		if !ok {
			return conversation.Change{}, false
		}
		c.Delivery = &conversation.Delivery{State: st, ErrorCode: ev.Status.ErrorCode, ErrorMessage: ev.Status.ErrorMessage}
	}
	return c, true
}
