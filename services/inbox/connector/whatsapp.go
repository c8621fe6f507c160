package connector

import (
	"context"
	"net/url"
)

// whatsappMaxRunes is the Cloud API limit on a text message body.
const whatsappMaxRunes = 4096

// WhatsAppSender sends text messages through the WhatsApp Cloud API.
type WhatsAppSender struct {
	cfg Config
}

// NewWhatsApp returns the WhatsApp Cloud API connector.
func NewWhatsApp(cfg Config) *WhatsAppSender { return &WhatsAppSender{cfg: cfg} }

type waText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

type waContext struct {
	MessageID string `json:"message_id"`
}

type waSend struct {
	MessagingProduct string     `json:"messaging_product"`
	RecipientType    string     `json:"recipient_type"`
	To               string     `json:"to"`
	Type             string     `json:"type"`
	Text             waText     `json:"text"`
	Context          *waContext `json:"context,omitempty"`
	// BizOpaqueCallbackData comes back in the status webhooks of this
	// message: it carries the idempotency key for reconciliation.
	BizOpaqueCallbackData string `json:"biz_opaque_callback_data,omitempty"`
}

// Send posts a DM to out.Recipient (the wa_id), quoting out.ReplyTo when set.
func (w *WhatsAppSender) Send(ctx context.Context, out Outbound) (Result, error) {
	if out.Kind != KindDM {
		return Result{}, unsupported(WhatsApp, out.Kind)
	}
	if err := require(WhatsApp, "access token", out.Credentials.AccessToken,
		"phone number id (AccountID)", out.Credentials.AccountID, "recipient", out.Recipient); err != nil {
		return Result{}, err
	}
	if err := checkText(WhatsApp, out.Text, whatsappMaxRunes, "characters"); err != nil {
		return Result{}, err
	}
	msg := waSend{
		MessagingProduct: "whatsapp", RecipientType: "individual", To: out.Recipient, Type: "text",
		Text: waText{Body: out.Text}, BizOpaqueCallbackData: out.IdempotencyKey,
	}
	if out.ReplyTo != "" {
		msg.Context = &waContext{MessageID: out.ReplyTo}
	}
	body, err := post(ctx, w.cfg.client(), request{
		platform: WhatsApp,
		url:      w.cfg.base(DefaultGraphURL) + "/" + w.cfg.version() + "/" + url.PathEscape(out.Credentials.AccountID) + "/messages",
		bearer:   out.Credentials.AccessToken, body: msg, parseError: parseGraphError,
	})
	if err != nil {
		return Result{}, err
	}
	var r struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := decodeSuccess(WhatsApp, body, &r); err != nil {
		return Result{}, err
	}
	if len(r.Messages) == 0 || r.Messages[0].ID == "" {
		return Result{}, missingID(WhatsApp)
	}
	return Result{ExternalID: r.Messages[0].ID}, nil
}
