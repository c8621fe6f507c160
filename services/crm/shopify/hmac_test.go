package shopify

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"testing"
)

const testSecret = "shpss_test_secret"

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyHMACKnownVectors(t *testing.T) {
	// Computed outside Go: openssl dgst -sha256 -hmac shpss_test_secret -binary <file> | base64
	vectors := map[string]string{
		"orders_create_dev_store_ars.json":  "7sz+B7LZCzNFoMU0BI17QkqCwmBJlMhp+IhyuGlNW8o=",
		"orders_create_sample_2025-01.json": "LmgYEb5fvnNypBG5CPeYfE6rRDWc65Hm+ymrYMU4Jlc=",
	}
	for name, header := range vectors {
		body := fixture(t, name)
		if err := VerifyHMAC(testSecret, body, header); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if got := Sign(testSecret, body); got != header {
			t.Errorf("%s: Sign = %s, want %s", name, got, header)
		}
	}
}

func TestVerifyHMACRejects(t *testing.T) {
	body := fixture(t, "orders_create_dev_store_ars.json")
	good := Sign(testSecret, body)
	tampered := bytes.Replace(body, []byte(`"total_price": "1450000.00"`), []byte(`"total_price": "1.00"`), 1)
	if bytes.Equal(tampered, body) {
		t.Fatal("tampering did not change the body")
	}
	raw, _ := base64.StdEncoding.DecodeString(good)
	cases := []struct {
		name, secret, header string
		body                 []byte
		want                 error
	}{
		{"forged with another secret", testSecret, Sign("attacker", body), body, ErrBadSignature},
		{"tampered body", testSecret, good, tampered, ErrBadSignature},
		{"one trailing byte", testSecret, good, append(bytes.Clone(body), '\n'), ErrBadSignature},
		{"empty header", testSecret, "", body, ErrBadSignature},
		{"not base64", testSecret, "not base64!", body, ErrBadSignature},
		{"hex instead of base64", testSecret, "sha256=" + string(raw[:8]), body, ErrBadSignature},
		{"truncated digest", testSecret, base64.StdEncoding.EncodeToString(raw[:31]), body, ErrBadSignature},
		{"no secret configured", "", good, body, ErrNoSecret},
	}
	for _, c := range cases {
		if err := VerifyHMAC(c.secret, c.body, c.header); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func FuzzVerifyHMAC(f *testing.F) {
	for _, name := range []string{"orders_create_dev_store_ars.json", "refunds_create_constructed_ars.json"} {
		body := fixture(f, name)
		f.Add(testSecret, body, Sign(testSecret, body))
		f.Add("other", body, Sign(testSecret, body))
	}
	f.Add("s", []byte{}, "")
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		err := VerifyHMAC(secret, body, header)
		if secret == "" {
			if !errors.Is(err, ErrNoSecret) {
				t.Fatalf("empty secret: %v", err)
			}
			return
		}
		want := digest(secret, body)
		got, decErr := base64.StdEncoding.DecodeString(header)
		matches := decErr == nil && bytes.Equal(got, want)
		if (err == nil) != matches {
			t.Fatalf("VerifyHMAC = %v, but header matches the digest: %v", err, matches)
		}
		if err != nil && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		sig := Sign(secret, body)
		if err := VerifyHMAC(secret, body, sig); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
		if err := VerifyHMAC(secret, append(bytes.Clone(body), 'x'), sig); err == nil {
			t.Fatal("signature accepted for a longer body")
		}
	})
}
