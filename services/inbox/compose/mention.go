package compose

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxQuotedMention bounds @"…" so a stray quote does not swallow a note.
const maxQuotedMention = 100

// User is a workspace member who can be mentioned.
type User struct {
	ID     string
	Handle string // without the @
	Email  string
	Name   string
}

// Mention is one user mentioned in a note.
type Mention struct {
	UserID     string
	Start, End int    // byte offsets of the mention (from the @) in the note
	Text       string // note[Start:End]
}

// Mentions finds the users mentioned in note, each once, in order of first
// mention. Forms:
//   - @ann or @ann.lee: a handle, else an email local part, else a first
//     name that exactly one user has (two Anns: no match, the author must
//     use a handle). Case does not matter; a trailing ".", "-" or "_" is
//     punctuation.
//   - @"Ann Lee": a full name (or handle, or email local part).
//
// An @ inside a word (ann@example.com) is not a mention.
func Mentions(note string, users []User) []Mention {
	var out []Mention
	seen := map[string]bool{}
	prev := rune(' ')
	for i := 0; i < len(note); {
		r, size := utf8.DecodeRuneInString(note[i:])
		if r != '@' || wordRune(prev) {
			prev, i = r, i+size
			continue
		}
		token, end, quoted := mentionToken(note, i+1)
		if token != "" {
			if u := match(token, quoted, users); u != nil && !seen[u.ID] {
				seen[u.ID] = true
				out = append(out, Mention{UserID: u.ID, Start: i, End: end, Text: note[i:end]})
			}
		}
		i = max(end, i+size)
		prev, _ = utf8.DecodeLastRuneInString(note[:i])
	}
	return out
}

// wordRune reports runes that make an @ part of a word, as in an email.
func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-+%@", r)
}

// mentionToken reads what follows an @ at byte offset from: a quoted name or
// a handle-like word. It returns the token, the byte offset just past the
// mention, and whether it was quoted.
func mentionToken(note string, from int) (token string, end int, quoted bool) {
	if strings.HasPrefix(note[from:], `"`) {
		rest := note[from+1:]
		if j := strings.IndexAny(rest, "\"\n"); j >= 0 && rest[j] == '"' && j <= maxQuotedMention {
			return strings.TrimSpace(rest[:j]), from + 1 + j + 1, true
		}
		return "", from, false
	}
	end = from
	for end < len(note) {
		r, size := utf8.DecodeRuneInString(note[end:])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-') {
			break
		}
		end += size
	}
	for end > from && strings.ContainsRune("._-", rune(note[end-1])) {
		end--
	}
	return note[from:end], end, false
}

func match(token string, quoted bool, users []User) *User {
	for i, u := range users {
		if u.Handle != "" && strings.EqualFold(u.Handle, token) {
			return &users[i]
		}
	}
	for i, u := range users {
		if local, _, ok := strings.Cut(u.Email, "@"); ok && local != "" && strings.EqualFold(local, token) {
			return &users[i]
		}
	}
	var found *User
	for i, u := range users {
		name := strings.Join(strings.Fields(u.Name), " ")
		if !quoted {
			name, _ = splitName(u.Name)
		}
		if name != "" && strings.EqualFold(name, strings.Join(strings.Fields(token), " ")) {
			if found != nil {
				return nil // ambiguous
			}
			found = &users[i]
		}
	}
	return found
}
