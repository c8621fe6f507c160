package webhook

import (
	"encoding/json"
	"html"
	"strings"
	"time"
)

// xPayload is an Account Activity API delivery. Other event arrays
// (typing, read, favorite, follow, ...) are not decoded and so ignored.
type xPayload struct {
	ForUserID         flexID           `json:"for_user_id"`
	TweetCreateEvents []xTweet         `json:"tweet_create_events"`
	TweetDeleteEvents []xDelete        `json:"tweet_delete_events"`
	DirectMessages    []xDM            `json:"direct_message_events"`
	Users             map[string]xUser `json:"users"`
}

type xUser struct {
	ID         flexID `json:"id"`
	IDStr      string `json:"id_str"`
	Name       string `json:"name"`
	ScreenName string `json:"screen_name"`
}

func (u xUser) id() string {
	if u.IDStr != "" {
		return u.IDStr
	}
	return string(u.ID)
}

// xTweet is a v1.1 tweet object. int64 ids are read from the *_str members.
type xTweet struct {
	ID                   flexID `json:"id"`
	IDStr                string `json:"id_str"`
	ConversationID       string `json:"conversation_id"` // not in v1.1 deliveries, used when present
	Text                 string `json:"text"`
	FullText             string `json:"full_text"`
	InReplyToStatusIDStr string `json:"in_reply_to_status_id_str"`
	InReplyToUserIDStr   string `json:"in_reply_to_user_id_str"`
	InReplyToScreenName  string `json:"in_reply_to_screen_name"`
	User                 xUser  `json:"user"`
	ExtendedTweet        *struct {
		FullText         string     `json:"full_text"`
		Entities         *xEntities `json:"entities"`
		ExtendedEntities *xEntities `json:"extended_entities"`
	} `json:"extended_tweet"`
	Entities         *xEntities      `json:"entities"`
	ExtendedEntities *xEntities      `json:"extended_entities"`
	RetweetedStatus  json.RawMessage `json:"retweeted_status"`
	QuotedStatus     *struct {
		User xUser `json:"user"`
	} `json:"quoted_status"`
	TimestampMs flexInt `json:"timestamp_ms"`
	CreatedAt   string  `json:"created_at"`
}

type xEntities struct {
	Media        []xMedia `json:"media"`
	UserMentions []xUser  `json:"user_mentions"`
}

// mentions reports whether the entities name the user id.
func (e *xEntities) mentions(id string) bool {
	if e == nil || id == "" {
		return false
	}
	for _, u := range e.UserMentions {
		if u.id() == id {
			return true
		}
	}
	return false
}

type xMedia struct {
	IDStr         string `json:"id_str"`
	Type          string `json:"type"` // photo | video | animated_gif
	MediaURLHTTPS string `json:"media_url_https"`
	URL           string `json:"url"` // the t.co link that stands for the media in the text
	VideoInfo     *struct {
		Variants []struct {
			Bitrate     flexInt `json:"bitrate"`
			ContentType string  `json:"content_type"`
			URL         string  `json:"url"`
		} `json:"variants"`
	} `json:"video_info"`
}

type xDelete struct {
	Status struct {
		ID     flexID `json:"id"`
		UserID flexID `json:"user_id"`
	} `json:"status"`
	TimestampMs flexInt `json:"timestamp_ms"`
}

type xDM struct {
	Type             string  `json:"type"`
	ID               string  `json:"id"`
	CreatedTimestamp flexInt `json:"created_timestamp"` // milliseconds, as a string
	MessageCreate    *struct {
		Target struct {
			RecipientID flexID `json:"recipient_id"`
		} `json:"target"`
		SenderID    flexID `json:"sender_id"`
		MessageData struct {
			Text       string `json:"text"`
			Attachment *struct {
				Media *xMedia `json:"media"`
			} `json:"attachment"`
		} `json:"message_data"`
	} `json:"message_create"`
}

// ParseX parses an X Account Activity API delivery: tweets that mention or
// reply to the subscribed user (its own tweets come back as Echo), tweet
// deletions and direct messages. AccountID is for_user_id.
func ParseX(body []byte) ([]Event, error) {
	var p xPayload
	if err := decodeObject("x", body, &p); err != nil {
		return nil, err
	}
	account := string(p.ForUserID)
	var events []Event
	for _, t := range p.TweetCreateEvents {
		if ev, ok := xTweetEvent(account, t); ok {
			events = append(events, ev)
		}
	}
	for _, d := range p.TweetDeleteEvents {
		id, user := string(d.Status.ID), string(d.Status.UserID)
		if id == "" {
			continue
		}
		ev := Event{
			Platform:   X,
			AccountID:  account,
			Action:     ActionDelete,
			Kind:       KindComment,
			Echo:       user != "" && user == account,
			ExternalID: id,
			Author:     Identity{Platform: X, UserID: user},
			Timestamp:  unixMillis(d.TimestampMs),
			DedupeKey:  dedupeKey(X, account, ActionDelete, id),
		}
		if !ev.Echo {
			ev.Customer = ev.Author
		}
		events = append(events, ev)
	}
	for _, dm := range p.DirectMessages {
		if ev, ok := xDMEvent(account, p.Users, dm); ok {
			events = append(events, ev)
		}
	}
	return events, nil
}

