package webhook

import (
	"strconv"
	"time"
)

// metaMessaging is one Messenger or Instagram messaging item.
type metaMessaging struct {
	Sender      metaParty    `json:"sender"`
	Recipient   metaParty    `json:"recipient"`
	Timestamp   flexInt      `json:"timestamp"`
	Message     *metaMessage `json:"message"`
	MessageEdit *struct {
		Mid  string `json:"mid"`
		Text string `json:"text"`
	} `json:"message_edit"`
	Reaction *struct {
		Mid      string `json:"mid"`
		Action   string `json:"action"`   // react | unreact
		Reaction string `json:"reaction"` // name such as "love"
		Emoji    string `json:"emoji"`
	} `json:"reaction"`
}

type metaParty struct {
	ID flexID `json:"id"`
}

type metaMessage struct {
	Mid         string           `json:"mid"`
	Text        string           `json:"text"`
	IsEcho      bool             `json:"is_echo"`
	IsDeleted   bool             `json:"is_deleted"`
	Attachments []metaAttachment `json:"attachments"`
	ReplyTo     *struct {
		Mid   string `json:"mid"`
		Story *struct {
			URL string `json:"url"`
			ID  flexID `json:"id"`
		} `json:"story"`
	} `json:"reply_to"`
}

type metaAttachment struct {
	Type    string `json:"type"`
	URL     string `json:"url"`   // fallback attachments carry url and title outside payload
	Title   string `json:"title"` // fallback attachments
	Payload *struct {
		URL         string `json:"url"`
		Title       string `json:"title"`
		StickerID   flexID `json:"sticker_id"`
		Coordinates *struct {
			Lat  float64 `json:"lat"`
			Long float64 `json:"long"`
		} `json:"coordinates"`
	} `json:"payload"`
}

// messagingEvents turns a messaging item into events. account is the page or
// IG account the entry is for; the customer is whichever party is not the
// account, so an echo (sent by the business from another app) lands in the
// customer's thread too. toTime converts the item's timestamp.
func messagingEvents(p Platform, account string, entryTime time.Time, m metaMessaging, toTime func(flexInt) time.Time) []Event {
	sender, recipient := string(m.Sender.ID), string(m.Recipient.ID)
	isEcho := m.Message != nil && m.Message.IsEcho
	customer, business := sender, recipient
	switch {
	case account != "" && sender == account && recipient != account:
		customer, business = recipient, sender
	case account != "" && recipient == account && sender != account:
		// inbound; also covers echoes whose parties are listed the other way round
	case isEcho:
		customer, business = recipient, sender
	}
	if customer == "" {
		return nil
	}
	echo := isEcho || (sender != "" && sender == business && business == account)

	base := Event{
		Platform:  p,
		AccountID: account,
		Kind:      KindDM,
		Echo:      echo,
		ThreadKey: customer,
		Author:    Identity{Platform: p, UserID: customer},
		Customer:  Identity{Platform: p, UserID: customer},
		Timestamp: toTime(m.Timestamp),
	}
	if echo {
		base.Author = Identity{Platform: p, UserID: business}
	}
	if base.Timestamp.IsZero() {
		base.Timestamp = entryTime
	}

	var events []Event
	if msg := m.Message; msg != nil && msg.Mid != "" {
		ev := base
		ev.ExternalID = msg.Mid
		if msg.IsDeleted {
			ev.Action = ActionDelete
		} else {
			ev.Action = ActionMessage
			ev.Text = msg.Text
			ev.Attachments = metaAttachments(msg.Attachments)
			for _, a := range ev.Attachments {
				// Instagram delivers a story that tags the account as a DM
				// with this attachment; the story itself is public.
				ev.Mention = ev.Mention || (a.Type == AttachmentStoryMention && !ev.Echo)
			}
			if r := msg.ReplyTo; r != nil {
				ev.ReplyTo = r.Mid
				if r.Story != nil {
					ev.Attachments = append(ev.Attachments, Attachment{Type: "story_reply", URL: r.Story.URL, MediaID: string(r.Story.ID)})
				}
			}
		}
		ev.DedupeKey = lifecycleKey(p, account, ev.Action, ev.ExternalID, ev.Timestamp, ev.Text)
		events = append(events, ev)
	}
	if e := m.MessageEdit; e != nil && e.Mid != "" {
		ev := base
		ev.Action = ActionEdit
		ev.ExternalID = e.Mid
		ev.Text = e.Text
		ev.DedupeKey = lifecycleKey(p, account, ActionEdit, e.Mid, ev.Timestamp, e.Text)
		events = append(events, ev)
	}
	if r := m.Reaction; r != nil && r.Mid != "" {
		ev := base
		ev.Action = ActionReaction
		ev.ExternalID = r.Mid
		// A reaction's author is its sender, which may be the business.
		ev.Author = Identity{Platform: p, UserID: sender}
		ev.Echo = sender != "" && sender == business && business == account
		emoji := r.Emoji
		if emoji == "" {
			emoji = r.Reaction
		}
		ev.Reaction = &Reaction{TargetID: r.Mid, Emoji: emoji, Removed: r.Action == "unreact"}
		ms := int64(0)
		if !ev.Timestamp.IsZero() {
			ms = ev.Timestamp.UnixMilli()
		}
		ev.DedupeKey = dedupeKey(p, account, ActionReaction, r.Mid, sender, r.Action, emoji, strconv.FormatInt(ms, 10))
		events = append(events, ev)
	}
	return events
}

// metaAttachments converts Messenger / Instagram attachments.
func metaAttachments(in []metaAttachment) []Attachment {
	var out []Attachment
	for _, a := range in {
		att := Attachment{Type: attachmentType(a.Type), URL: a.URL, Name: a.Title}
		if pl := a.Payload; pl != nil {
			if pl.URL != "" {
				att.URL = pl.URL
			}
			if pl.Title != "" {
				att.Name = pl.Title
			}
			if pl.StickerID != "" {
				att.Type, att.MediaID = AttachmentSticker, string(pl.StickerID)
			}
			if c := pl.Coordinates; c != nil && att.Type == AttachmentLocation {
				att.URL = geoURI(c.Lat, c.Long)
			}
		}
		out = append(out, att)
	}
	return out
}
