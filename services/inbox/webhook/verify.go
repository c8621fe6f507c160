package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Header names the platforms sign with, for the HTTP layer.
const (
	HeaderMetaSignature  = "X-Hub-Signature-256"
	HeaderXSignature     = "X-Twitter-Webhooks-Signature"
	HeaderTelegramSecret = "X-Telegram-Bot-Api-Secret-Token"
)

const (
	signaturePrefixSHA256 = "sha256="
	// maxMetaChallengeLength bounds what MetaChallenge reflects; Meta's challenges are short numbers.
	maxMetaChallengeLength = 256
)

// ErrNoSecret is returned when verification is asked for with an empty
// secret. It is deliberately not ErrBadSignature: an empty key would accept
// signatures anyone can compute, and it is our misconfiguration (a 500 that
// someone must see), not the sender's fault.
var ErrNoSecret = errors.New("webhook: no secret configured")

func hmacSHA256(key string, data []byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(data)
	return m.Sum(nil)
}

// cutSignature strips the "sha256=" prefix (any case) from a signature header.
func cutSignature(header string) (string, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", fmt.Errorf("%w: missing header", ErrBadSignature)
	}
	if len(header) < len(signaturePrefixSHA256) || !strings.EqualFold(header[:len(signaturePrefixSHA256)], signaturePrefixSHA256) {
		return "", fmt.Errorf("%w: want a sha256= signature", ErrBadSignature)
	}
	return header[len(signaturePrefixSHA256):], nil
}

// VerifyMetaSignature checks X-Hub-Signature-256 ("sha256=<hex HMAC-SHA256>")
// over the raw body with the app secret. The body must be the bytes as
// received: Meta escapes non-ASCII as \uXXXX, so re-encoded JSON does not match.
// The legacy sha1 X-Hub-Signature is refused.
func VerifyMetaSignature(appSecret string, body []byte, header string) error {
	if appSecret == "" {
		return ErrNoSecret
	}
	sig, err := cutSignature(header)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: signature is not hex", ErrBadSignature)
	}
	if !hmac.Equal(got, hmacSHA256(appSecret, body)) {
		return fmt.Errorf("%w: mismatch", ErrBadSignature)
	}
	return nil
}

// MetaChallenge answers Meta's subscription handshake (hub.mode, hub.verify_token,
// hub.challenge): it returns the challenge to echo back and true when the mode
// is "subscribe" and the token matches ours. Challenges are limited to short
// URL-safe tokens (Meta sends digits) because they are reflected verbatim.
func MetaChallenge(mode, token, challenge, verifyToken string) (string, bool) {
	if mode != "subscribe" || verifyToken == "" || !equalSecret(token, verifyToken) {
		return "", false
	}
	if challenge == "" || len(challenge) > maxMetaChallengeLength {
		return "", false
	}
	for _, r := range challenge {
		ok := r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_' || r == '.' || r == '~'
		if !ok {
			return "", false
		}
	}
	return challenge, true
}

// XCRCResponse computes the response_token for an X CRC check:
// "sha256=" + base64(HMAC-SHA256(consumer secret, crc_token)).
func XCRCResponse(consumerSecret, crcToken string) string {
	return signaturePrefixSHA256 + base64.StdEncoding.EncodeToString(hmacSHA256(consumerSecret, []byte(crcToken)))
}

// VerifyXSignature checks x-twitter-webhooks-signature ("sha256=<base64 HMAC-SHA256>")
// over the raw body with the consumer secret.
func VerifyXSignature(consumerSecret string, body []byte, header string) error {
	if consumerSecret == "" {
		return ErrNoSecret
	}
	sig, err := cutSignature(header)
	if err != nil {
		return err
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrBadSignature)
	}
	if !hmac.Equal(got, hmacSHA256(consumerSecret, body)) {
		return fmt.Errorf("%w: mismatch", ErrBadSignature)
	}
	return nil
}

// VerifyTelegramSecret checks X-Telegram-Bot-Api-Secret-Token against the
// secret_token given to setWebhook. Telegram sends it verbatim (no HMAC).
func VerifyTelegramSecret(expected, header string) error {
	if expected == "" {
		return ErrNoSecret
	}
	if header == "" {
		return fmt.Errorf("%w: missing header", ErrBadSignature)
	}
	if !equalSecret(header, expected) {
		return fmt.Errorf("%w: mismatch", ErrBadSignature)
	}
	return nil
}

// equalSecret compares in constant time; hashing first hides the secret's length too.
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
