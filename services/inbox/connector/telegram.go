package connector

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// telegramMaxRunes is the Bot API limit on sendMessage text.
const telegramMaxRunes = 4096

// TelegramSender sends messages through the Telegram Bot API.
type TelegramSender struct {
	cfg Config
}

// NewTelegram returns the Telegram connector.
func NewTelegram(cfg Config) *TelegramSender { return &TelegramSender{cfg: cfg} }

// telegramErrorBody is the Bot API failure envelope.
type telegramErrorBody struct {
	OK          *bool  `json:"ok"`
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
	Parameters  *struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func parseTelegramError(body []byte) platformError {
	var b telegramErrorBody
	if json.Unmarshal(body, &b) != nil || b.OK == nil || *b.OK {
		return platformError{}
	}
	pe := platformError{structured: true, message: b.Description}
	if b.ErrorCode != 0 {
		pe.code = strconv.Itoa(b.ErrorCode)
	}
	if b.Parameters != nil && b.Parameters.RetryAfter > 0 {
		pe.retryAfter = time.Duration(b.Parameters.RetryAfter) * time.Second
		pe.transient = true
	}
	return pe
}

type tgReply struct {
	MessageID                int64 `json:"message_id"`
	AllowSendingWithoutReply bool  `json:"allow_sending_without_reply"`
}

type tgSend struct {
	ChatID          any      `json:"chat_id"`
	Text            string   `json:"text"`
	ReplyParameters *tgReply `json:"reply_parameters,omitempty"`
}

// Send posts out.Text into the chat out.Recipient (a private chat for DMs, a
// group for comments), as a reply to out.ReplyTo when set. ReplyTo is the
// webhook's "<chat id>:<message id>"; its chat id is used when Recipient is
// empty. The result is "<chat id>:<message id>" as well.
func (t *TelegramSender) Send(ctx context.Context, out Outbound) (Result, error) {
	if out.Kind == KindPrivateReply {
		return Result{}, unsupported(Telegram, out.Kind)
	}
	chat := out.Recipient
	var replyTo int64
	if out.ReplyTo != "" {
		c, m, ok := splitTelegramID(out.ReplyTo)
		if !ok {
			return Result{}, invalid(Telegram, "ReplyTo %q is not a Telegram message id", out.ReplyTo)
		}
		if chat == "" {
			chat = c
		} else if c != "" && c != chat {
			return Result{}, invalid(Telegram, "ReplyTo %q belongs to another chat than %q", out.ReplyTo, chat)
		}
		replyTo = m
	}
	if err := require(Telegram, "bot token", out.Credentials.BotToken, "chat id (Recipient)", chat); err != nil {
		return Result{}, err
	}
	if err := checkText(Telegram, out.Text, telegramMaxRunes, "characters"); err != nil {
		return Result{}, err
	}
	msg := tgSend{ChatID: chat, Text: out.Text}
	if n, err := strconv.ParseInt(chat, 10, 64); err == nil {
		msg.ChatID = n // numeric ids as numbers; "@channel" names stay strings
	}
	if replyTo != 0 {
		// The customer may have deleted the message meanwhile: the answer
		// still matters more than the quote.
		msg.ReplyParameters = &tgReply{MessageID: replyTo, AllowSendingWithoutReply: true}
	}
	token := out.Credentials.BotToken
	body, err := post(ctx, t.cfg.client(), request{
		platform: Telegram, url: t.cfg.base(DefaultTelegramURL) + "/bot" + token + "/sendMessage",
		secret: token, body: msg, parseError: parseTelegramError,
	})
	if err != nil {
		return Result{}, err
	}
	var r struct {
		OK     bool `json:"ok"`
		Result struct {
			MessageID int64 `json:"message_id"`
			Chat      struct {
				ID int64 `json:"id"`
			} `json:"chat"`
		} `json:"result"`
	}
	if err := decodeSuccess(Telegram, body, &r); err != nil {
		return Result{}, err
	}
	if !r.OK || r.Result.MessageID == 0 {
		return Result{}, missingID(Telegram)
	}
	if r.Result.Chat.ID != 0 {
		chat = strconv.FormatInt(r.Result.Chat.ID, 10)
	}
	return Result{ExternalID: chat + ":" + strconv.FormatInt(r.Result.MessageID, 10)}, nil
}

// splitTelegramID reads "<chat id>:<message id>" or a bare message id.
func splitTelegramID(id string) (chat string, msg int64, ok bool) {
	if i := strings.LastIndexByte(id, ':'); i >= 0 {
		chat, id = id[:i], id[i+1:]
	}
	m, err := strconv.ParseInt(id, 10, 64)
	if err != nil || m <= 0 {
		return "", 0, false
	}
	return chat, m, true
}
