package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Vectors from testdata/SOURCES notes (shared fixtures).
const (
	fbAppSecret  = "e6af24be1d683c8c911949f897eea1f6"
	fbSignature  = "sha256=3bf62d5bc657e3a17e55fa0095fa29964db507393b05209c260e2c845254968b"
	fbSHA1Header = "sha1=da611bd448dc12acdf0cd3ab33fdb3adaee26145"
	waAppSecret  = "1222e786b144d0e85b9f365372d93676"
	waSignature  = "sha256=54edfa1d7259e0eb13c677cc7d73d1b5c86cfa12433d19156e058ab9251bc441"
)

func TestVerifyMetaSignatureVectors(t *testing.T) {
	fb := fixture(t, "facebook/messenger_message_text_signed_raw.json")
	wa := fixture(t, "whatsapp/message_text_signed_raw.json")
	for name, tt := range map[string]struct {
		secret string
		body   []byte
		header string
	}{
		"messenger":          {fbAppSecret, fb, fbSignature},
		"whatsapp":           {waAppSecret, wa, waSignature},
		"upper-case hex":     {fbAppSecret, fb, "sha256=" + strings.ToUpper(strings.TrimPrefix(fbSignature, "sha256="))},
		"upper-case prefix":  {waAppSecret, wa, "SHA256=" + strings.TrimPrefix(waSignature, "sha256=")},
		"surrounding spaces": {waAppSecret, wa, " " + waSignature + " "},
	} {
		if err := VerifyMetaSignature(tt.secret, tt.body, tt.header); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestVerifyMetaSignatureRejects(t *testing.T) {
	fb := fixture(t, "facebook/messenger_message_text_signed_raw.json")
	tampered := bytes.Replace(fb, []byte("Test"), []byte("Tost"), 1)
	// Re-encoding the same JSON turns \u00e4 escapes into UTF-8 bytes.
	var v any
	if err := json.Unmarshal(fb, &v); err != nil {
		t.Fatal(err)
	}
	reencoded, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		secret string
		body   []byte
		header string
	}{
		"wrong secret":           {waAppSecret, fb, fbSignature},
		"other platform's sig":   {fbAppSecret, fb, waSignature},
		"tampered body":          {fbAppSecret, tampered, fbSignature},
		"trailing newline added": {fbAppSecret, append(append([]byte{}, fb...), '\n'), fbSignature},
		"re-encoded json":        {fbAppSecret, reencoded, fbSignature},
		"missing header":         {fbAppSecret, fb, ""},
		"legacy sha1 header":     {fbAppSecret, fb, fbSHA1Header},
		"no prefix":              {fbAppSecret, fb, strings.TrimPrefix(fbSignature, "sha256=")},
		"not hex":                {fbAppSecret, fb, "sha256=zz" + fbSignature[9:]},
		"truncated":              {fbAppSecret, fb, fbSignature[:len(fbSignature)-2]},
		"empty signature":        {fbAppSecret, fb, "sha256="},
	} {
		err := VerifyMetaSignature(tt.secret, tt.body, tt.header)
		if !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: err = %v, want ErrBadSignature", name, err)
		}
	}
	if err := VerifyMetaSignature("", fb, fbSignature); !errors.Is(err, ErrNoSecret) || errors.Is(err, ErrBadSignature) {
		t.Errorf("empty secret: err = %v, want ErrNoSecret only", err)
	}
}

func TestMetaChallenge(t *testing.T) {
	if got, ok := MetaChallenge("subscribe", "s3cret", "1158201444", "s3cret"); !ok || got != "1158201444" {
		t.Errorf("valid handshake: %q, %v", got, ok)
	}
	for name, tt := range map[string][4]string{
		"wrong token":          {"subscribe", "guess", "1", "s3cret"},
		"token prefix":         {"subscribe", "s3cre", "1", "s3cret"},
		"wrong mode":           {"unsubscribe", "s3cret", "1", "s3cret"},
		"no verify token set":  {"subscribe", "", "1", ""},
		"empty challenge":      {"subscribe", "s3cret", "", "s3cret"},
		"markup in challenge":  {"subscribe", "s3cret", "<script>alert(1)</script>", "s3cret"},
		"oversized challenge":  {"subscribe", "s3cret", strings.Repeat("9", 257), "s3cret"},
		"header injection try": {"subscribe", "s3cret", "1\r\nSet-Cookie: x", "s3cret"},
	} {
		if got, ok := MetaChallenge(tt[0], tt[1], tt[2], tt[3]); ok || got != "" {
			t.Errorf("%s: accepted (%q)", name, got)
		}
	}
}

func TestXCRCAndSignature(t *testing.T) {
	// nyaruka/courier's vector: consumer secret "apiSecret", crc_token "test token".
	const want = "sha256=O5hJl2njQRIa4vsumZ+3oom9ECR5m3aQLRZkPoYelp0="
	if got := XCRCResponse("apiSecret", "test token"); got != want {
		t.Errorf("XCRCResponse = %q, want %q", got, want)
	}
	// Body signatures use the same HMAC and encoding, so the vector checks them too.
	if err := VerifyXSignature("apiSecret", []byte("test token"), want); err != nil {
		t.Errorf("VerifyXSignature(vector) = %v", err)
	}
	body := fixture(t, "x/direct_message_events.json")
	good := XCRCResponse("apiSecret", string(body))
	if err := VerifyXSignature("apiSecret", body, good); err != nil {
		t.Errorf("VerifyXSignature(fixture) = %v", err)
	}
	for name, tt := range map[string]struct {
		secret string
		body   []byte
		header string
	}{
		"wrong secret":  {"apiSecret2", body, good},
		"tampered body": {"apiSecret", bytes.Replace(body, []byte("Hello"), []byte("Jello"), 1), good},
		"missing":       {"apiSecret", body, ""},
		"hex not b64":   {"apiSecret", []byte("test token"), "sha256=3bf62d5bc657e3a17e55fa0095fa29964db507393b05209c260e2c845254968b"},
		"not base64":    {"apiSecret", body, "sha256=***"},
		"sha1 prefix":   {"apiSecret", []byte("test token"), "sha1=O5hJl2njQRIa4vsumZ+3oom9ECR5m3aQLRZkPoYelp0="},
	} {
		if err := VerifyXSignature(tt.secret, tt.body, tt.header); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: err = %v, want ErrBadSignature", name, err)
		}
	}
	if err := VerifyXSignature("", body, good); !errors.Is(err, ErrNoSecret) {
		t.Errorf("empty secret: err = %v, want ErrNoSecret", err)
	}
}

func TestVerifyTelegramSecret(t *testing.T) {
	if err := VerifyTelegramSecret("tg_Secret-123", "tg_Secret-123"); err != nil {
		t.Errorf("match: %v", err)
	}
	for name, header := range map[string]string{
		"missing": "", "wrong": "tg_Secret-124", "prefix": "tg_Secret-12", "longer": "tg_Secret-1234", "case": "TG_SECRET-123",
	} {
		if err := VerifyTelegramSecret("tg_Secret-123", header); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: err = %v, want ErrBadSignature", name, err)
		}
	}
	if err := VerifyTelegramSecret("", ""); !errors.Is(err, ErrNoSecret) {
		t.Errorf("no secret configured: err = %v, want ErrNoSecret", err)
	}
}
