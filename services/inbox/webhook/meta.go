package webhook

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Meta webhook "object" values.
const (
	metaObjectPage      = "page"
	metaObjectInstagram = "instagram"
	metaObjectWhatsApp  = "whatsapp_business_account"
)

// metaEnvelope is the outer shape shared by every Meta webhook. Entries stay
// raw until the object is known, so unknown objects of any shape are skipped.
type metaEnvelope struct {
	Object string            `json:"object"`
	Entry  []json.RawMessage `json:"entry"`
}

type metaEntry struct {
	ID        flexID          `json:"id"`
	Time      flexInt         `json:"time"` // seconds with changes, milliseconds with messaging
	Changes   []metaChange    `json:"changes"`
	Messaging []metaMessaging `json:"messaging"`
}

type metaChange struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

type metaUser struct {
	ID       flexID `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
}

// feedValue is a page feed change; only comment items are decoded into it.
type feedValue struct {
	Item        string          `json:"item"`
	Verb        string          `json:"verb"`
	CommentID   flexID          `json:"comment_id"`
	PostID      flexID          `json:"post_id"`
	ParentID    flexID          `json:"parent_id"`
	From        *metaUser       `json:"from"`
	SenderID    flexID          `json:"sender_id"`   // Graph v2.5 shape
	SenderName  string          `json:"sender_name"` // Graph v2.5 shape
	CreatedTime flexInt         `json:"created_time"`
	Message     string          `json:"message"`
	Photo       string          `json:"photo"`
	Video       string          `json:"video"`
	Post        json.RawMessage `json:"post"`
}

type feedPost struct {
	ID           flexID `json:"id"`
	PermalinkURL string `json:"permalink_url"`
	StatusType   string `json:"status_type"`
	Message      string `json:"message"`
}

type igCommentValue struct {
	ID       flexID   `json:"id"`
	Text     string   `json:"text"`
	ParentID flexID   `json:"parent_id"`
	From     metaUser `json:"from"`
	Media    struct {
		ID               flexID `json:"id"`
		MediaProductType string `json:"media_product_type"`
	} `json:"media"`
}

// ParseMeta parses a Facebook Page, Instagram or WhatsApp Business webhook
// body. Unknown objects, fields and feed items are skipped without error;
// invalid JSON gives an error wrapping ErrMalformed. Verify the signature
// over the same raw bytes before calling it.
func ParseMeta(body []byte) ([]Event, error) {
	var env metaEnvelope
	if err := decodeObject("meta", body, &env); err != nil {
		return nil, err
	}
	var p Platform
	switch env.Object {
	case metaObjectPage:
		p = Facebook
	case metaObjectInstagram:
		p = Instagram
	case metaObjectWhatsApp:
		return parseWhatsApp(env.Entry)
	default:
		return nil, nil
	}
	var events []Event
	for i, raw := range env.Entry {
		var e metaEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%w: meta entry %d: %w", ErrMalformed, i, err)
		}
		account := string(e.ID)
		for j, c := range e.Changes {
			evs, err := metaChangeEvents(p, account, unixSeconds(e.Time), c)
			if err != nil {
				return nil, fmt.Errorf("%w: meta entry %d change %d (%s): %w", ErrMalformed, i, j, c.Field, err)
			}
			events = append(events, evs...)
		}
		for _, m := range e.Messaging {
			events = append(events, messagingEvents(p, account, unixMillis(e.Time), m, unixMillis)...)
		}
	}
	return events, nil
}

// metaChangeEvents turns one entry change into events; changes we do not handle give none.
func metaChangeEvents(p Platform, account string, entryTime time.Time, c metaChange) ([]Event, error) {
	one := func(ev *Event, err error) ([]Event, error) {
		if ev == nil || err != nil {
			return nil, err
		}
		return []Event{*ev}, nil
	}
	switch {
	case p == Facebook && c.Field == "feed":
		return one(feedCommentEvent(account, entryTime, c.Value))
	case p == Instagram && (c.Field == "comments" || c.Field == "live_comments"):
		return one(igCommentEvent(account, entryTime, c.Value))
	case p == Instagram && c.Field == "messages":
		// The dashboard's "send test" and some app setups deliver IG DMs as a
		// change whose value is a messaging item; its timestamp unit varies.
		var m metaMessaging
		if err := json.Unmarshal(c.Value, &m); err != nil {
			return nil, err
		}
		return messagingEvents(p, account, entryTime, m, unixAuto), nil
	}
	return nil, nil
}

// feedAction maps a page feed verb to an Action.
func feedAction(verb string) (Action, bool) {
	switch verb {
	case "add":
		return ActionMessage, true
	case "edited", "edit":
		return ActionEdit, true
	case "remove", "delete":
		return ActionDelete, true
	case "hide":
		return ActionHide, true
	case "unhide":
		return ActionUnhide, true
	}
	return "", false
}

// peekString reads one top-level string member of a JSON object, or "".
func peekString(raw json.RawMessage, key string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[key], &s) != nil {
		return ""
	}
	return s
}

// feedCommentEvent handles a page feed change. Non-comment items (posts,
// reactions, shares, ...) share the field but vary in shape, so the item is
// peeked before the value is decoded.
func feedCommentEvent(account string, entryTime time.Time, raw json.RawMessage) (*Event, error) {
	if peekString(raw, "item") != "comment" {
		return nil, nil
	}
	action, ok := feedAction(peekString(raw, "verb"))
	if !ok {
		return nil, nil
	}
	var v feedValue
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	commentID, postID := string(v.CommentID), string(v.PostID)
	var post feedPost
	if len(v.Post) > 0 && json.Unmarshal(v.Post, &post) == nil && postID == "" {
		postID = string(post.ID)
	}
	if commentID == "" || postID == "" {
		return nil, nil
	}

	author := Identity{Platform: Facebook, UserID: string(v.SenderID), Name: v.SenderName}
	if v.From != nil {
		author = Identity{Platform: Facebook, UserID: string(v.From.ID), Name: v.From.Name}
	}
	ev := Event{
		Platform:   Facebook,
		AccountID:  account,
		Action:     action,
		Kind:       KindComment,
		Echo:       author.UserID != "" && author.UserID == account,
		ExternalID: commentID,
		ThreadKey:  postID,
		Post:       &Post{ID: postID, Text: post.Message, Permalink: post.PermalinkURL, Type: post.StatusType},
		Author:     author,
		Text:       v.Message,
	}
	if !ev.Echo {
		ev.Customer = author
	}
	// Meta sets parent_id to the post id for top-level comments.
	if parent := string(v.ParentID); parent != postID {
		ev.ParentID = parent
	}
	if v.Photo != "" {
		ev.Attachments = append(ev.Attachments, Attachment{Type: AttachmentImage, URL: v.Photo})
	}
	if v.Video != "" {
		ev.Attachments = append(ev.Attachments, Attachment{Type: AttachmentVideo, URL: v.Video})
	}
	// created_time is when the comment was written; entry.time is when this
	// change happened, which is the time of an edit, removal or hide.
	created := unixSeconds(v.CreatedTime)
	ev.Timestamp = entryTime
	if (action == ActionMessage && !created.IsZero()) || ev.Timestamp.IsZero() {
		ev.Timestamp = created
	}
	ev.DedupeKey = lifecycleKey(Facebook, account, action, commentID, ev.Timestamp, ev.Text)
	return &ev, nil
}

// lifecycleKey is the DedupeKey for create/edit/delete/hide/unhide of one
// message: a create or delete happens once, edits and visibility changes can
// repeat and carry their time.
func lifecycleKey(p Platform, account string, a Action, id string, ts time.Time, text string) string {
	switch a {
	case ActionEdit:
		return dedupeKey(p, account, a, id, version(ts, text))
	case ActionHide, ActionUnhide:
		ms := int64(0)
		if !ts.IsZero() {
			ms = ts.UnixMilli()
		}
		return dedupeKey(p, account, a, id, strconv.FormatInt(ms, 10))
	}
	return dedupeKey(p, account, a, id)
}

// igCommentEvent handles an Instagram comments change (new comments and replies; IG sends no edits).
func igCommentEvent(account string, entryTime time.Time, raw json.RawMessage) (*Event, error) {
	var v igCommentValue
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	id, media := string(v.ID), string(v.Media.ID)
	if id == "" || media == "" {
		return nil, nil
	}
	author := Identity{Platform: Instagram, UserID: string(v.From.ID), Handle: v.From.Username}
	ev := Event{
		Platform:   Instagram,
		AccountID:  account,
		Action:     ActionMessage,
		Kind:       KindComment,
		Echo:       author.UserID != "" && author.UserID == account,
		ExternalID: id,
		ThreadKey:  media,
		ParentID:   string(v.ParentID),
		Post:       &Post{ID: media, Type: v.Media.MediaProductType},
		Author:     author,
		Text:       v.Text,
		Timestamp:  entryTime,
		DedupeKey:  dedupeKey(Instagram, account, ActionMessage, id),
	}
	if !ev.Echo {
		ev.Customer = author
	}
	return &ev, nil
}

// RoutingIDs reads which channels a Meta webhook body is for, before the body
// is trusted: the entry ids (page or Instagram account) or, for WhatsApp, each
// change's metadata.phone_number_id. The HTTP layer looks the channels up,
// verifies X-Hub-Signature-256 over the raw body with their app secret and
// must reject the body if the ids resolve to channels with different secrets.
func RoutingIDs(body []byte) (object string, ids []string, err error) {
	var env metaEnvelope
	if err := decodeObject("meta routing", body, &env); err != nil {
		return "", nil, err
	}
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for i, raw := range env.Entry {
		var e struct {
			ID      flexID `json:"id"`
			Changes []struct {
				Value json.RawMessage `json:"value"`
			} `json:"changes"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return "", nil, fmt.Errorf("%w: meta routing entry %d: %w", ErrMalformed, i, err)
		}
		if env.Object != metaObjectWhatsApp {
			add(string(e.ID))
			continue
		}
		for _, c := range e.Changes {
			var v struct {
				Metadata struct {
					PhoneNumberID flexID `json:"phone_number_id"`
				} `json:"metadata"`
			}
			if json.Unmarshal(c.Value, &v) == nil {
				add(string(v.Metadata.PhoneNumberID))
			}
		}
	}
	return env.Object, ids, nil
}
