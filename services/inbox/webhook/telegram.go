package webhook

// tgUpdate is a Bot API Update; update kinds we do not handle are not decoded.
type tgUpdate struct {
	Message           *tgMessage `json:"message"`
	EditedMessage     *tgMessage `json:"edited_message"`
	ChannelPost       *tgMessage `json:"channel_post"`
	EditedChannelPost *tgMessage `json:"edited_channel_post"`
}

type tgMessage struct {
	MessageID  flexID   `json:"message_id"`
	From       *tgUser  `json:"from"`
	SenderChat *tgChat  `json:"sender_chat"`
	Chat       tgChat   `json:"chat"`
	Date       flexInt  `json:"date"`
	EditDate   flexInt  `json:"edit_date"`
	Text       string   `json:"text"`
	Caption    string   `json:"caption"`
	Photo      []tgSize `json:"photo"`
	Animation  *tgFile  `json:"animation"`
	Video      *tgFile  `json:"video"`
	VideoNote  *tgFile  `json:"video_note"`
	Voice      *tgFile  `json:"voice"`
	Audio      *tgFile  `json:"audio"`
	Document   *tgFile  `json:"document"`
	Sticker    *tgFile  `json:"sticker"`
	Location   *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	} `json:"location"`
	ReplyToMessage *struct {
		MessageID flexID `json:"message_id"`
	} `json:"reply_to_message"`
}

type tgUser struct {
	ID        flexID `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

type tgChat struct {
	ID        flexID `json:"id"`
	Type      string `json:"type"` // private | group | supergroup | channel
	Title     string `json:"title"`
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

type tgSize struct {
	FileID string  `json:"file_id"`
	Width  flexInt `json:"width"`
	Height flexInt `json:"height"`
}

type tgFile struct {
	FileID   string `json:"file_id"`
	MimeType string `json:"mime_type"`
	FileName string `json:"file_name"`
}

// ParseTelegram parses a Bot API Update. Private chats are DMs; groups,
// supergroups and channels are public, so their messages are comments with
// the chat as the post. Telegram numbers messages per chat, so ExternalID
// (and ReplyTo / ParentID) is "<chat id>:<message id>". AccountID is empty:
// the bot's channel is known from the webhook URL.
func ParseTelegram(body []byte) ([]Event, error) {
	var u tgUpdate
	if err := decodeObject("telegram", body, &u); err != nil {
		return nil, err
	}
	var events []Event
	for _, m := range []struct {
		msg    *tgMessage
		action Action
	}{
		{u.Message, ActionMessage},
		{u.EditedMessage, ActionEdit},
		{u.ChannelPost, ActionMessage},
		{u.EditedChannelPost, ActionEdit},
	} {
		if m.msg == nil {
			continue
		}
		if ev, ok := telegramEvent(m.msg, m.action); ok {
			events = append(events, ev)
		}
	}
	return events, nil
}

func telegramEvent(m *tgMessage, action Action) (Event, bool) {
	chat, msgID := string(m.Chat.ID), string(m.MessageID)
	if chat == "" || msgID == "" {
		return Event{}, false
	}
	var author Identity
	switch {
	case m.From != nil:
		author = Identity{Platform: Telegram, UserID: string(m.From.ID), Handle: m.From.Username, Name: joinNonEmpty(" ", m.From.FirstName, m.From.LastName)}
	case m.SenderChat != nil:
		author = Identity{Platform: Telegram, UserID: string(m.SenderChat.ID), Handle: m.SenderChat.Username, Name: m.SenderChat.Title}
	default: // channel posts may name no sender: the channel wrote it
		author = Identity{Platform: Telegram, UserID: chat, Handle: m.Chat.Username, Name: m.Chat.Title}
	}
	ev := Event{
		Platform:   Telegram,
		Action:     action,
		Kind:       KindDM,
		ExternalID: chat + ":" + msgID,
		ThreadKey:  chat,
		Author:     author,
		Customer:   author,
		Text:       m.Text,
		Timestamp:  unixSeconds(m.Date),
	}
	if m.Text == "" {
		ev.Text = m.Caption
	}
	var replyTo string
	if r := m.ReplyToMessage; r != nil && r.MessageID != "" {
		replyTo = chat + ":" + string(r.MessageID)
	}
	if m.Chat.Type == "private" {
		ev.ReplyTo = replyTo
	} else {
		ev.Kind = KindComment
		ev.ParentID = replyTo
		ev.Post = &Post{ID: chat, Text: m.Chat.Title, Type: m.Chat.Type}
	}
	if action == ActionEdit {
		if t := unixSeconds(m.EditDate); !t.IsZero() {
			ev.Timestamp = t
		}
	}
	if att, ok := telegramAttachment(m); ok {
		ev.Attachments = []Attachment{att}
	}
	ev.DedupeKey = lifecycleKey(Telegram, "", action, ev.ExternalID, ev.Timestamp, ev.Text)
	return ev, true
}

// telegramAttachment returns the message's media. Animations also carry a
// document copy, so they are checked first; photos come in several sizes and
// the largest is kept. There is no URL: files are fetched with getFile and the
// bot token, which must not end up in stored events.
func telegramAttachment(m *tgMessage) (Attachment, bool) {
	if len(m.Photo) > 0 {
		best := m.Photo[0]
		for _, s := range m.Photo[1:] {
			if int64(s.Width)*int64(s.Height) > int64(best.Width)*int64(best.Height) {
				best = s
			}
		}
		return Attachment{Type: AttachmentImage, MediaID: best.FileID}, true
	}
	for _, f := range []struct {
		typ  string
		file *tgFile
	}{
		{"animation", m.Animation}, {"video", m.Video}, {"video_note", m.VideoNote},
		{"voice", m.Voice}, {"audio", m.Audio}, {"document", m.Document}, {"sticker", m.Sticker},
	} {
		if f.file != nil {
			return Attachment{Type: attachmentType(f.typ), MimeType: f.file.MimeType, MediaID: f.file.FileID, Name: f.file.FileName}, true
		}
	}
	if l := m.Location; l != nil {
		return Attachment{Type: AttachmentLocation, URL: geoURI(l.Latitude, l.Longitude)}, true
	}
	return Attachment{}, false
}
