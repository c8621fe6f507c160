// Package connector sends agents' replies to the social networks: one Sender
// per platform behind one small interface, error classification that tells a
// retry from a give-up, a Dispatcher that retries safely, and the messaging
// window rules (CheckWindow) the platforms enforce.
//
// Ids follow the webhook package's conventions, so an inbound event's ids can
// be used as they are: Outbound.Recipient is the DM thread key (PSID, IGSID,
// wa_id, X user id, Telegram chat id) and Outbound.ReplyTo the ExternalID of
// the comment or message answered (Telegram: "<chat id>:<message id>").
package connector

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Platform names a network; the values match the webhook package's.
type Platform string

// Platforms with a connector.
const (
	Facebook  Platform = "facebook"
	Instagram Platform = "instagram"
	WhatsApp  Platform = "whatsapp"
	X         Platform = "x"
	YouTube   Platform = "youtube"
	Telegram  Platform = "telegram"
)

// Kind says what sort of message is sent.
type Kind string

// Kinds of outbound message.
const (
	KindComment      Kind = "comment"       // a public reply in a comment thread (tweet reply, Telegram group message)
	KindDM           Kind = "dm"            // a private message in an existing conversation
	KindPrivateReply Kind = "private_reply" // Facebook/Instagram: a DM that answers a public comment (once per comment, within 7 days)
)

// Tags a Messenger or Instagram DM can carry outside the 24-hour window.
const (
	TagHumanAgent = "HUMAN_AGENT"
)

// Default API locations; tests and proxies override them through Config.BaseURL.
const (
	DefaultGraphURL     = "https://graph.facebook.com"
	DefaultGraphVersion = "v25.0"
	DefaultXURL         = "https://api.x.com"
	DefaultYouTubeURL   = "https://www.googleapis.com"
	DefaultTelegramURL  = "https://api.telegram.org"
)

// maxResponseBytes bounds what is read from a platform answer: replies to a
// send are a few hundred bytes, anything bigger is not worth parsing.
const maxResponseBytes = 1 << 20

// Credentials is what a channel stores to act on the platform.
type Credentials struct {
	// AccessToken authenticates every call except Telegram's: Page access
	// token (Facebook, Instagram via Facebook Login), Instagram user token,
	// WhatsApp system user token, X OAuth 2.0 user token, YouTube OAuth token.
	AccessToken string
	// AccountID is our account on the platform: Facebook Page id, Instagram
	// account id ("me" when empty), WhatsApp phone number id. X and YouTube
	// do not need it.
	AccountID string
	// BotToken is the Telegram bot token; it travels in the URL path.
	BotToken string
}

// Outbound is one message to send.
type Outbound struct {
	Platform    Platform
	Kind        Kind
	Credentials Credentials
	// Recipient is the customer's platform id for DMs (the webhook ThreadKey):
	// PSID, IGSID, wa_id, X user id, Telegram chat id.
	Recipient string
	// ReplyTo is the ExternalID of the comment or message replied to. It is
	// required for comments and private replies and optional for DMs
	// (WhatsApp quotes it, Telegram replies to it). YouTube only threads
	// replies under top-level comments: pass the top-level comment id.
	ReplyTo string
	Text    string
	// IdempotencyKey names this send for the Dispatcher's ledger; it is also
	// sent where the platform echoes it back in webhooks (Messenger message
	// metadata, WhatsApp biz_opaque_callback_data) so an ambiguous send can be
	// reconciled.
	IdempotencyKey string
	// Tag is a Messenger/Instagram message tag, TagHumanAgent when CheckWindow
	// says so.
	Tag string
}

// Result is what the platform answered to a successful send.
type Result struct {
	// ExternalID is the platform id of the new message or comment, in the
	// webhook package's format, so the echo webhook matches it.
	ExternalID string
}

// Sender posts one message to one platform and classifies failures as *Error.
type Sender interface {
	Send(ctx context.Context, out Outbound) (Result, error)
}

// Config locates a platform API.
type Config struct {
	BaseURL string       // the platform's default when empty
	Version string       // Graph API version (Facebook, Instagram, WhatsApp); DefaultGraphVersion when empty
	HTTP    *http.Client // http.DefaultClient when nil; set a Timeout
}

func (c Config) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c Config) base(def string) string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	return def
}

func (c Config) version() string {
	if c.Version != "" {
		return c.Version
	}
	return DefaultGraphVersion
}

// Router sends each Outbound with the Sender of its platform.
type Router map[Platform]Sender

// Send hands out to the Sender registered for out.Platform.
func (r Router) Send(ctx context.Context, out Outbound) (Result, error) {
	s, ok := r[out.Platform]
	if !ok {
		return Result{}, invalid(out.Platform, "no connector for platform %q", out.Platform)
	}
	return s.Send(ctx, out)
}

// Defaults returns a Router with every platform at its public API location.
func Defaults(hc *http.Client) Router {
	return Router{
		Facebook:  NewFacebook(Config{HTTP: hc}),
		Instagram: NewInstagram(Config{HTTP: hc}),
		WhatsApp:  NewWhatsApp(Config{HTTP: hc}),
		X:         NewX(Config{HTTP: hc}),
		YouTube:   NewYouTube(Config{HTTP: hc}),
		Telegram:  NewTelegram(Config{HTTP: hc}),
	}
}

// require returns a permanent error naming the first empty field.
func require(p Platform, fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if strings.TrimSpace(fields[i+1]) == "" {
			return invalid(p, "%s is required", fields[i])
		}
	}
	return nil
}

// checkText refuses empty text and text over the platform limit before any
// call, so the agent sees the reason at once instead of a platform error.
func checkText(p Platform, text string, max int, unit string) error {
	if strings.TrimSpace(text) == "" {
		return invalid(p, "text is empty")
	}
	var n int
	switch unit {
	case "bytes":
		n = len(text)
	default:
		n = len([]rune(text))
	}
	if max > 0 && n > max {
		return invalid(p, "text is %d %s long; %s allows %d", n, unit, p, max)
	}
	return nil
}

func unsupported(p Platform, k Kind) error {
	return invalid(p, "%s cannot send a %s", p, k)
}

func invalid(p Platform, format string, args ...any) *Error {
	return &Error{Platform: p, Class: Permanent, Code: CodeInvalid, Message: fmt.Sprintf(format, args...)}
}

// now is the clock used to turn Retry-After dates into durations.
var now = time.Now
