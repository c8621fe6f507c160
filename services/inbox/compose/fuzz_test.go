package compose

import (
	"strings"
	"testing"
)

// FuzzTemplate: Parse never panics; what it accepts renders
// deterministically, text without "{{" renders unchanged, and values never
// pull in placeholders the template does not use.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"Hi {{contact.first_name|there}}, {{agent.name}} here.", "{{contact.name}}", "{{", "}}{{", "{{ | }}",
		"{{contact.name|a|b}}", "{{contact.email}}{{contact.phone}}", "plain text", "{{{contact.name}}}", "{{contact.name|}}}",
	} {
		f.Add(s, "Ann Lee")
	}
	const marker = "\x00AGENT\x00"
	f.Fuzz(func(t *testing.T, src, name string) {
		tpl, err := Parse(src)
		if err != nil {
			if tpl != nil {
				t.Fatal("template with error")
			}
			return
		}
		v := Values{Contact: Contact{Name: name}, Agent: Agent{Name: marker, Email: marker}}
		out, missing := tpl.Render(v)
		if again, _ := tpl.Render(v); again != out {
			t.Fatal("not deterministic")
		}
		if !strings.Contains(src, "{{") && out != src {
			t.Fatalf("plain text changed: %q → %q", src, out)
		}
		usesAgent := false
		for _, n := range tpl.Names() {
			usesAgent = usesAgent || strings.HasPrefix(n, "agent.")
		}
		if !usesAgent && !strings.Contains(src, marker) && !strings.Contains(name, marker) && strings.Contains(out, marker) {
			t.Fatalf("agent value rendered by %q", src)
		}
		for _, m := range missing {
			if !strings.HasPrefix(m, "contact.") {
				t.Fatalf("%s reported missing though set", m)
			}
		}
	})
}

// FuzzMentions: any note yields valid offsets, known users, each once.
func FuzzMentions(f *testing.F) {
	for _, s := range []string{"@ann hi", `@"Ann Lee" and @bob.`, "a@b.c @", "@\xff@ann", `@"` + strings.Repeat("x", 200) + `"`, "@José @josé"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, note string) {
		ms := Mentions(note, team)
		seen := map[string]bool{}
		known := map[string]bool{}
		for _, u := range team {
			known[u.ID] = true
		}
		prevEnd := 0
		for _, m := range ms {
			if m.Start < prevEnd || m.End <= m.Start || m.End > len(note) || note[m.Start] != '@' || note[m.Start:m.End] != m.Text {
				t.Fatalf("bad mention %+v in %q", m, note)
			}
			if !known[m.UserID] || seen[m.UserID] {
				t.Fatalf("user %q unknown or repeated", m.UserID)
			}
			seen[m.UserID] = true
			prevEnd = m.End
		}
	})
}