// xTweetEvent converts a tweet; retweets are skipped because they carry no new text for the inbox.
//
// Threading without conversation_id (v1.1 deliveries lack it): a tweet lives
// in the thread of the tweet it answers, or its own. A reply to the business's
// own tweet is a top-level comment on that post (Post set, no ParentID); a
// reply to anyone else's tweet has that tweet as ParentID and no Post, since
// the post it hangs under is unknown; storage can attach it where the parent
// lives.
func xTweetEvent(account string, t xTweet) (Event, bool) {
	id := t.IDStr
	if id == "" {
		id = string(t.ID)
	}
	if id == "" || (len(t.RetweetedStatus) > 0 && string(t.RetweetedStatus) != "null") {
		return Event{}, false
	}
	reply := t.InReplyToStatusIDStr
	thread := t.ConversationID
	if thread == "" {
		thread = reply
	}
	if thread == "" {
		thread = id
	}
	author := Identity{Platform: X, UserID: t.User.id(), Handle: t.User.ScreenName, Name: t.User.Name}
	ev := Event{
		Platform:   X,
		AccountID:  account,
		Action:     ActionMessage,
		Kind:       KindComment,
		Echo:       author.UserID != "" && author.UserID == account,
		ExternalID: id,
		ThreadKey:  thread,
		Author:     author,
		DedupeKey:  dedupeKey(X, account, ActionMessage, id),
	}
	switch {
	case reply == "":
	case reply == thread && (t.ConversationID != "" || t.InReplyToUserIDStr == account):
		ev.Post = &Post{ID: thread} // a direct answer to the post
	default:
		ev.ParentID = reply
		if t.ConversationID != "" {
			ev.Post = &Post{ID: thread}
		}
	}
	switch {
	case !ev.Echo:
		ev.Customer = author
	case t.InReplyToUserIDStr != "" && t.InReplyToUserIDStr != account:
		ev.Customer = Identity{Platform: X, UserID: t.InReplyToUserIDStr, Handle: t.InReplyToScreenName}
	}

	text, entities := t.Text, t.ExtendedEntities
	if t.FullText != "" {
		text = t.FullText
	}
	if et := t.ExtendedTweet; et != nil {
		if et.FullText != "" {
			text = et.FullText
		}
		if et.ExtendedEntities != nil {
			entities = et.ExtendedEntities
		}
	}
	// v1.1 tweet text escapes &, < and > as HTML entities.
	ev.Text = html.UnescapeString(text)
	if entities != nil {
		for _, m := range entities.Media {
			ev.Attachments = append(ev.Attachments, xAttachment(m))
		}
	}
	// A reply to the account names it only because replies do; a tweet that
	// names it otherwise shows the account to the author's followers.
	if !ev.Echo && t.InReplyToUserIDStr != account {
		ev.Mention = t.Entities.mentions(account) || (t.ExtendedTweet != nil && t.ExtendedTweet.Entities.mentions(account))
	}
	ev.Share = !ev.Echo && t.QuotedStatus != nil && t.QuotedStatus.User.id() == account
	ev.Timestamp = unixMillis(t.TimestampMs)
	if ev.Timestamp.IsZero() {
		if ts, err := time.Parse(time.RubyDate, t.CreatedAt); err == nil {
			ev.Timestamp = ts.UTC()
		}
	}
	return ev, true
}

// xAttachment converts a media entity; for videos it picks the best MP4 variant over the poster image.
func xAttachment(m xMedia) Attachment {
	att := Attachment{Type: attachmentType(m.Type), URL: m.MediaURLHTTPS, MediaID: m.IDStr}
	if m.VideoInfo != nil {
		best := flexInt(-1)
		for _, v := range m.VideoInfo.Variants {
			if v.ContentType == "video/mp4" && v.URL != "" && v.Bitrate > best {
				best, att.URL, att.MimeType = v.Bitrate, v.URL, v.ContentType
			}
		}
	}
	return att
}

// xDMEvent converts a direct message event; only message_create carries a message.
func xDMEvent(account string, users map[string]xUser, dm xDM) (Event, bool) {
	mc := dm.MessageCreate
	if dm.Type != "message_create" || mc == nil || dm.ID == "" {
		return Event{}, false
	}
	sender, recipient := string(mc.SenderID), string(mc.Target.RecipientID)
	echo := sender != "" && sender == account
	customer := sender
	if echo {
		customer = recipient
	}
	if customer == "" {
		return Event{}, false
	}
	identity := func(id string) Identity {
		u := users[id]
		return Identity{Platform: X, UserID: id, Handle: u.ScreenName, Name: u.Name}
	}
	ev := Event{
		Platform:   X,
		AccountID:  account,
		Action:     ActionMessage,
		Kind:       KindDM,
		Echo:       echo,
		ExternalID: dm.ID,
		ThreadKey:  customer,
		Author:     identity(sender),
		Customer:   identity(customer),
		Text:       mc.MessageData.Text,
		Timestamp:  unixMillis(dm.CreatedTimestamp),
		DedupeKey:  dedupeKey(X, account, ActionMessage, dm.ID),
	}
	if a := mc.MessageData.Attachment; a != nil && a.Media != nil {
		ev.Attachments = []Attachment{xAttachment(*a.Media)}
		// The text ends with the t.co link standing for the media.
		if a.Media.URL != "" {
			ev.Text = strings.TrimSpace(strings.TrimSuffix(ev.Text, a.Media.URL))
		}
	}
	return ev, true
}
