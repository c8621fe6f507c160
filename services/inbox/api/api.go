// Package api is the inbox's HTTP transport for channels and webhooks: JSON
// models, routes and handlers. It is the only package that knows echo; the
// work happens in channel and ingest.
package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/inbox/ingest"
	"github.com/communityinbox/inbox/webhook"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/web"
	"github.com/labstack/echo/v4"
)

// Deps is what the handlers need.
type Deps struct {
	Channels         *channel.Service
	Receiver         *ingest.Receiver
	Tokens           *auth.Tokens
	PublicURL        string // absolute base of the webhook URLs we hand out
	WebhookBodyLimit int64  // bytes
}

type handlers struct{ Deps }

// Register installs the channel routes (authenticated) and the webhook routes
// (verified by each platform's own scheme) on e.
func Register(e *echo.Echo, d Deps) {
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	h := handlers{d}
	g := e.Group("/api/v1", web.Authenticate(d.Tokens))
	g.POST("/channels", h.createChannel, web.RequireRole(auth.RoleAdmin))
	g.GET("/channels", h.listChannels, web.RequireRole(auth.RoleAgent))
	g.GET("/channels/:id", h.getChannel, web.RequireRole(auth.RoleAgent))
	g.DELETE("/channels/:id", h.deleteChannel, web.RequireRole(auth.RoleAdmin))
	// Integrations (API keys) rank with managers.
	g.POST("/channels/:id/messages", h.postMessages, web.RequireRole(auth.RoleManager))

	e.GET("/webhooks/meta", h.metaChallenge)
	e.POST("/webhooks/meta", h.meta)
	e.GET("/webhooks/x/:id", h.xCRC)
	e.POST("/webhooks/x/:id", h.x)
	e.POST("/webhooks/telegram/:id", h.telegram)
	e.POST("/webhooks/api/:id", h.apiWebhook)
}

// channelConfig is the "config" object: every key any channel type takes.
// Secret keys are accepted on create and never written back.
type channelConfig struct {
	PageID         string   `json:"page_id,omitempty"`
	AccountID      string   `json:"account_id,omitempty"`
	PhoneNumberID  string   `json:"phone_number_id,omitempty"`
	UserID         string   `json:"user_id,omitempty"`
	ChannelID      string   `json:"channel_id,omitempty"`
	VideoIDs       []string `json:"video_ids,omitempty"`
	VerifyToken    string   `json:"verify_token,omitempty"`
	AppSecret      string   `json:"app_secret,omitempty"`
	AccessToken    string   `json:"access_token,omitempty"`
	ConsumerSecret string   `json:"consumer_secret,omitempty"`
	BotToken       string   `json:"bot_token,omitempty"`
	SecretToken    string   `json:"secret_token,omitempty"`
	APIKey         string   `json:"api_key,omitempty"`
}

type createChannelRequest struct {
	Type   string        `json:"type"`
	Name   string        `json:"name"`
	Config channelConfig `json:"config"`
}

// publicConfig is the non-secret part of a channel's config.
type publicConfig struct {
	PageID        string   `json:"page_id,omitempty"`
	AccountID     string   `json:"account_id,omitempty"`
	PhoneNumberID string   `json:"phone_number_id,omitempty"`
	UserID        string   `json:"user_id,omitempty"`
	ChannelID     string   `json:"channel_id,omitempty"`
	VideoIDs      []string `json:"video_ids,omitempty"`
	VerifyToken   string   `json:"verify_token,omitempty"`
}

