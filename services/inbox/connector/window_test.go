package connector

import (
	"errors"
	"testing"
	"time"
)

func TestCheckWindow(t *testing.T) {
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	h := time.Hour
	cases := []struct {
		name    string
		p       Platform
		k       Kind
		age     time.Duration // -1: the customer never wrote
		wantTag string
		wantErr string
	}{
		{"messenger fresh", Facebook, KindDM, 23*h + 59*time.Minute, "", ""},
		{"messenger exactly 24h needs the tag", Facebook, KindDM, 24 * h, TagHumanAgent, ""},
		{"instagram 3 days", Instagram, KindDM, 72 * h, TagHumanAgent, ""},
		{"messenger just under 7 days", Facebook, KindDM, 7*24*h - time.Second, TagHumanAgent, ""},
		{"messenger exactly 7 days", Facebook, KindDM, 7 * 24 * h, "",
			"the customer last wrote 7 days ago; Messenger allows replies within 24 hours, or 7 days with the human agent tag"},
		{"instagram 9 days", Instagram, KindDM, 9*24*h + 5*h, "",
			"the customer last wrote 9 days ago; Instagram allows replies within 24 hours, or 7 days with the human agent tag"},
		{"messenger never wrote", Facebook, KindDM, -1, "", "the customer has not written to us; Messenger only allows replies to a customer's message"},
		{"whatsapp fresh", WhatsApp, KindDM, 23 * h, "", ""},
		{"whatsapp exactly 24h", WhatsApp, KindDM, 24 * h, "",
			"the customer last wrote 24 hours ago; WhatsApp allows free-form replies within 24 hours of the customer's last message, after that only an approved template"},
		{"whatsapp 3 days", WhatsApp, KindDM, 3*24*h + h, "",
			"the customer last wrote 3 days ago; WhatsApp allows free-form replies within 24 hours of the customer's last message, after that only an approved template"},
		{"whatsapp never wrote", WhatsApp, KindDM, -1, "", "the customer has not written to this number; WhatsApp only allows a template message to start a conversation"},
		{"private reply 6 days", Facebook, KindPrivateReply, 6 * 24 * h, "", ""},
		{"private reply 7 days", Instagram, KindPrivateReply, 7 * 24 * h, "",
			"the comment was written 7 days ago; Instagram allows a private reply within 7 days of the comment"},
		{"comments have no window", Facebook, KindComment, 400 * 24 * h, "", ""},
		{"x dm has no window", X, KindDM, 400 * 24 * h, "", ""},
		{"telegram has no window", Telegram, KindDM, -1, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var last time.Time
			if tc.age >= 0 {
				last = now.Add(-tc.age)
			}
			tag, err := CheckWindow(tc.p, tc.k, last, now)
			if tag != tc.wantTag {
				t.Errorf("tag %q, want %q", tag, tc.wantTag)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			var we *WindowError
			if !errors.Is(err, ErrWindowClosed) || !errors.As(err, &we) || err.Error() != tc.wantErr {
				t.Fatalf("got %v\nwant %s", err, tc.wantErr)
			}
			if tc.age >= 0 && we.Age != tc.age {
				t.Fatalf("age %v, want %v", we.Age, tc.age)
			}
		})
	}
}

func TestCheckWindowClockSkew(t *testing.T) {
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	// A customer timestamp slightly ahead of our clock is "just now".
	if tag, err := CheckWindow(Facebook, KindDM, now.Add(time.Minute), now); tag != "" || err != nil {
		t.Fatalf("%q %v", tag, err)
	}
}
