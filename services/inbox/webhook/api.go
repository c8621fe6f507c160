package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// APIMessage is one message in our generic channel format, for sources
// without a platform parser (a shop's chat widget, an email bridge, ...).
// A body is either one APIMessage or {"messages": [APIMessage, ...]}.
// Unknown members are rejected so that client typos fail loudly.
//
//	{
//	  "id": "m-1",                     // required, unique within the channel
//	  "action": "message",             // message (default) | edit | delete
//	  "kind": "dm",                    // dm (default) | comment
//	  "thread_id": "t-1",              // comments: required unless post.id is set; DMs: defaults to the customer id
//	  "parent_id": "", "reply_to": "",
//	  "echo": false,                   // true when written by the business
//	  "post": {"id": "", "text": "", "permalink": "", "type": ""},
//	  "author": {"id": "u-1", "handle": "", "name": ""},   // author.id required
//	  "customer": {"id": "", ...},     // defaults to author unless echo
//	  "text": "hi",                    // text or attachments required, except for delete
//	  "attachments": [{"type": "image", "url": "", "mime_type": "", "media_id": "", "sha256": "", "name": ""}],
//	  "timestamp": "2024-05-01T10:00:00Z"   // RFC 3339, optional
//	}
type APIMessage struct {
	ID          string          `json:"id"`
	Action      Action          `json:"action,omitempty"`
	Kind        Kind            `json:"kind,omitempty"`
	ThreadID    string          `json:"thread_id,omitempty"`
	ParentID    string          `json:"parent_id,omitempty"`
	ReplyTo     string          `json:"reply_to,omitempty"`
	Echo        bool            `json:"echo,omitempty"`
	Post        *APIPost        `json:"post,omitempty"`
	Author      APIIdentity     `json:"author"`
	Customer    *APIIdentity    `json:"customer,omitempty"`
	Text        string          `json:"text,omitempty"`
	Attachments []APIAttachment `json:"attachments,omitempty"`
	Timestamp   *time.Time      `json:"timestamp,omitempty"`
}

// APIIdentity is a user in the generic format.
type APIIdentity struct {
	ID     string `json:"id"`
	Handle string `json:"handle,omitempty"`
	Name   string `json:"name,omitempty"`
}

// APIPost is the post a comment in the generic format belongs to.
type APIPost struct {
	ID        string `json:"id"`
	Text      string `json:"text,omitempty"`
	Permalink string `json:"permalink,omitempty"`
	Type      string `json:"type,omitempty"`
}

// APIAttachment is an attachment in the generic format; type and one of url or media_id are required.
type APIAttachment struct {
	Type     string `json:"type"`
	URL      string `json:"url,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	MediaID  string `json:"media_id,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Name     string `json:"name,omitempty"`
}

// ParseAPI parses and validates a body in the generic channel format (see
// APIMessage). Any invalid message rejects the whole body with an error
// wrapping ErrMalformed that names the message index and the field.
func ParseAPI(body []byte) ([]Event, error) {
	var top map[string]json.RawMessage
	if err := decodeObject("api", body, &top); err != nil {
		return nil, err
	}
	var msgs []APIMessage
	if _, batch := top["messages"]; batch {
		var env struct {
			Messages []APIMessage `json:"messages"`
		}
		if err := decodeStrict(body, &env); err != nil {
			return nil, fmt.Errorf("%w: api: %w", ErrMalformed, err)
		}
		msgs = env.Messages
	} else {
		var m APIMessage
		if err := decodeStrict(body, &m); err != nil {
			return nil, fmt.Errorf("%w: api: %w", ErrMalformed, err)
		}
		msgs = []APIMessage{m}
	}
	events := make([]Event, 0, len(msgs))
	for i, m := range msgs {
		ev, err := apiEvent(m)
		if err != nil {
			return nil, fmt.Errorf("%w: api: messages[%d]: %w", ErrMalformed, i, err)
		}
		events = append(events, ev)
	}
	return events, nil
}

// decodeStrict decodes exactly one JSON value, rejecting unknown members.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func apiEvent(m APIMessage) (Event, error) {
	if m.ID == "" {
		return Event{}, errors.New("id is required")
	}
	if m.Author.ID == "" {
		return Event{}, errors.New("author.id is required")
	}
	action := m.Action
	switch action {
	case "":
		action = ActionMessage
	case ActionMessage, ActionEdit, ActionDelete:
	default:
		return Event{}, fmt.Errorf("action %q: want message, edit or delete", m.Action)
	}
	kind := m.Kind
	switch kind {
	case "":
		kind = KindDM
	case KindDM, KindComment:
	default:
		return Event{}, fmt.Errorf("kind %q: want dm or comment", m.Kind)
	}
	if action != ActionDelete && m.Text == "" && len(m.Attachments) == 0 {
		return Event{}, errors.New("text or attachments is required")
	}
	author := Identity{Platform: API, UserID: m.Author.ID, Handle: m.Author.Handle, Name: m.Author.Name}
	var customer Identity
	switch {
	case m.Customer != nil:
		if m.Customer.ID == "" {
			return Event{}, errors.New("customer.id is required when customer is given")
		}
		customer = Identity{Platform: API, UserID: m.Customer.ID, Handle: m.Customer.Handle, Name: m.Customer.Name}
	case !m.Echo:
		customer = author
	}
	ev := Event{
		Platform:   API,
		Action:     action,
		Kind:       kind,
		Echo:       m.Echo,
		ExternalID: m.ID,
		ThreadKey:  m.ThreadID,
		Author:     author,
		Customer:   customer,
		Text:       m.Text,
	}
	if m.Post != nil {
		if m.Post.ID == "" {
			return Event{}, errors.New("post.id is required when post is given")
		}
		ev.Post = &Post{ID: m.Post.ID, Text: m.Post.Text, Permalink: m.Post.Permalink, Type: m.Post.Type}
	}
	if kind == KindComment {
		if ev.ThreadKey == "" && ev.Post != nil {
			ev.ThreadKey = ev.Post.ID
		}
		if ev.ThreadKey == "" {
			return Event{}, errors.New("thread_id or post.id is required for comments")
		}
		ev.ParentID = m.ParentID
		if m.ReplyTo != "" {
			return Event{}, errors.New("reply_to is for DMs; comments use parent_id")
		}
	} else {
		if ev.ThreadKey == "" {
			ev.ThreadKey = customer.UserID
		}
		if ev.ThreadKey == "" {
			return Event{}, errors.New("thread_id or customer.id is required for echo DMs")
		}
		ev.ReplyTo = m.ReplyTo
		if m.ParentID != "" {
			return Event{}, errors.New("parent_id is for comments; DMs use reply_to")
		}
	}
	for i, a := range m.Attachments {
		if a.Type == "" {
			return Event{}, fmt.Errorf("attachments[%d].type is required", i)
		}
		if a.URL == "" && a.MediaID == "" {
			return Event{}, fmt.Errorf("attachments[%d]: url or media_id is required", i)
		}
		ev.Attachments = append(ev.Attachments, Attachment{
			Type: attachmentType(a.Type), URL: a.URL, MimeType: a.MimeType, MediaID: a.MediaID, SHA256: a.SHA256, Name: a.Name,
		})
	}
	if m.Timestamp != nil {
		ev.Timestamp = m.Timestamp.UTC()
	}
	ev.DedupeKey = lifecycleKey(API, "", action, m.ID, ev.Timestamp, ev.Text)
	return ev, nil
}
