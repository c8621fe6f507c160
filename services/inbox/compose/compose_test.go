package compose

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var ann = Values{
	Contact: Contact{Name: "🌸 Ann Marie Lee 🌸", Email: "ann@example.com"},
	Agent:   Agent{Name: "Bob Stone", Email: "bob@brand.example"},
}

func TestRender(t *testing.T) {
	cases := []struct {
		src     string
		v       Values
		want    string
		missing []string
	}{
		{"Hi {{contact.first_name}}, {{agent.first_name}} here.", ann, "Hi Ann, Bob here.", nil},
		{"Hi {{ contact.name }}!", ann, "Hi 🌸 Ann Marie Lee 🌸!", nil},
		{"Dear {{contact.last_name|customer}}", ann, "Dear Marie Lee", nil},
		{"Hi {{contact.first_name|there}}!", Values{}, "Hi there!", nil},
		{"Hi {{contact.first_name | my friend }}!", Values{Contact: Contact{Name: "  "}}, "Hi my friend!", nil},
		{"Hi {{contact.first_name}}, call {{contact.phone}} or {{contact.phone}}", Values{}, "Hi , call  or ", []string{"contact.first_name", "contact.phone"}},
		{"Explicit {{contact.first_name}}", Values{Contact: Contact{Name: "Ann Lee", FirstName: "Annie"}}, "Explicit Annie", nil},
		{"No placeholders } {single} braces }}", Values{}, "No placeholders } {single} braces }}", nil},
		// Values are data, never template syntax.
		{"Hi {{contact.name}}", Values{Contact: Contact{Name: "{{agent.email}}"}, Agent: Agent{Email: "leak@x"}}, "Hi {{agent.email}}", nil},
	}
	for _, tc := range cases {
		got, missing, err := Render(tc.src, tc.v)
		if err != nil || got != tc.want || !reflect.DeepEqual(missing, tc.missing) {
			t.Errorf("%q: %q %v %v, want %q %v", tc.src, got, missing, err, tc.want, tc.missing)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	cases := map[string]string{
		"Hi {{contact.nickname}}": "unknown placeholder {{contact.nickname}}",
		"Hi {{contact.first_name": `"{{" is not closed`,
		"Hi {{ {{contact.name}}":  `"{{" is not closed`,
		"Hi {{}}":                 "empty placeholder",
		"Hi {{ | there }}":        "empty placeholder",
		"Hi {{contact.name|}}":    "empty fallback",
		"Hi {{contact.name|" + strings.Repeat("x", 101) + "}}": "longer than 100 bytes",
	}
	for src, msg := range cases {
		_, err := Parse(src)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(se.Msg, msg) || se.Offset != 3 {
			t.Errorf("%q: %v, want %q at byte 3", src, err, msg)
		}
	}
	tpl, err := Parse("{{agent.name}} {{contact.name}} {{agent.name|x}}")
	if err != nil || !reflect.DeepEqual(tpl.Names(), []string{"agent.name", "contact.name"}) {
		t.Fatalf("names %v %v", tpl.Names(), err)
	}
}

var team = []User{
	{ID: "u1", Handle: "ann", Email: "ann.lee@brand.example", Name: "Ann Lee"},
	{ID: "u2", Handle: "bstone", Email: "bob@brand.example", Name: "Bob Stone"},
	{ID: "u3", Handle: "carla", Email: "c.diaz@brand.example", Name: "Carla Díaz"},
	{ID: "u4", Handle: "ann2", Email: "ann.kim@brand.example", Name: "Ann Kim"},
	{ID: "u5", Handle: "josé", Email: "jose@brand.example", Name: "José Ruiz"},
}

func mentioned(ms []Mention) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.UserID+"="+m.Text)
	}
	return out
}

func TestMentions(t *testing.T) {
	cases := []struct {
		note string
		want []string
	}{
		{"@ann can you check?", []string{"u1=@ann"}},
		{"cc @bob and @Carla.", []string{"u2=@bob", "u3=@Carla"}},                          // email local part; handle, trailing dot
		{`ping @"Ann Kim" and @"bob stone"`, []string{`u4=@"Ann Kim"`, `u2=@"bob stone"`}}, // full names
		{"@ann.lee @c.diaz", []string{"u1=@ann.lee", "u3=@c.diaz"}},                        // email local parts with dots
		{"@Ann again: @ANN", []string{"u1=@Ann"}},                                          // once each
		{"@José thanks, @josé", []string{"u5=@José"}},
		{"write to ann@brand.example or @nobody", nil}, // emails and unknowns are not mentions
		{"@Stone?", nil}, // last names are not matched unquoted
		{`@"Ann`, nil},   // unclosed quote
		{"(@bstone)", []string{"u2=@bstone"}},
		{"@@ann", nil},
	}
	for _, tc := range cases {
		if got := mentioned(Mentions(tc.note, team)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.note, got, tc.want)
		}
	}
	// Two users named Ann without an "ann" handle: @ann by first name is ambiguous.
	twoAnns := []User{{ID: "a", Name: "Ann Lee"}, {ID: "b", Name: "Ann Kim"}, {ID: "c", Name: "Carla Díaz"}}
	if got := mentioned(Mentions("@ann @carla", twoAnns)); !reflect.DeepEqual(got, []string{"c=@carla"}) {
		t.Errorf("ambiguous first name: %v", got)
	}
	m := Mentions("hey @bob!", team)
	if len(m) != 1 || m[0].Start != 4 || m[0].End != 8 {
		t.Errorf("offsets %+v", m)
	}
}
