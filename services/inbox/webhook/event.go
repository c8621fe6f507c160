// Package webhook turns raw platform webhook and API bodies into normalized
// inbox events and verifies the platforms' request signatures.
//
// It is pure: no HTTP, no storage, no clock. The HTTP layer reads the raw
// body, finds the channel (RoutingIDs for Meta), verifies the signature over
// the raw bytes, then calls the matching Parse function and hands the events
// to storage, which dedupes on (channel, DedupeKey) and upserts messages on
// (channel, ExternalID).
package webhook

import (
	"errors"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// Platform names the network an event came from.
type Platform string

// Platforms the package parses.
const (
	Facebook  Platform = "facebook"
	Instagram Platform = "instagram"
	WhatsApp  Platform = "whatsapp"
	X         Platform = "x"
	YouTube   Platform = "youtube"
	Telegram  Platform = "telegram"
	API       Platform = "api"
)

// Kind says whether an event belongs to a public comment thread or a private conversation.
type Kind string

// Kinds of conversation.
const (
	KindComment Kind = "comment"
	KindDM      Kind = "dm"
)

// Action says what happened to the message or comment named by Event.ExternalID.
type Action string

// Actions a platform can report.
const (
	ActionMessage  Action = "message"  // a new comment or DM
	ActionEdit     Action = "edit"     // new text for an existing one
	ActionDelete   Action = "delete"   // removed, or unsent by its author
	ActionHide     Action = "hide"     // hidden by the page
	ActionUnhide   Action = "unhide"   // shown again
	ActionReaction Action = "reaction" // an emoji reaction set or removed on ExternalID
	ActionStatus   Action = "status"   // delivery status of an outbound message
)

// Attachment types shared by all platforms; platform-specific kinds
// (story_mention, share, template, ...) pass through as the platform names them.
const (
	AttachmentImage    = "image"
	AttachmentVideo    = "video"
	AttachmentAudio    = "audio"
	AttachmentFile     = "file"
	AttachmentSticker  = "sticker"
	AttachmentLocation = "location" // URL is a geo: URI (RFC 5870)
	// AttachmentStoryMention is Instagram's own type for a story that tags
	// the account; the event is a Mention.
	AttachmentStoryMention = "story_mention"
)

// Status states reported for outbound messages.
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusFailed    = "failed"
)

// ErrBadSignature is returned when a request signature or secret is missing or wrong; the HTTP layer answers 401.
var ErrBadSignature = errors.New("webhook: bad signature")

// ErrMalformed is returned (wrapping the cause) when a body cannot be parsed or fails validation; the HTTP layer answers 400.
var ErrMalformed = errors.New("webhook: malformed payload")

// Identity is a user or account on a platform.
type Identity struct {
	Platform Platform
	UserID   string // platform user id (PSID, IGSID, wa_id, channel id, ...)
	Handle   string // @-name without the @, when the platform has one
	Name     string // display name
}

// Attachment is a media item or location sent with a message.
type Attachment struct {
	Type     string // one of the Attachment* constants or the platform's own type
	URL      string // direct URL when the platform gives one (often short-lived)
	MimeType string
	MediaID  string // platform media id to download with (WhatsApp media id, Telegram file_id, ...)
	SHA256   string
	Name     string // file name or title, when the platform gives one
}

// Post is the post, media, video or group a comment was written on.
type Post struct {
	ID        string
	Text      string
	Permalink string
	Type      string // platform's post type (added_photos, FEED, REELS, video, supergroup, ...)
}

// Reaction is an emoji reaction set on or removed from a message.
type Reaction struct {
	TargetID string
	Emoji    string // may be a name ("love") when the platform sends no emoji
	Removed  bool
}

// Status is the delivery state of an outbound message.
type Status struct {
	State        string // sent | delivered | read | failed, or the platform's own word
	ErrorCode    string
	ErrorMessage string
	RecipientID  string
}

// Event is one normalized thing that happened on a platform.
//
// Storage contract: DedupeKey identifies this delivery (retries of the same
// platform event map to the same key, an edit gets a key of its own); it is
// unique within a channel, so store it per channel. ExternalID is the id of
// the message or comment the event is about and is the same for its create,
// edit, delete, hide and unhide. Events without a known thread (some deletes,
// reactions, statuses) have an empty ThreadKey: find them by ExternalID.
type Event struct {
	Platform    Platform
	AccountID   string // our channel on the platform: FB page id, IG account id, WA phone_number_id, X for_user_id, YouTube channel id; "" for Telegram and API, routed by URL
	Action      Action
	Kind        Kind
	Echo        bool   // written by the business itself (in another app or through our own API)
	ExternalID  string // platform id of the message or comment; for reaction and status: of the target message
	ThreadKey   string // DMs: the customer's platform user id; comments: the post id
	ParentID    string // comments: the parent comment when it is a reply, never the post id
	ReplyTo     string // DMs: the message replied to
	Post        *Post
	Author      Identity // who wrote it (for echoes: the business)
	Customer    Identity // the non-business party of the thread; empty when the payload does not say
	Text        string
	Attachments []Attachment
	Reaction    *Reaction
	Status      *Status
	Timestamp   time.Time // platform time in UTC; zero when the platform sent none
	DedupeKey   string
	// Mention is set on a new message in which the author mentions our
	// account to their own audience: an Instagram story mention, a tweet
	// naming the account that is not a reply to it.
	Mention bool
	// Share is set on a new message that shares our account's post with the
	// author's audience: a quote of the account's tweet.
	Share bool
}

// keyEscaper keeps DedupeKey parts unambiguous: ids such as Messenger mids contain colons.
var keyEscaper = strings.NewReplacer("%", "%25", ":", "%3A")

// dedupeKey builds "platform:account:action:part[:part...]" with each part escaped.
func dedupeKey(p Platform, account string, a Action, parts ...string) string {
	var b strings.Builder
	b.WriteString(string(p))
	b.WriteByte(':')
	b.WriteString(keyEscaper.Replace(account))
	b.WriteByte(':')
	b.WriteString(string(a))
	for _, part := range parts {
		b.WriteByte(':')
		b.WriteString(keyEscaper.Replace(part))
	}
	return b.String()
}

// version tells two edits of one message apart. The text hash keeps edits
// distinct when a platform sends no edit time; a retried delivery carries the
// same time and text and so gets the same version.
func version(ts time.Time, text string) string {
	h := fnv.New32a()
	h.Write([]byte(text))
	ms := int64(0)
	if !ts.IsZero() {
		ms = ts.UnixMilli()
	}
	return strconv.FormatInt(ms, 10) + "." + strconv.FormatUint(uint64(h.Sum32()), 16)
}

// attachmentType maps platform media type names onto the shared Attachment* names.
func attachmentType(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	switch t {
	case "image", "photo":
		return AttachmentImage
	case "video", "animated_gif", "animation", "video_note":
		return AttachmentVideo
	case "audio", "voice":
		return AttachmentAudio
	case "file", "document":
		return AttachmentFile
	case "sticker":
		return AttachmentSticker
	case "location":
		return AttachmentLocation
	}
	return t
}

// geoURI formats a location as an RFC 5870 geo URI.
func geoURI(lat, lng float64) string {
	return "geo:" + strconv.FormatFloat(lat, 'f', -1, 64) + "," + strconv.FormatFloat(lng, 'f', -1, 64)
}
