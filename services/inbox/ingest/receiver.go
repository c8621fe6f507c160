package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/inbox/webhook"
	"github.com/communityinbox/shared/apperr"
)

// ChannelFinder looks channels up for the webhook path.
type ChannelFinder interface {
	ByID(ctx context.Context, id string) (channel.Channel, error)
	ByRoutes(ctx context.Context, routes []string) (map[string]channel.Channel, error)
	ByVerifyToken(ctx context.Context, token string) ([]channel.Channel, error)
}

// Enqueuer stores a delivery durably.
type Enqueuer interface {
	Enqueue(ctx context.Context, d Delivery) error
}

// Receiver accepts webhook bodies: it routes, verifies and validates them and
// queues them durably. Its errors are apperr kinds: invalid (400), unauthorized
// (401), forbidden (403), not found (404); queue failures are internal (500),
// so the platform retries.
type Receiver struct {
	channels ChannelFinder
	queue    Enqueuer
	log      *slog.Logger
	now      func() time.Time
}

// NewReceiver returns a receiver.
func NewReceiver(channels ChannelFinder, queue Enqueuer, log *slog.Logger) *Receiver {
	return &Receiver{channels: channels, queue: queue, log: log, now: func() time.Time { return time.Now().UTC() }}
}

var errBadSignature = apperr.Unauthorized("invalid signature")

// metaTypes maps the "object" of a Meta body to the channel type it is for.
var metaTypes = map[string]channel.Type{
	"page":                      channel.Facebook,
	"instagram":                 channel.Instagram,
	"whatsapp_business_account": channel.WhatsApp,
}

// MetaChallenge answers Meta's subscription handshake: the challenge to echo
// when the verify token belongs to a Meta channel, forbidden otherwise.
func (r *Receiver) MetaChallenge(ctx context.Context, mode, token, challenge string) (string, error) {
	chs, err := r.channels.ByVerifyToken(ctx, token)
	if err != nil {
		return "", err
	}
	for _, ch := range chs {
		if !ch.Type.IsMeta() {
			continue
		}
		if answer, ok := webhook.MetaChallenge(mode, token, challenge, ch.Config.VerifyToken); ok {
			return answer, nil
		}
	}
	return "", apperr.Forbidden("verification failed")
}

// Meta accepts a Facebook, Instagram or WhatsApp webhook body. Entries for
// ids no channel owns are acknowledged and ignored. The signature must verify
// with the app secret of every channel whose entries are kept: channels whose
// secret does not match are dropped, and if none matches the body is refused.
func (r *Receiver) Meta(ctx context.Context, body []byte, signature string) error {
	object, ids, err := webhook.RoutingIDs(body)
	if err != nil {
		return malformed(err)
	}
	typ, ok := metaTypes[object]
	if !ok || len(ids) == 0 {
		return nil
	}
	routes := make([]string, len(ids))
	for i, id := range ids {
		routes[i] = channel.RouteFor(typ, id)
	}
	owners, err := r.channels.ByRoutes(ctx, routes)
	if err != nil {
		return err
	}
	if len(owners) == 0 {
		return nil
	}
	var keep []string
	for _, route := range routes {
		ch, ok := owners[route]
		if !ok {
			continue
		}
		if err := webhook.VerifyMetaSignature(ch.Secrets.AppSecret, body, signature); err != nil {
			if errors.Is(err, webhook.ErrNoSecret) {
				return fmt.Errorf("channel %s: %w", ch.ID, err)
			}
			continue
		}
		keep = append(keep, ch.ID)
	}
	if len(keep) == 0 {
		return errBadSignature
	}
	if _, err := webhook.ParseMeta(body); err != nil {
		return malformed(err)
	}
	return r.enqueue(ctx, SourceMeta, keep, body)
}

// XCRC answers X's challenge-response check for a channel.
func (r *Receiver) XCRC(ctx context.Context, channelID, crcToken string) (string, error) {
	ch, err := r.channelOf(ctx, channelID, channel.X)
	if err != nil {
		return "", err
	}
	if crcToken == "" || len(crcToken) > 1024 {
		return "", apperr.Invalid("crc_token is required")
	}
	return webhook.XCRCResponse(ch.Secrets.ConsumerSecret, crcToken), nil
}

