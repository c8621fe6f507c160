package conversation

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPreview(t *testing.T) {
	long := strings.Repeat("ä", 200)
	for _, tc := range []struct {
		name, text string
		att        []Attachment
		want       string
	}{
		{"one line", "  Hello,\n\tis my order\r\non its way?  ", nil, "Hello, is my order on its way?"},
		{"attachment alone", "", []Attachment{{Type: "image"}}, "[image]"},
		{"attachment without a type", " ", []Attachment{{}}, "[attachment]"},
		{"text wins over attachments", "look", []Attachment{{Type: "video"}}, "look"},
		{"cut in runes", long, nil, strings.Repeat("ä", 139) + "…"},
		{"exactly the limit", long[:2*140], nil, long[:2*140]},
		{"nothing", "", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Preview(tc.text, tc.att)
			if got != tc.want {
				t.Fatalf("Preview = %q, want %q", got, tc.want)
			}
			if !utf8.ValidString(got) || utf8.RuneCountInString(got) > previewRunes {
				t.Fatalf("preview %q is not valid or too long", got)
			}
		})
	}
	m := Message{Text: "gone", Tombstone: &Tombstone{State: TombstoneDeleted}}
	if p := m.Preview(); p != "" {
		t.Fatalf("a deleted message previews %q", p)
	}
}
