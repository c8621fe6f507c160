// Package channel holds the platform accounts a workspace connects to its
// inbox: their settings and secrets, validation per platform, where each one's
// webhooks arrive, and fast lookups for the webhook path.
package channel

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
)

// Type is the platform of a channel.
type Type string

// Channel types.
const (
	Facebook  Type = "facebook"
	Instagram Type = "instagram"
	WhatsApp  Type = "whatsapp"
	X         Type = "x"
	Telegram  Type = "telegram"
	YouTube   Type = "youtube"
	API       Type = "api"
)

// Types lists every channel type.
var Types = []Type{Facebook, Instagram, WhatsApp, X, Telegram, YouTube, API}

// IsMeta reports whether channels of t receive Meta's app-level webhook.
func (t Type) IsMeta() bool { return t == Facebook || t == Instagram || t == WhatsApp }

// Config is a channel's non-secret settings; which fields apply depends on the type.
type Config struct {
	PageID        string   // facebook
	AccountID     string   // instagram
	PhoneNumberID string   // whatsapp
	UserID        string   // x
	ChannelID     string   // youtube
	VideoIDs      []string // youtube: poll these videos instead of the whole channel
	VerifyToken   string   // meta types: echoed in the subscription handshake; stored encrypted like Secrets
}

// Secrets are a channel's credentials, in plain text: the store encrypts
// them at rest. They are never shown again after creation; WebhookSecret is
// generated for API channels and shown once.
type Secrets struct {
	AppSecret      string // meta types: signs webhooks
	AccessToken    string // meta types and x: calls the platform API
	ConsumerSecret string // x: signs webhooks and CRC answers
	BotToken       string // telegram
	SecretToken    string // telegram: sent back in X-Telegram-Bot-Api-Secret-Token
	APIKey         string // youtube
	WebhookSecret  string // api: signs posts to the channel's webhook URL
}

// Channel is one connected platform account.
type Channel struct {
	ID          string
	WorkspaceID string
	Type        Type
	Name        string
	Config      Config
	Secrets     Secrets
	// Route is the platform identity the channel owns, unique across all
	// workspaces: webhooks for it can only be routed to one channel.
	Route     string
	CreatedAt time.Time
}

// Settings is the "config" object of a create request: every key any type takes.
type Settings struct {
	PageID, AccountID, PhoneNumberID, UserID, ChannelID string
	VideoIDs                                            []string
	AppSecret, VerifyToken, AccessToken                 string
	ConsumerSecret, BotToken, SecretToken, APIKey       string
}

// NewChannel is what an admin submits to connect a channel.
type NewChannel struct {
	Type     Type
	Name     string
	Settings Settings
}

// WebhookPath is where the platform delivers the channel's webhooks, or ""
// for YouTube, which is polled. Meta sends one callback per app for all its
// pages, Instagram accounts and phone numbers, so they share one path.
func (c Channel) WebhookPath() string {
	switch {
	case c.Type.IsMeta():
		return "/webhooks/meta"
	case c.Type == X, c.Type == Telegram, c.Type == API:
		return "/webhooks/" + string(c.Type) + "/" + c.ID
	}
	return ""
}

// RouteFor is the route of a platform account: type and platform id.
func RouteFor(t Type, platformID string) string { return string(t) + ":" + platformID }

var (
	digits        = regexp.MustCompile(`^[0-9]{1,32}$`)
	botToken      = regexp.MustCompile(`^([0-9]{1,20}):[A-Za-z0-9_-]{30,100}$`)
	secretToken   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	ytChannelID   = regexp.MustCompile(`^UC[A-Za-z0-9_-]{22}$`)
	ytVideoID     = regexp.MustCompile(`^[A-Za-z0-9_-]{11}$`)
	printableNoWS = regexp.MustCompile(`^[\x21-\x7e]{1,512}$`)
)

// field is one config key of a request, for validation.
type field struct {
	name  string
	value string
}