// X accepts an Account Activity API delivery for a channel.
func (r *Receiver) X(ctx context.Context, channelID string, body []byte, signature string) error {
	ch, err := r.channelOf(ctx, channelID, channel.X)
	if err != nil {
		return err
	}
	if err := verified(webhook.VerifyXSignature(ch.Secrets.ConsumerSecret, body, signature)); err != nil {
		return err
	}
	if _, err := webhook.ParseX(body); err != nil {
		return malformed(err)
	}
	return r.enqueue(ctx, SourceX, []string{ch.ID}, body)
}

// Telegram accepts a Bot API update for a channel. When the channel has a
// secret token the update must carry it.
func (r *Receiver) Telegram(ctx context.Context, channelID string, body []byte, secret string) error {
	ch, err := r.channelOf(ctx, channelID, channel.Telegram)
	if err != nil {
		return err
	}
	if ch.Secrets.SecretToken != "" {
		if err := verified(webhook.VerifyTelegramSecret(ch.Secrets.SecretToken, secret)); err != nil {
			return err
		}
	}
	if _, err := webhook.ParseTelegram(body); err != nil {
		return malformed(err)
	}
	return r.enqueue(ctx, SourceTelegram, []string{ch.ID}, body)
}

// APIWebhook accepts a body in the generic format posted to an API channel's
// webhook URL, signed like Meta's: "sha256=" + hex HMAC-SHA256 of the body
// keyed with the channel's webhook secret.
func (r *Receiver) APIWebhook(ctx context.Context, channelID string, body []byte, signature string) (int, error) {
	ch, err := r.channelOf(ctx, channelID, channel.API)
	if err != nil {
		return 0, err
	}
	if err := verified(webhook.VerifyMetaSignature(ch.Secrets.WebhookSecret, body, signature)); err != nil {
		return 0, err
	}
	return r.api(ctx, ch, body)
}

// APIPost accepts a body in the generic format from an authenticated caller
// of workspaceID; another workspace's channel is not found.
func (r *Receiver) APIPost(ctx context.Context, workspaceID, channelID string, body []byte) (int, error) {
	ch, err := r.channels.ByID(ctx, channelID)
	if err != nil || ch.WorkspaceID != workspaceID {
		if err == nil || errors.Is(err, apperr.ErrNotFound) {
			return 0, apperr.NotFound("channel")
		}
		return 0, err
	}
	if ch.Type != channel.API {
		return 0, apperr.Invalid("messages can only be posted to api channels")
	}
	return r.api(ctx, ch, body)
}

func (r *Receiver) api(ctx context.Context, ch channel.Channel, body []byte) (int, error) {
	events, err := webhook.ParseAPI(body)
	if err != nil {
		if errors.Is(err, webhook.ErrMalformed) {
			// Our own format: the caller needs the reason, which names fields only.
			return 0, apperr.Invalid("%s", strings.TrimPrefix(err.Error(), webhook.ErrMalformed.Error()+": "))
		}
		return 0, err
	}
	return len(events), r.enqueue(ctx, SourceAPI, []string{ch.ID}, body)
}

// channelOf returns channel id if it has type t; any other answer is not found.
func (r *Receiver) channelOf(ctx context.Context, id string, t channel.Type) (channel.Channel, error) {
	ch, err := r.channels.ByID(ctx, id)
	if err != nil {
		return channel.Channel{}, err
	}
	if ch.Type != t {
		return channel.Channel{}, apperr.NotFound("channel")
	}
	return ch, nil
}

func (r *Receiver) enqueue(ctx context.Context, src Source, channelIDs []string, body []byte) error {
	d := Delivery{Source: src, ChannelIDs: channelIDs, Body: body, ReceivedAt: r.now().Truncate(time.Millisecond)}
	if err := r.queue.Enqueue(ctx, d); err != nil {
		return fmt.Errorf("enqueue %s delivery: %w", src, err)
	}
	return nil
}

// verified maps a verification failure to 401; a missing secret is our
// misconfiguration and stays an internal error.
func verified(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, webhook.ErrBadSignature):
		return errBadSignature
	}
	return err
}

// malformed turns a parse failure into a 400 with a short reason.
func malformed(err error) error {
	if errors.Is(err, webhook.ErrMalformed) {
		return apperr.Wrap(err, apperr.CodeInvalid, "malformed payload")
	}
	return err
}
