package connector

import (
	"net/http"
	"testing"
)

// FuzzPlatformErrors feeds arbitrary bodies to every error parser: a
// platform (or a proxy in front of it) can answer anything, and whatever it
// is must classify into exactly one class without panicking.
func FuzzPlatformErrors(f *testing.F) {
	for _, s := range []string{
		`{"error":{"message":"(#10) outside window","type":"OAuthException","code":10,"error_subcode":2018278,"fbtrace_id":"A"}}`,
		`{"error":{"message":"(#131047) Re-engagement message","code":131047,"error_data":{"details":"more than 24 hours"}}}`,
		`{"error":{"code":"x","message":1}}`,
		`{"title":"Forbidden","detail":"duplicate content","type":"about:blank","status":403}`,
		`{"errors":[{"message":"bad"}],"title":"Invalid Request","type":"https://api.twitter.com/2/problems/invalid-request"}`,
		`{"error":{"code":403,"message":"quota <a href=x>q</a>","errors":[{"reason":"quotaExceeded"}]}}`,
		`{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`,
		`{"ok":false,"parameters":{"retry_after":-3}}`,
		`<html>502</html>`, ``, `null`, `[]`,
	} {
		f.Add([]byte(s), 400)
		f.Add([]byte(s), 503)
	}
	parsers := map[Platform]func([]byte) platformError{
		Facebook: parseGraphError, X: parseXError, YouTube: parseGoogleError, Telegram: parseTelegramError,
	}
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		if status < 400 || status > 599 {
			status = 400 + (status%200+200)%200
		}
		for p, parse := range parsers {
			pe := parse(body)
			e := classify(p, status, http.Header{}, pe)
			if e.Class != Permanent && e.Class != Retryable && e.Class != Ambiguous {
				t.Fatalf("%s: class %v", p, e.Class)
			}
			if e.Message == "" || e.RetryAfter < 0 || e.Error() == "" {
				t.Fatalf("%s: %+v", p, e)
			}
			if status == http.StatusTooManyRequests && e.Class != Retryable {
				t.Fatalf("%s: 429 classified %v", p, e.Class)
			}
		}
	})
}
