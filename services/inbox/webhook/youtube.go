package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"strings"
)

type ytResponse struct {
	NextPageToken string     `json:"nextPageToken"`
	Items         []ytThread `json:"items"`
	Error         *struct {
		Code    flexInt `json:"code"`
		Message string  `json:"message"`
	} `json:"error"`
}

type ytThread struct {
	Snippet struct {
		ChannelID       string    `json:"channelId"`
		VideoID         string    `json:"videoId"`
		TopLevelComment ytComment `json:"topLevelComment"`
	} `json:"snippet"`
	Replies *struct {
		Comments []ytComment `json:"comments"`
	} `json:"replies"`
}

type ytComment struct {
	ID      string `json:"id"`
	Snippet struct {
		ChannelID         string       `json:"channelId"`
		VideoID           string       `json:"videoId"`
		ParentID          string       `json:"parentId"`
		TextDisplay       string       `json:"textDisplay"`
		TextOriginal      string       `json:"textOriginal"`
		AuthorDisplayName string       `json:"authorDisplayName"`
		AuthorChannelID   ytChannelRef `json:"authorChannelId"`
		PublishedAt       string       `json:"publishedAt"`
		UpdatedAt         string       `json:"updatedAt"`
	} `json:"snippet"`
}

// ytChannelRef is authorChannelId: {"value": "UC..."} in v3 responses, a bare string in some older ones.
type ytChannelRef string

// UnmarshalJSON accepts {"value": "..."}, a string or null.
func (r *ytChannelRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		*r = ytChannelRef(s)
		return err
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = ytChannelRef(v.Value)
	return nil
}

// ParseYouTubeCommentThreads parses a commentThreads.list response (part
// snippet,replies) into comment events, top-level comments first, each
// followed by its returned replies, and returns the page token for the next
// poll. AccountID is the thread's channelId (empty in responses that omit
// it); ThreadKey is the video id, or the channel id for channel comments.
//
// YouTube has no comment webhook, so the same comments come back on every
// poll: each comment gives a message event whose DedupeKey depends only on
// its id, and a comment whose updatedAt is later than publishedAt also gives
// an edit event keyed by updatedAt, so re-polls of an unchanged comment map
// to the same keys and a new edit to a new one.
func ParseYouTubeCommentThreads(body []byte) (events []Event, nextPageToken string, err error) {
	var r ytResponse
	if err := decodeObject("youtube", body, &r); err != nil {
		return nil, "", err
	}
	if r.Error != nil {
		return nil, "", fmt.Errorf("webhook: youtube api error %d: %s", int64(r.Error.Code), r.Error.Message)
	}
	for _, t := range r.Items {
		account := t.Snippet.ChannelID
		top := t.Snippet.TopLevelComment
		if account == "" {
			account = top.Snippet.ChannelID
		}
		topAuthor := ytAuthor(top)
		events = append(events, ytCommentEvents(account, t.Snippet.VideoID, top, "", Identity{})...)
		if t.Replies == nil {
			continue
		}
		for _, c := range t.Replies.Comments {
			parent := c.Snippet.ParentID
			if parent == "" {
				parent = top.ID
			}
			// An echo reply is the channel answering the top-level author.
			var answered Identity
			if topAuthor.UserID != account {
				answered = topAuthor
			}
			events = append(events, ytCommentEvents(account, t.Snippet.VideoID, c, parent, answered)...)
		}
	}
	return events, r.NextPageToken, nil
}

func ytAuthor(c ytComment) Identity {
	id := Identity{Platform: YouTube, UserID: string(c.Snippet.AuthorChannelID), Name: c.Snippet.AuthorDisplayName}
	if h, ok := strings.CutPrefix(c.Snippet.AuthorDisplayName, "@"); ok {
		id.Handle = h
	}
	return id
}

// ytCommentEvents converts one comment; answered is the customer of an echo reply.
func ytCommentEvents(account, threadVideo string, c ytComment, parent string, answered Identity) []Event {
	if c.ID == "" {
		return nil
	}
	video := c.Snippet.VideoID
	if video == "" {
		video = threadVideo
	}
	post := &Post{ID: video, Type: "video"}
	if video == "" {
		post = &Post{ID: account, Type: "channel"}
	}
	if post.ID == "" {
		return nil
	}
	if parent == post.ID || parent == c.ID {
		// A reply to the post itself, or to itself, is a top-level comment:
		// the reply tree must never loop back to its root.
		parent = ""
	}
	author := ytAuthor(c)
	text := c.Snippet.TextOriginal
	if text == "" {
		text = plainText(c.Snippet.TextDisplay)
	}
	ev := Event{
		Platform:   YouTube,
		AccountID:  account,
		Action:     ActionMessage,
		Kind:       KindComment,
		Echo:       author.UserID != "" && author.UserID == account,
		ExternalID: c.ID,
		ThreadKey:  post.ID,
		ParentID:   parent,
		Post:       post,
		Author:     author,
		Customer:   author,
		Text:       text,
		Timestamp:  parseRFC3339(c.Snippet.PublishedAt),
		DedupeKey:  dedupeKey(YouTube, account, ActionMessage, c.ID),
	}
	if ev.Echo {
		ev.Customer = answered
	}
	events := []Event{ev}
	if updated := parseRFC3339(c.Snippet.UpdatedAt); !ev.Timestamp.IsZero() && updated.After(ev.Timestamp) {
		edit := ev
		edit.Action = ActionEdit
		edit.Timestamp = updated
		edit.DedupeKey = lifecycleKey(YouTube, account, ActionEdit, c.ID, updated, text)
		events = append(events, edit)
	}
	return events
}

// plainText turns textDisplay HTML into text: line breaks kept, tags dropped,
// entities decoded. textDisplay is what YouTube returns when textOriginal is
// withheld (it is only given to the comment's author and channel owner).
func plainText(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			b.WriteString(s[i:]) // a lone "<" is text
			break
		}
		tag := strings.ToLower(strings.TrimSpace(strings.Trim(s[i+1:i+j], "/ ")))
		if tag == "br" {
			b.WriteByte('\n')
		}
		s = s[i+j+1:]
	}
	return html.UnescapeString(b.String())
}
