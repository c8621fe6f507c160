package secretbox

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func newKey(t testing.TB) Key {
	t.Helper()
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newBox(t testing.TB, current Key, old ...Key) *Box {
	t.Helper()
	b, err := New(current, old...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seal(t testing.TB, b *Box, plaintext string, aad ...string) string {
	t.Helper()
	s, err := b.Seal(plaintext, aad...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpenRoundTrip(t *testing.T) {
	b := newBox(t, newKey(t))
	aad := []string{"wsA", "ch1", "app_secret"}
	for _, pt := range []string{"s3cret", "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "ünïcödé ✓", "v1:looks-sealed", strings.Repeat("x", 512)} {
		s := seal(t, b, pt, aad...)
		if !strings.HasPrefix(s, Prefix+b.KeyID()+":") || strings.Contains(s, pt) {
			t.Fatalf("sealed %q as %q", pt, s)
		}
		// nonce 12 + plaintext + tag 16, base64 without padding.
		if want := len(Prefix) + 9 + base64.RawURLEncoding.EncodedLen(12+len(pt)+16); len(s) != want {
			t.Fatalf("sealed length %d, want %d", len(s), want)
		}
		if again := seal(t, b, pt, aad...); again == s {
			t.Fatalf("two seals of %q are equal: nonce reused", pt)
		}
		got, stale, err := b.Open(s, aad...)
		if err != nil || got != pt || stale {
			t.Fatalf("open = %q stale=%v err=%v, want %q", got, stale, err, pt)
		}
	}
	if s := seal(t, b, "", aad...); s != "" {
		t.Fatalf("empty sealed as %q", s)
	}
}

// TestOpenGolden pins the stored format: a value sealed by an earlier build
// must open forever, so the envelope and the aad encoding cannot drift.
func TestOpenGolden(t *testing.T) {
	k, err := ParseKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil {
		t.Fatal(err)
	}
	b := newBox(t, k)
	if k.ID() != "507bdba0" {
		t.Fatalf("key id %s", k.ID())
	}
	got, stale, err := b.Open("v1:507bdba0:CK858ZuTAOIrHhLkvj86teKK_KGt43iL9oR0YPK_kvnWpQv-P2KG9mo", "ws1", "ch1", "app_secret")
	if err != nil || got != "golden-secret" || stale {
		t.Fatalf("open golden = %q %v %v", got, stale, err)
	}
	if l := b.Lookup("vt-1", "verify_token"); len(l) != 1 || l[0] != "507bdba0:maAiNrAaJexkCbdOsUFZz6mkaWLR7aOeQcqo6sNpLR8" {
		t.Fatalf("lookup %v", l)
	}
}

func TestOpenWrongKeyFails(t *testing.T) {
	a, other := newBox(t, newKey(t)), newBox(t, newKey(t))
	s := seal(t, a, "s3cret", "ws", "ch", "f")
	if _, _, err := other.Open(s, "ws", "ch", "f"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("other box: %v, want ErrUnknownKey", err)
	}
	// Claiming the other key's id does not help: the tag does not verify.
	e, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	e.KeyID = other.KeyID()
	if pt, _, err := other.Open(e.String(), "ws", "ch", "f"); !errors.Is(err, ErrDecrypt) || pt != "" {
		t.Fatalf("relabelled: %q %v, want ErrDecrypt", pt, err)
	}
}

func TestOpenTamperedFails(t *testing.T) {
	b := newBox(t, newKey(t))
	s := seal(t, b, "s3cret", "ws", "ch", "f")
	e, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	raw := append(append([]byte(nil), e.Nonce...), e.Ciphertext...)
	// Every byte matters: nonce, ciphertext and tag.
	for i := range raw {
		bad := append([]byte(nil), raw...)
		bad[i] ^= 0x01
		v := Envelope{KeyID: e.KeyID, Nonce: bad[:12], Ciphertext: bad[12:]}.String()
		if pt, _, err := b.Open(v, "ws", "ch", "f"); !errors.Is(err, ErrDecrypt) || pt != "" {
			t.Fatalf("byte %d flipped: %q %v, want ErrDecrypt", i, pt, err)
		}
	}
	truncated := Envelope{KeyID: e.KeyID, Nonce: e.Nonce, Ciphertext: e.Ciphertext[:len(e.Ciphertext)-1]}.String()
	if _, _, err := b.Open(truncated, "ws", "ch", "f"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("truncated: %v", err)
	}
	if _, _, err := b.Open(s[:len(s)-20], "ws", "ch", "f"); !errors.Is(err, ErrFormat) && !errors.Is(err, ErrDecrypt) {
		t.Fatalf("cut text: %v", err)
	}
}

func TestOpenAADMismatchFails(t *testing.T) {
	b := newBox(t, newKey(t))
	s := seal(t, b, "s3cret", "wsA", "ch1", "app_secret")
	for _, aad := range [][]string{
		{"wsB", "ch1", "app_secret"},   // copied into another workspace
		{"wsA", "ch2", "app_secret"},   // another channel
		{"wsA", "ch1", "access_token"}, // another field
		{"wsA", "ch1app_secret"},       // same bytes, other split
		{"wsA", "ch1", "app_secret", ""},
		nil,
	} {
		if pt, _, err := b.Open(s, aad...); !errors.Is(err, ErrDecrypt) || pt != "" {
			t.Fatalf("aad %q: %q %v, want ErrDecrypt", aad, pt, err)
		}
	}
}

func TestOpenLegacyPlaintext(t *testing.T) {
	b := newBox(t, newKey(t))
	for _, pt := range []string{"s3cret", "EAABwzLixnjYBO", "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"} {
		got, stale, err := b.Open(pt, "ws", "ch", "f")
		if err != nil || got != pt || !stale {
			t.Fatalf("legacy %q: %q stale=%v %v", pt, got, stale, err)
		}
	}
	if got, stale, err := b.Open("", "ws"); got != "" || stale || err != nil {
		t.Fatalf("empty: %q %v %v", got, stale, err)
	}
	// The prefix is a claim: a malformed sealed value is an error, not plain text.
	if _, _, err := b.Open("v1:nothex!!:AAAA", "ws"); !errors.Is(err, ErrFormat) {
		t.Fatalf("malformed: %v", err)
	}
}

func TestRotation(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	before := newBox(t, k1)
	old := seal(t, before, "s3cret", "ws", "ch", "f")

	after := newBox(t, k2, k1)
	if after.KeyID() != k2.ID() || k1.ID() == k2.ID() {
		t.Fatalf("current key %s, want %s", after.KeyID(), k2.ID())
	}
	got, stale, err := after.Open(old, "ws", "ch", "f")
	if err != nil || got != "s3cret" || !stale {
		t.Fatalf("old value after rotation: %q stale=%v %v", got, stale, err)
	}
	fresh := seal(t, after, got, "ws", "ch", "f")
	if !strings.HasPrefix(fresh, Prefix+k2.ID()+":") {
		t.Fatalf("new write %q not under the new key %s", fresh, k2.ID())
	}
	if got, stale, err := after.Open(fresh, "ws", "ch", "f"); err != nil || got != "s3cret" || stale {
		t.Fatalf("resealed: %q stale=%v %v", got, stale, err)
	}
	// Once the old key is dropped its values no longer open.
	if _, _, err := newBox(t, k2).Open(old, "ws", "ch", "f"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old value without the old key: %v", err)
	}
	// Lookups: the current key's first, then the old key's, which is what was indexed before.
	l := after.Lookup("vt-1", "verify_token")
	prev := before.Lookup("vt-1", "verify_token")
	if len(l) != 2 || len(prev) != 1 || l[1] != prev[0] || l[0] == prev[0] || !strings.HasPrefix(l[0], k2.ID()+":") {
		t.Fatalf("lookups after rotation %v, before %v", l, prev)
	}
	if other := after.Lookup("vt-2", "verify_token"); other[0] == l[0] {
		t.Fatal("different values share a lookup")
	}
	// Listing the current key among the old ones too is harmless.
	if b := newBox(t, k2, k2, k1); len(b.Lookup("x")) != 2 {
		t.Fatalf("duplicate key counted twice: %d lookups", len(b.Lookup("x")))
	}
}

func TestParseKey(t *testing.T) {
	raw := make([]byte, KeySize)
	for i := range raw {
		raw[i] = byte(200 + i)
	}
	want, err := NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		k, err := ParseKey(" " + enc.EncodeToString(raw) + "\n")
		if err != nil || k.ID() != want.ID() {
			t.Fatalf("parse: id %q err %v, want %s", k.ID(), err, want.ID())
		}
	}
	short := base64.StdEncoding.EncodeToString(raw[:16])
	if _, err := ParseKey(short); err == nil || !strings.Contains(err.Error(), "16 bytes") {
		t.Fatalf("16-byte key: %v", err)
	}
	if _, err := ParseKey("not base64 at all: hunter2"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("non-base64 key: %v", err)
	}
	if _, err := NewKey(raw[:31]); err == nil {
		t.Fatal("31-byte key accepted")
	}
}

func TestDeriveKey(t *testing.T) {
	a1, err := DeriveKey("dev-only-secret-change-me-please")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := DeriveKey("dev-only-secret-change-me-please")
	b, _ := DeriveKey("another-secret")
	if a1.ID() != a2.ID() || a1.ID() == b.ID() || len(a1.ID()) != 8 {
		t.Fatalf("derived ids %s %s %s", a1.ID(), a2.ID(), b.ID())
	}
	// Deterministic: what one process seals, another with the same secret opens.
	s := seal(t, newBox(t, a1), "s3cret", "ws")
	if got, _, err := newBox(t, a2).Open(s, "ws"); err != nil || got != "s3cret" {
		t.Fatalf("derived key open: %q %v", got, err)
	}
	if _, err := DeriveKey(""); err == nil {
		t.Fatal("derived a key from nothing")
	}
}

func TestNewRejectsMissingKeys(t *testing.T) {
	if _, err := New(Key{}); err == nil {
		t.Fatal("box without a key")
	}
	if _, err := New(newKey(t), Key{}); err == nil {
		t.Fatal("box with an empty old key")
	}
}

func TestParseRejects(t *testing.T) {
	// A key id with a letter in it, so that its upper case is another
	// spelling (about one random id in 43 is all digits).
	var valid string
	for valid == "" || !strings.ContainsAny(valid[3:11], "abcdef") {
		valid = seal(t, newBox(t, newKey(t)), "s3cret")
	}
	id := valid[3:11]
	body := valid[12:]
	for _, s := range []string{
		"", "s3cret", "v1:", "v1:" + id, "v1:" + id + ":",
		"v1:" + strings.ToUpper(id) + ":" + body, // one spelling only
		"v2:" + id + ":" + body,
		"v1:" + id + "x" + body,
		"v1:" + id[:7] + ":" + body,
		"v1:" + id + ":" + body + "=",
		"v1:" + id + ":" + body[:10] + "\n" + body[10:],
		"v1:" + id + ":" + body[:len(body)-1] + "+",
		"v1:" + id + ":" + base64.RawURLEncoding.EncodeToString(make([]byte, 27)), // shorter than nonce + tag
	} {
		if _, err := Parse(s); !errors.Is(err, ErrFormat) {
			t.Errorf("Parse(%q) = %v, want ErrFormat", s, err)
		}
	}
	e, err := Parse(valid)
	if err != nil || e.KeyID != id || len(e.Nonce) != 12 || len(e.Ciphertext) != len("s3cret")+16 || e.String() != valid {
		t.Fatalf("Parse(valid) = %+v %v", e, err)
	}
}

// FuzzParse feeds the stored-format decoder arbitrary text, as a corrupted or
// hostile database document would: it must not panic, anything it accepts
// must re-encode to the same text, and opening it must fail cleanly unless
// it really was sealed by the box.
func FuzzParse(f *testing.F) {
	k, err := ParseKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil {
		f.Fatal(err)
	}
	b := newBox(f, k)
	for _, s := range []string{
		"v1:507bdba0:CK858ZuTAOIrHhLkvj86teKK_KGt43iL9oR0YPK_kvnWpQv-P2KG9mo",
		seal(f, b, "s3cret", "ws", "ch", "app_secret"),
		seal(f, b, "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "ws", "ch", "bot_token"),
		"", "s3cret", "v1:", "v1:507bdba0:", "v1:507bdba0:AAAA", "v1:zzzzzzzz:AAAA",
		"v1:507bdba0:" + strings.Repeat("A", 40) + "\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err == nil {
			if e.String() != s {
				t.Fatalf("Parse(%q) re-encodes as %q", s, e.String())
			}
			if len(e.KeyID) != 8 || len(e.Nonce) != 12 || len(e.Ciphertext) < 16 {
				t.Fatalf("Parse(%q) = %+v", s, e)
			}
		} else if !errors.Is(err, ErrFormat) {
			t.Fatalf("Parse(%q) error %v is not ErrFormat", s, err)
		}
		pt, stale, err := b.Open(s, "ws", "ch", "app_secret")
		switch {
		case !IsSealed(s):
			if err != nil || pt != s || stale != (s != "") {
				t.Fatalf("plain %q: %q %v %v", s, pt, stale, err)
			}
		case err == nil:
			// Only a genuine value of this box and aad can open; then it seals back.
			if again, _, err2 := b.Open(seal(t, b, pt, "ws", "ch", "app_secret"), "ws", "ch", "app_secret"); err2 != nil || again != pt {
				t.Fatalf("reseal of %q: %q %v", s, again, err2)
			}
		case !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrDecrypt):
			t.Fatalf("Open(%q): unexpected error %v", s, err)
		}
	})
}

// FuzzSealOpen checks the round trip for arbitrary plaintexts and aad.
func FuzzSealOpen(f *testing.F) {
	f.Add("s3cret", "wsA", "ch1")
	f.Add("", "", "")
	f.Add("v1:", "a\x00b", "ünï")
	b := newBox(f, newKey(f))
	f.Fuzz(func(t *testing.T, pt, ws, ch string) {
		s := seal(t, b, pt, ws, ch)
		if pt == "" {
			if s != "" {
				t.Fatalf("empty sealed as %q", s)
			}
			return
		}
		got, stale, err := b.Open(s, ws, ch)
		if err != nil || got != pt || stale {
			t.Fatalf("round trip of %q: %q %v %v", pt, got, stale, err)
		}
		if _, _, err := b.Open(s, ws+"x", ch); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("aad change accepted: %v", err)
		}
	})
}
