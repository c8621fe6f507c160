// Package compose fills canned responses for the conversation at hand and
// finds the @mentions in internal notes.
package compose

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Placeholders lists the names a canned response may use.
var Placeholders = []string{
	"contact.name", "contact.first_name", "contact.last_name", "contact.email", "contact.phone",
	"agent.name", "agent.first_name", "agent.email",
}

// maxFallback bounds a fallback's length: it is a word or two ("there", "my
// friend"), not a paragraph hidden in braces.
const maxFallback = 100

// Contact is the customer a reply goes to.
type Contact struct {
	Name      string // display name; first and last names are taken from it when not given
	FirstName string
	LastName  string
	Email     string
	Phone     string
}

// Agent is the agent sending the reply.
type Agent struct {
	Name  string
	Email string
}

// Values fill a template.
type Values struct {
	Contact Contact
	Agent   Agent
}

func (v Values) lookup(name string) string {
	c, a := v.Contact, v.Agent
	switch name {
	case "contact.name":
		return c.Name
	case "contact.first_name":
		if c.FirstName != "" {
			return c.FirstName
		}
		first, _ := splitName(c.Name)
		return first
	case "contact.last_name":
		if c.LastName != "" {
			return c.LastName
		}
		_, last := splitName(c.Name)
		return last
	case "contact.email":
		return c.Email
	case "contact.phone":
		return c.Phone
	case "agent.name":
		return a.Name
	case "agent.first_name":
		first, _ := splitName(a.Name)
		return first
	case "agent.email":
		return a.Email
	}
	return ""
}

// splitName splits a display name into a first name and the rest. Social
// display names carry decoration ("🌸 Ann Lee 🌸"), so words without a
// letter are skipped.
func splitName(name string) (first, rest string) {
	var words []string
	for _, w := range strings.Fields(name) {
		if strings.IndexFunc(w, unicode.IsLetter) >= 0 {
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		return "", ""
	}
	return words[0], strings.Join(words[1:], " ")
}

// Template is a parsed canned response.
type Template struct {
	parts []part
}

type part struct {
	text     string // literal text, when name is empty
	name     string
	fallback string
}

// SyntaxError says where a canned response is malformed; Error() is fit to
// show the agent who saves it.
type SyntaxError struct {
	Offset int // byte offset of the offending "{{"
	Msg    string
}

// Error reads "at byte N: message".
func (e *SyntaxError) Error() string { return fmt.Sprintf("at byte %d: %s", e.Offset, e.Msg) }

// Parse reads a canned response. Placeholders are {{name}} or
// {{name|fallback}}, spaces around name and fallback allowed. Unknown names
// and an unclosed "{{" are refused here, when the response is saved, so a
// typo never reaches a customer as literal braces. A literal "{{" cannot be
// written.
func Parse(src string) (*Template, error) {
	t := &Template{}
	rest, off := src, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.addText(rest)
			return t, nil
		}
		t.addText(rest[:i])
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, &SyntaxError{Offset: off + i, Msg: `"{{" is not closed by "}}"`}
		}
		inner := rest[i+2 : i+2+j]
		if k := strings.Index(inner, "{{"); k >= 0 {
			return nil, &SyntaxError{Offset: off + i, Msg: `"{{" is not closed by "}}"`}
		}
		name, fallback, hasFallback := strings.Cut(inner, "|")
		name = strings.TrimSpace(name)
		fallback = strings.TrimSpace(fallback)
		switch {
		case name == "":
			return nil, &SyntaxError{Offset: off + i, Msg: "empty placeholder"}
		case !slices.Contains(Placeholders, name):
			return nil, &SyntaxError{Offset: off + i, Msg: fmt.Sprintf("unknown placeholder {{%s}}; use one of %s", name, strings.Join(Placeholders, ", "))}
		case hasFallback && fallback == "":
			return nil, &SyntaxError{Offset: off + i, Msg: fmt.Sprintf("empty fallback in {{%s|}}", name)}
		case len(fallback) > maxFallback:
			return nil, &SyntaxError{Offset: off + i, Msg: fmt.Sprintf("fallback of {{%s}} is longer than %d bytes", name, maxFallback)}
		}
		t.parts = append(t.parts, part{name: name, fallback: fallback})
		consumed := i + 2 + j + 2
		rest, off = rest[consumed:], off+consumed
	}
}

func (t *Template) addText(s string) {
	if s != "" {
		t.parts = append(t.parts, part{text: s})
	}
}

// Render fills the template. A placeholder with an empty value takes its
// fallback; without one it renders as nothing and its name is reported in
// missing, so the composer can warn the agent before sending. Values are
// inserted as they are, never read as template syntax.
func (t *Template) Render(v Values) (text string, missing []string) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.text)
			continue
		}
		val := strings.TrimSpace(v.lookup(p.name))
		if val == "" {
			val = p.fallback
		}
		if val == "" && !slices.Contains(missing, p.name) {
			missing = append(missing, p.name)
		}
		b.WriteString(val)
	}
	return b.String(), missing
}

// Names returns the placeholders the template uses, in order, once each.
func (t *Template) Names() []string {
	var out []string
	for _, p := range t.parts {
		if p.name != "" && !slices.Contains(out, p.name) {
			out = append(out, p.name)
		}
	}
	return out
}

// Render parses src and fills it.
func Render(src string, v Values) (text string, missing []string, err error) {
	t, err := Parse(src)
	if err != nil {
		return "", nil, err
	}
	text, missing = t.Render(v)
	return text, missing, nil
}
