package connector

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
)

// Text limits of the Meta messaging APIs.
const (
	messengerMaxRunes = 2000 // Messenger Send API: "less than 2000 characters"
	instagramMaxBytes = 1000 // Instagram messaging: "1000 bytes or less"
)

// Graph error codes that mean "try again later" even on a 4xx: API unknown
// and service errors, call-volume throttling, and WhatsApp's throughput and
// per-recipient pair rate limits.
var graphTransientCodes = map[int]bool{
	1: true, 2: true, 4: true, 17: true, 32: true, 341: true, 613: true,
	80001: true, 80002: true, 80004: true, 80005: true, 80006: true, 80008: true,
	130429: true, 131000: true, 131056: true,
}

// graphErrorBody is the Graph API error envelope.
type graphErrorBody struct {
	Error *struct {
		Message     string          `json:"message"`
		Type        string          `json:"type"`
		Code        int             `json:"code"`
		Subcode     int             `json:"error_subcode"`
		UserMessage string          `json:"error_user_msg"`
		IsTransient bool            `json:"is_transient"`
		FBTraceID   string          `json:"fbtrace_id"`
		ErrorData   *graphErrorData `json:"error_data"`
	} `json:"error"`
}

type graphErrorData struct {
	Details string `json:"details"`
}

func parseGraphError(body []byte) platformError {
	var b graphErrorBody
	if json.Unmarshal(body, &b) != nil || b.Error == nil {
		return platformError{}
	}
	e := b.Error
	pe := platformError{
		structured: true,
		transient:  e.IsTransient || graphTransientCodes[e.Code],
		message:    e.Message,
		traceID:    e.FBTraceID,
	}
	if e.Code != 0 {
		pe.code = strconv.Itoa(e.Code)
	}
	if e.Subcode != 0 {
		pe.subcode = strconv.Itoa(e.Subcode)
	}
	// WhatsApp puts the actionable sentence in error_data.details; the other
	// Graph APIs in error_user_msg.
	var details string
	if e.ErrorData != nil {
		details = e.ErrorData.Details
	}
	for _, extra := range []string{e.UserMessage, details} {
		if extra != "" && extra != pe.message {
			pe.message += " — " + extra
		}
	}
	return pe
}

// MetaSender sends Facebook or Instagram comment replies, DMs and private replies
// through the Graph API. The access token goes in the Authorization header
// (Graph accepts it there as well as in access_token, and headers stay out of
// proxy logs); bodies are JSON.
type MetaSender struct {
	platform Platform
	cfg      Config
}

// NewFacebook returns the Facebook Page connector (comments and Messenger).
func NewFacebook(cfg Config) *MetaSender { return &MetaSender{platform: Facebook, cfg: cfg} }

// NewInstagram returns the Instagram connector. With Instagram Login set
// BaseURL to the Instagram Graph host; with Facebook Login keep the default
// and use the Page token.
func NewInstagram(cfg Config) *MetaSender { return &MetaSender{platform: Instagram, cfg: cfg} }

type graphRecipient struct {
	ID        string `json:"id,omitempty"`
	CommentID string `json:"comment_id,omitempty"`
}

type graphMessage struct {
	Text     string `json:"text"`
	Metadata string `json:"metadata,omitempty"`
}

type graphSend struct {
	Recipient     graphRecipient `json:"recipient"`
	MessagingType string         `json:"messaging_type,omitempty"`
	Tag           string         `json:"tag,omitempty"`
	Message       graphMessage   `json:"message"`
}

// Send posts out; see the package documentation for the ids it expects.
func (m *MetaSender) Send(ctx context.Context, out Outbound) (Result, error) {
	p := m.platform
	if err := require(p, "access token", out.Credentials.AccessToken); err != nil {
		return Result{}, err
	}
	if err := m.checkText(out); err != nil {
		return Result{}, err
	}
	base := m.cfg.base(DefaultGraphURL) + "/" + m.cfg.version() + "/"
	switch out.Kind {
	case KindComment:
		if err := require(p, "the comment replied to (ReplyTo)", out.ReplyTo); err != nil {
			return Result{}, err
		}
		edge := "comments" // a Page comment reply is a comment on the comment
		if p == Instagram {
			edge = "replies"
		}
		body, err := post(ctx, m.cfg.client(), request{
			platform: p, url: base + url.PathEscape(out.ReplyTo) + "/" + edge, bearer: out.Credentials.AccessToken,
			body: map[string]string{"message": out.Text}, parseError: parseGraphError,
		})
		if err != nil {
			return Result{}, err
		}
		var r struct {
			ID string `json:"id"`
		}
		if err := decodeSuccess(p, body, &r); err != nil {
			return Result{}, err
		}
		if r.ID == "" {
			return Result{}, missingID(p)
		}
		return Result{ExternalID: r.ID}, nil
	case KindDM, KindPrivateReply:
		msg := graphSend{Message: graphMessage{Text: out.Text}}
		if out.Kind == KindDM {
			if err := require(p, "recipient", out.Recipient); err != nil {
				return Result{}, err
			}
			msg.Recipient.ID = out.Recipient
			msg.MessagingType = "RESPONSE"
			if out.Tag != "" {
				msg.MessagingType, msg.Tag = "MESSAGE_TAG", out.Tag
			}
		} else {
			if err := require(p, "the comment replied to (ReplyTo)", out.ReplyTo); err != nil {
				return Result{}, err
			}
			msg.Recipient.CommentID = out.ReplyTo
		}
		// Messenger echoes metadata in the message_echo webhook, which is how
		// an ambiguous send is recognised later. Instagram documents no
		// metadata field, so it is not sent there.
		if p == Facebook {
			msg.Message.Metadata = out.IdempotencyKey
		}
		account := out.Credentials.AccountID
		if account == "" {
			account = "me"
		}
		body, err := post(ctx, m.cfg.client(), request{
			platform: p, url: base + url.PathEscape(account) + "/messages", bearer: out.Credentials.AccessToken,
			body: msg, parseError: parseGraphError,
		})
		if err != nil {
			return Result{}, err
		}
		var r struct {
			RecipientID string `json:"recipient_id"`
			MessageID   string `json:"message_id"`
		}
		if err := decodeSuccess(p, body, &r); err != nil {
			return Result{}, err
		}
		if r.MessageID == "" {
			return Result{}, missingID(p)
		}
		return Result{ExternalID: r.MessageID}, nil
	}
	return Result{}, unsupported(p, out.Kind)
}

func (m *MetaSender) checkText(out Outbound) error {
	if out.Kind == KindComment {
		return checkText(m.platform, out.Text, 0, "")
	}
	if m.platform == Instagram {
		return checkText(m.platform, out.Text, instagramMaxBytes, "bytes")
	}
	return checkText(m.platform, out.Text, messengerMaxRunes-1, "characters")
}