type channelResponse struct {
	ID         string       `json:"id"`
	Type       string       `json:"type"`
	Name       string       `json:"name"`
	Config     publicConfig `json:"config"`
	Secrets    []string     `json:"secrets"` // names of the secrets set, never their values
	WebhookURL string       `json:"webhook_url,omitempty"`
	// WebhookSecret signs posts to an API channel's webhook URL; shown once, on creation.
	WebhookSecret string    `json:"webhook_secret,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

func (h handlers) toChannelResponse(ch channel.Channel) channelResponse {
	c := ch.Config
	r := channelResponse{ID: ch.ID, Type: string(ch.Type), Name: ch.Name, CreatedAt: ch.CreatedAt,
		Config: publicConfig{PageID: c.PageID, AccountID: c.AccountID, PhoneNumberID: c.PhoneNumberID,
			UserID: c.UserID, ChannelID: c.ChannelID, VideoIDs: c.VideoIDs, VerifyToken: c.VerifyToken},
		Secrets: []string{}}
	s := ch.Secrets
	for _, kv := range []struct{ k, v string }{{"app_secret", s.AppSecret}, {"access_token", s.AccessToken},
		{"consumer_secret", s.ConsumerSecret}, {"bot_token", s.BotToken}, {"secret_token", s.SecretToken},
		{"api_key", s.APIKey}, {"webhook_secret", s.WebhookSecret}} {
		if kv.v != "" {
			r.Secrets = append(r.Secrets, kv.k)
		}
	}
	if p := ch.WebhookPath(); p != "" {
		r.WebhookURL = h.PublicURL + p
	}
	return r
}

func (h handlers) createChannel(c echo.Context) error {
	var req createChannelRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	k := req.Config
	ch, err := h.Channels.Create(c.Request().Context(), web.Principal(c).WorkspaceID, channel.NewChannel{
		Type: channel.Type(req.Type), Name: req.Name, Settings: channel.Settings{
			PageID: k.PageID, AccountID: k.AccountID, PhoneNumberID: k.PhoneNumberID, UserID: k.UserID,
			ChannelID: k.ChannelID, VideoIDs: k.VideoIDs, AppSecret: k.AppSecret, VerifyToken: k.VerifyToken,
			AccessToken: k.AccessToken, ConsumerSecret: k.ConsumerSecret, BotToken: k.BotToken,
			SecretToken: k.SecretToken, APIKey: k.APIKey}})
	if err != nil {
		return err
	}
	res := h.toChannelResponse(ch)
	res.WebhookSecret = ch.Secrets.WebhookSecret
	return c.JSON(http.StatusCreated, res)
}

func (h handlers) listChannels(c echo.Context) error {
	chs, err := h.Channels.List(c.Request().Context(), web.Principal(c).WorkspaceID)
	if err != nil {
		return err
	}
	out := make([]channelResponse, len(chs))
	for i, ch := range chs {
		out[i] = h.toChannelResponse(ch)
	}
	return c.JSON(http.StatusOK, map[string]any{"channels": out})
}

func (h handlers) getChannel(c echo.Context) error {
	ch, err := h.Channels.Get(c.Request().Context(), web.Principal(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.toChannelResponse(ch))
}

func (h handlers) deleteChannel(c echo.Context) error {
	if err := h.Channels.Delete(c.Request().Context(), web.Principal(c).WorkspaceID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type acceptedResponse struct {
	Accepted int `json:"accepted"`
}

func (h handlers) postMessages(c echo.Context) error {
	body, err := web.ReadBody(c, h.WebhookBodyLimit)
	if err != nil {
		return err
	}
	n, err := h.Receiver.APIPost(c.Request().Context(), web.Principal(c).WorkspaceID, c.Param("id"), body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, acceptedResponse{Accepted: n})
}

func (h handlers) metaChallenge(c echo.Context) error {
	q := c.QueryParams()
	answer, err := h.Receiver.MetaChallenge(c.Request().Context(), q.Get("hub.mode"), q.Get("hub.verify_token"), q.Get("hub.challenge"))
	if err != nil {
		return err
	}
	return c.String(http.StatusOK, answer)
}

// received is the body of every accepted webhook; platforms only look at the status.
var received = map[string]bool{"received": true}

func (h handlers) meta(c echo.Context) error {
	body, err := web.ReadBody(c, h.WebhookBodyLimit)
	if err != nil {
		return err
	}
	if err := h.Receiver.Meta(c.Request().Context(), body, c.Request().Header.Get(webhook.HeaderMetaSignature)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, received)
}

func (h handlers) xCRC(c echo.Context) error {
	token, err := h.Receiver.XCRC(c.Request().Context(), c.Param("id"), c.QueryParam("crc_token"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"response_token": token})
}

func (h handlers) x(c echo.Context) error {
	body, err := web.ReadBody(c, h.WebhookBodyLimit)
	if err != nil {
		return err
	}
	if err := h.Receiver.X(c.Request().Context(), c.Param("id"), body, c.Request().Header.Get(webhook.HeaderXSignature)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, received)
}

func (h handlers) telegram(c echo.Context) error {
	body, err := web.ReadBody(c, h.WebhookBodyLimit)
	if err != nil {
		return err
	}
	if err := h.Receiver.Telegram(c.Request().Context(), c.Param("id"), body, c.Request().Header.Get(webhook.HeaderTelegramSecret)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, received)
}

// HeaderAPISignature carries the signature of posts to an API channel's webhook URL.
const HeaderAPISignature = "X-Inbox-Signature-256"

func (h handlers) apiWebhook(c echo.Context) error {
	body, err := web.ReadBody(c, h.WebhookBodyLimit)
	if err != nil {
		return err
	}
	n, err := h.Receiver.APIWebhook(c.Request().Context(), c.Param("id"), body, c.Request().Header.Get(HeaderAPISignature))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, acceptedResponse{Accepted: n})
}