// build validates nc and returns the channel it describes (without id and workspace).
func build(nc NewChannel) (Channel, error) {
	name := strings.TrimSpace(nc.Name)
	if name == "" || len([]rune(name)) > 100 {
		return Channel{}, apperr.Invalid("name is required (at most 100 characters)")
	}
	s := nc.Settings
	all := []field{
		{"page_id", s.PageID}, {"account_id", s.AccountID}, {"phone_number_id", s.PhoneNumberID},
		{"user_id", s.UserID}, {"channel_id", s.ChannelID}, {"app_secret", s.AppSecret},
		{"verify_token", s.VerifyToken}, {"access_token", s.AccessToken}, {"consumer_secret", s.ConsumerSecret},
		{"bot_token", s.BotToken}, {"secret_token", s.SecretToken}, {"api_key", s.APIKey},
	}
	var required, optional []string
	meta := []string{"app_secret", "verify_token", "access_token"}
	switch nc.Type {
	case Facebook:
		required = append([]string{"page_id"}, meta...)
	case Instagram:
		required = append([]string{"account_id"}, meta...)
	case WhatsApp:
		required = append([]string{"phone_number_id"}, meta...)
	case X:
		required = []string{"user_id", "consumer_secret", "access_token"}
	case Telegram:
		required, optional = []string{"bot_token"}, []string{"secret_token"}
	case YouTube:
		required = []string{"channel_id", "api_key"}
	case API:
	default:
		return Channel{}, apperr.Invalid("type must be one of facebook, instagram, whatsapp, x, telegram, youtube, api")
	}
	allowed := map[string]bool{}
	for _, f := range append(required, optional...) {
		allowed[f] = true
	}
	for _, f := range all {
		if f.value != "" && !allowed[f.name] {
			return Channel{}, apperr.Invalid("config.%s does not apply to %s channels", f.name, nc.Type)
		}
	}
	if len(s.VideoIDs) > 0 && nc.Type != YouTube {
		return Channel{}, apperr.Invalid("config.video_ids does not apply to %s channels", nc.Type)
	}
	values := map[string]string{}
	for _, f := range all {
		values[f.name] = strings.TrimSpace(f.value)
	}
	for _, f := range required {
		if values[f] == "" {
			return Channel{}, apperr.Invalid("config.%s is required for %s channels", f, nc.Type)
		}
	}
	for _, f := range []string{"app_secret", "verify_token", "access_token", "consumer_secret", "api_key"} {
		if v := values[f]; v != "" && !printableNoWS.MatchString(v) {
			return Channel{}, apperr.Invalid("config.%s must be 1 to 512 printable characters without spaces", f)
		}
	}
	ch := Channel{Type: nc.Type, Name: name}
	switch nc.Type {
	case Facebook, Instagram, WhatsApp, X:
		key := map[Type]string{Facebook: "page_id", Instagram: "account_id", WhatsApp: "phone_number_id", X: "user_id"}[nc.Type]
		id := values[key]
		if !digits.MatchString(id) {
			return Channel{}, apperr.Invalid("config.%s must be the numeric platform id", key)
		}
		ch.Route = RouteFor(nc.Type, id)
		ch.Config = Config{PageID: values["page_id"], AccountID: values["account_id"], PhoneNumberID: values["phone_number_id"],
			UserID: values["user_id"], VerifyToken: values["verify_token"]}
		ch.Secrets = Secrets{AppSecret: values["app_secret"], AccessToken: values["access_token"], ConsumerSecret: values["consumer_secret"]}
	case Telegram:
		m := botToken.FindStringSubmatch(values["bot_token"])
		if m == nil {
			return Channel{}, apperr.Invalid("config.bot_token must look like 123456:ABC... as given by BotFather")
		}
		if st := values["secret_token"]; st != "" && !secretToken.MatchString(st) {
			return Channel{}, apperr.Invalid("config.secret_token must be 1 to 256 characters A-Z, a-z, 0-9, _ and -")
		}
		// A bot has one webhook, so it can serve one channel.
		ch.Route = RouteFor(Telegram, m[1])
		ch.Secrets = Secrets{BotToken: values["bot_token"], SecretToken: values["secret_token"]}
	case YouTube:
		if !ytChannelID.MatchString(values["channel_id"]) {
			return Channel{}, apperr.Invalid("config.channel_id must be a YouTube channel id (UC followed by 22 characters)")
		}
		if len(s.VideoIDs) > 50 {
			return Channel{}, apperr.Invalid("config.video_ids takes at most 50 videos")
		}
		for i, v := range s.VideoIDs {
			if !ytVideoID.MatchString(v) {
				return Channel{}, apperr.Invalid("config.video_ids[%d] is not a YouTube video id", i)
			}
		}
		ch.Route = RouteFor(YouTube, values["channel_id"])
		ch.Config = Config{ChannelID: values["channel_id"], VideoIDs: append([]string(nil), s.VideoIDs...)}
		ch.Secrets = Secrets{APIKey: values["api_key"]}
	case API:
		ch.Secrets = Secrets{WebhookSecret: "whsec_" + auth.RandomID()}
	}
	return ch, nil
}

// Storer is what the channel service needs from storage. Get, List and Delete
// are scoped to a workspace: another workspace's id is not found.
type Storer interface {
	Create(ctx context.Context, ch Channel) error // apperr conflict when the route is taken
	Get(ctx context.Context, workspaceID, id string) (Channel, error)
	List(ctx context.Context, workspaceID string) ([]Channel, error)
	Delete(ctx context.Context, workspaceID, id string) error
	ByIDs(ctx context.Context, ids []string) ([]Channel, error)
	ByRoutes(ctx context.Context, routes []string) ([]Channel, error)
	ByVerifyToken(ctx context.Context, token string) ([]Channel, error)
	ByType(ctx context.Context, t Type) ([]Channel, error)
}
