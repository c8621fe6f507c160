package contact

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/event"
)

func TestNormalizeEmailAndPhone(t *testing.T) {
	for in, want := range map[string]string{" Ann@Example.COM ": "ann@example.com", "nope": "", "@x.y": "", "a@": "", "a b@c.d": ""} {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("email %q → %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"+49 (170) 123-4567": "+491701234567", "555-555-SHIP": "", "12345": "", "0049 170 1234567": "00491701234567"} {
		if got := NormalizePhone(in); got != want {
			t.Errorf("phone %q → %q, want %q", in, got, want)
		}
	}
}

func TestAttributesApply(t *testing.T) {
	age, country, band := 30, "de", "high"
	a, err := AttributesInput{Age: &age, Country: &country, IncomeBand: &band, Interests: &[]string{" Running", "running", "Chess"}}.Apply(Attributes{City: "Berlin"}, 2025)
	if err != nil || *a.BirthYear != 1995 || a.Country != "DE" || a.City != "Berlin" || a.IncomeBand != "high" || len(a.Interests) != 2 || a.Interests[1] != "chess" {
		t.Fatalf("apply: %+v %v", a, err)
	}
	bad := []AttributesInput{{Age: new(int), BirthYear: new(int)}, {Country: ptr("Germany")}, {IncomeBand: ptr("rich")}, {Age: ptr(200)}}
	for i, in := range bad {
		if _, err := in.Apply(Attributes{}, 2025); !errors.Is(err, apperr.ErrInvalid) {
			t.Errorf("case %d accepted: %v", i, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestCustomAttributeTypes(t *testing.T) {
	cases := []struct {
		def  AttrDef
		in   any
		text bool
		want any
	}{
		{AttrDef{Name: "plan", Type: TypeEnum, Options: []string{"free", "pro"}}, "pro", false, "pro"},
		{AttrDef{Name: "seats", Type: TypeNumber}, 12.5, false, 12.5},
		{AttrDef{Name: "seats", Type: TypeNumber}, "7", true, 7.0},
		{AttrDef{Name: "vip", Type: TypeBool}, "true", true, true},
		{AttrDef{Name: "renewal", Type: TypeDate}, "2025-02-28", false, "2025-02-28"},
	}
	for _, c := range cases {
		if err := c.def.Validate(); err != nil {
			t.Fatal(err)
		}
		got, err := c.def.Coerce(c.in, c.text)
		if err != nil || got != c.want {
			t.Errorf("%s(%v) = %v, %v; want %v", c.def.Name, c.in, got, err, c.want)
		}
	}
	for _, c := range []struct {
		def AttrDef
		in  any
	}{{AttrDef{Name: "plan", Type: TypeEnum, Options: []string{"free"}}, "gold"}, {AttrDef{Name: "d", Type: TypeDate}, "2025-02-30"}, {AttrDef{Name: "n", Type: TypeNumber}, "1e9"}, {AttrDef{Name: "b", Type: TypeBool}, "yes"}} {
		if _, err := c.def.Coerce(c.in, true); err == nil {
			t.Errorf("%s accepted %v", c.def.Name, c.in)
		}
	}
	for _, d := range []AttrDef{{Name: "Bad", Type: TypeString}, {Name: "country", Type: TypeString}, {Name: "x", Type: "money"}, {Name: "e", Type: TypeEnum}} {
		if d.Validate() == nil {
			t.Errorf("definition %+v accepted", d)
		}
	}
}

func TestSortAndFilterRules(t *testing.T) {
	if _, err := ParseSort("-total", false); !errors.Is(err, apperr.ErrForbidden) {
		t.Fatalf("agent money sort: %v", err)
	}
	s, err := ParseSort("-influence", false)
	if err != nil || s.Field != "influence" || !s.Desc {
		t.Fatalf("sort: %+v %v", s, err)
	}
	f := Filter{Custom: map[string]string{"plan": "pro"}}
	if err := f.Validate(nil); !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("unknown custom attribute: %v", err)
	}
	if !(Filter{TotalMin: ptr(int64(1))}).UsesMoney() || (Filter{InfluenceMin: ptr(int64(1))}).UsesMoney() {
		t.Fatal("UsesMoney")
	}
}

func TestParseInboxShapes(t *testing.T) {
	nested := event.Event{Type: event.MessageCreated, ConversationID: "c1", Data: json.RawMessage(
		`{"message":{"id":"m1","kind":"comment","direction":"in","author":{"platform":"instagram","id":"u1","handle":"h"}}}`)}
	d, who, inbound, ok := parseInbox(nested)
	if !ok || !inbound || who.ID != "u1" || d.ConversationID != "c1" || d.MessageID != "m1" || d.Kind != "comment" {
		t.Fatalf("nested: %+v %+v %v %v", d, who, inbound, ok)
	}
	out := event.Event{Type: event.MessageCreated, Data: json.RawMessage(
		`{"conversation_id":"c2","platform":"x","direction":"out","author":{"user_id":"agent"},"customer":{"user_id":"cust"}}`)}
	if _, who, inbound, ok := parseInbox(out); !ok || inbound || who.UserID != "cust" {
		t.Fatalf("outbound picks the customer: %+v %v %v", who, inbound, ok)
	}
	// The inbox's own shapes: a flat Message, and a Conversation whose id is the conversation.
	msg := event.Event{Type: event.MessageCreated, Data: json.RawMessage(`{"id":"m9","workspace_id":"w","conversation_id":"c9","channel_id":"ch","platform":"facebook",
		"kind":"comment","direction":"in","author":{"platform":"facebook","user_id":"42","handle":"h"},"platform_time":"2025-01-02T03:04:05Z"}`)}
	if d, who, inbound, ok := parseInbox(msg); !ok || !inbound || who.UserID != "42" || d.ConversationID != "c9" || d.MessageID != "m9" || d.PlatformTime.Day() != 2 {
		t.Fatalf("inbox message: %+v %+v", d, who)
	}
	conv := event.Event{Type: event.ConversationUpdated, Data: json.RawMessage(`{"id":"c7","channel_id":"ch","platform":"instagram","kind":"dm",
		"customer":{"platform":"instagram","user_id":"7"},"last_message_at":"2025-01-02T03:04:05Z"}`)}
	if d, who, _, ok := parseInbox(conv); !ok || who.UserID != "7" || d.ConversationID != "c7" {
		t.Fatalf("inbox conversation: %+v %+v %v", d, who, ok)
	}
	for _, raw := range []string{`{"conversation_id":"c"}`, `{"author":{"platform":"x","user_id":"1"}}`, `[]`, `not json`} {
		if _, _, _, ok := parseInbox(event.Event{Type: event.MessageCreated, Data: json.RawMessage(raw)}); ok {
			t.Errorf("%s accepted", raw)
		}
	}
}

// FuzzParseInbox feeds arbitrary event data: parsing must never panic and an
// accepted event always names a conversation and a person.
func FuzzParseInbox(f *testing.F) {
	f.Add(`{"message":{"id":"m1","conversation_id":"c","kind":"comment","direction":"in","author":{"platform":"instagram","user_id":"1"}}}`)
	f.Add(`{"conversation":{"conversation":{"message":{}}}}`)
	f.Add(`{"customer":{"id":"5"},"platform":"x","conversation_id":"c"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		for _, typ := range []string{event.MessageCreated, event.ConversationUpdated} {
			d, who, _, ok := parseInbox(event.Event{Type: typ, Data: json.RawMessage(raw)})
			if ok && (who == nil || d.ConversationID == "" || firstNonEmpty(who.UserID, who.ID) == "") {
				t.Fatalf("accepted without a person: %+v %+v", d, who)
			}
		}
	})
}

func TestWhatsAppIdentityIsAPhoneKey(t *testing.T) {
	keys := Profile{Identity: &Identity{Platform: "whatsapp", UserID: "16315551234"}}.keys()
	if len(keys) != 2 || keys[1] != (Key{KindPhone, "+16315551234"}) {
		t.Fatalf("keys: %+v", keys)
	}
	if keys := (Profile{Identity: &Identity{Platform: "x", UserID: "16315551234"}}).keys(); len(keys) != 1 {
		t.Fatalf("x ids are not phones: %+v", keys)
	}
}
