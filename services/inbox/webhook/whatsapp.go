package webhook

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

type waEntry struct {
	ID      flexID `json:"id"` // WhatsApp Business Account id; we route by phone_number_id instead
	Changes []struct {
		Field string          `json:"field"`
		Value json.RawMessage `json:"value"`
	} `json:"changes"`
}

type waValue struct {
	Metadata struct {
		PhoneNumberID flexID `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID   flexID `json:"wa_id"`
		UserID string `json:"user_id"` // business-scoped user id, sent alongside or instead of wa_id
	} `json:"contacts"`
	Messages []waMessage `json:"messages"`
	Statuses []waStatus  `json:"statuses"`
}

type waMessage struct {
	From      flexID  `json:"from"`
	ID        string  `json:"id"`
	Timestamp flexInt `json:"timestamp"` // seconds, as a string
	Type      string  `json:"type"`
	Text      *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *waMedia `json:"image"`
	Video    *waMedia `json:"video"`
	Audio    *waMedia `json:"audio"`
	Document *waMedia `json:"document"`
	Sticker  *waMedia `json:"sticker"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	Context *struct {
		ID string `json:"id"`
	} `json:"context"`
	Button *struct {
		Text string `json:"text"`
	} `json:"button"`
	Interactive *struct {
		ButtonReply *struct {
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			Title string `json:"title"`
		} `json:"list_reply"`
	} `json:"interactive"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
	} `json:"location"`
}

type waMedia struct {
	ID       flexID `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	URL      string `json:"url"`
}

type waStatus struct {
	ID          string  `json:"id"`
	Status      string  `json:"status"`
	Timestamp   flexInt `json:"timestamp"`
	RecipientID flexID  `json:"recipient_id"`
	Errors      []struct {
		Code      flexInt `json:"code"`
		Title     string  `json:"title"`
		Message   string  `json:"message"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"errors"`
}

// parseWhatsApp handles the entries of a whatsapp_business_account webhook.
func parseWhatsApp(entries []json.RawMessage) ([]Event, error) {
	var events []Event
	for i, raw := range entries {
		var e waEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%w: whatsapp entry %d: %w", ErrMalformed, i, err)
		}
		for j, c := range e.Changes {
			if c.Field != "messages" {
				continue
			}
			var v waValue
			if err := json.Unmarshal(c.Value, &v); err != nil {
				return nil, fmt.Errorf("%w: whatsapp entry %d change %d: %w", ErrMalformed, i, j, err)
			}
			events = append(events, whatsAppEvents(v)...)
		}
	}
	return events, nil
}

// whatsAppEvents converts one "messages" change value. Without a
// phone_number_id the change cannot be routed to a channel and is skipped.
func whatsAppEvents(v waValue) []Event {
	account := string(v.Metadata.PhoneNumberID)
	if account == "" {
		return nil
	}
	names := map[string]string{}
	for _, c := range v.Contacts {
		if c.WaID != "" {
			names[string(c.WaID)] = c.Profile.Name
		}
		if c.UserID != "" {
			names[c.UserID] = c.Profile.Name
		}
	}
	var events []Event
	for _, m := range v.Messages {
		if ev, ok := whatsAppMessage(account, names, m); ok {
			events = append(events, ev)
		}
	}
	for _, s := range v.Statuses {
		if s.ID == "" || s.Status == "" {
			continue
		}
		recipient := string(s.RecipientID)
		st := &Status{State: s.Status, RecipientID: recipient}
		if len(s.Errors) > 0 {
			e := s.Errors[0]
			if e.Code != 0 {
				st.ErrorCode = strconv.FormatInt(int64(e.Code), 10)
			}
			st.ErrorMessage = e.Message
			if st.ErrorMessage == "" {
				st.ErrorMessage = e.Title
			}
			if d := e.ErrorData.Details; d != "" && d != st.ErrorMessage {
				st.ErrorMessage = joinNonEmpty(": ", st.ErrorMessage, d)
			}
		}
		events = append(events, Event{
			Platform:   WhatsApp,
			AccountID:  account,
			Action:     ActionStatus,
			Kind:       KindDM,
			ExternalID: s.ID,
			ThreadKey:  recipient,
			Customer:   Identity{Platform: WhatsApp, UserID: recipient, Name: names[recipient]},
			Status:     st,
			Timestamp:  unixSeconds(s.Timestamp),
			DedupeKey:  dedupeKey(WhatsApp, account, ActionStatus, s.ID, s.Status),
		})
	}
	return events
}

// whatsAppMessage converts one inbound message; false when it carries nothing for the inbox.
func whatsAppMessage(account string, names map[string]string, m waMessage) (Event, bool) {
	from := string(m.From)
	if from == "" || m.ID == "" || m.Type == "system" {
		return Event{}, false
	}
	who := Identity{Platform: WhatsApp, UserID: from, Name: names[from]}
	ev := Event{
		Platform:   WhatsApp,
		AccountID:  account,
		Action:     ActionMessage,
		Kind:       KindDM,
		ExternalID: m.ID,
		ThreadKey:  from,
		Author:     who,
		Customer:   who,
		Timestamp:  unixSeconds(m.Timestamp),
		DedupeKey:  dedupeKey(WhatsApp, account, ActionMessage, m.ID),
	}
	if m.Context != nil {
		ev.ReplyTo = m.Context.ID
	}
	media := func(md *waMedia) {
		ev.Text = md.Caption
		ev.Attachments = []Attachment{{
			Type: attachmentType(m.Type), URL: md.URL, MimeType: md.MimeType,
			MediaID: string(md.ID), SHA256: md.SHA256, Name: md.Filename,
		}}
	}
	switch {
	case m.Type == "reaction" && m.Reaction != nil:
		if m.Reaction.MessageID == "" {
			return Event{}, false
		}
		ev.Action = ActionReaction
		ev.ExternalID = m.Reaction.MessageID
		ev.ReplyTo = ""
		// An empty emoji is how WhatsApp reports a removed reaction.
		ev.Reaction = &Reaction{TargetID: m.Reaction.MessageID, Emoji: m.Reaction.Emoji, Removed: m.Reaction.Emoji == ""}
		ev.DedupeKey = dedupeKey(WhatsApp, account, ActionReaction, m.ID)
	case m.Type == "text" && m.Text != nil:
		ev.Text = m.Text.Body
	case m.Type == "image" && m.Image != nil:
		media(m.Image)
	case m.Type == "video" && m.Video != nil:
		media(m.Video)
	case m.Type == "audio" && m.Audio != nil:
		media(m.Audio)
	case m.Type == "document" && m.Document != nil:
		media(m.Document)
	case m.Type == "sticker" && m.Sticker != nil:
		media(m.Sticker)
	case m.Type == "button" && m.Button != nil:
		ev.Text = m.Button.Text
	case m.Type == "interactive" && m.Interactive != nil:
		if r := m.Interactive.ButtonReply; r != nil {
			ev.Text = r.Title
		} else if r := m.Interactive.ListReply; r != nil {
			ev.Text = r.Title
		}
	case m.Type == "location" && m.Location != nil:
		l := m.Location
		ev.Text = joinNonEmpty(", ", l.Name, l.Address)
		ev.Attachments = []Attachment{{Type: AttachmentLocation, URL: geoURI(l.Latitude, l.Longitude), Name: l.Name}}
	default:
		// Contacts, orders, unsupported and future types: keep a placeholder
		// so the agent sees that something arrived rather than nothing.
		t := attachmentType(m.Type)
		if t == "" {
			t = "unsupported"
		}
		ev.Attachments = []Attachment{{Type: t}}
	}
	return ev, true
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
