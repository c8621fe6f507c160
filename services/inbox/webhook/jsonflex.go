package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// flexID is an id that platforms send as a JSON string or a JSON number
// (Graph v2.5 sender_id, Telegram chat ids). Numbers keep their exact digits:
// decoding them through float64 would corrupt ids above 2^53.
type flexID string

// UnmarshalJSON accepts a string, a number or null.
func (s *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexID(v)
		return nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*s = flexID(n.String())
		return nil
	}
	return fmt.Errorf("id: want string or number, got %.20s", b)
}

// flexInt is an integer sent as a JSON number or a numeric string (WhatsApp
// and X send timestamps as strings). Anything unparseable decodes to 0
// instead of failing the whole delivery: a missing time is recoverable, a
// rejected webhook batch is retried and eventually disabled by the platform.
type flexInt int64

// UnmarshalJSON accepts a number, a numeric string or null; other values give 0.
func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	*n = flexInt(parseInt(strings.TrimSpace(s)))
	return nil
}

// parseInt reads an integer, also in float notation, and gives 0 for anything else or out of range.
func parseInt(s string) int64 {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f >= math.MaxInt64 || f <= math.MinInt64 {
		return 0
	}
	return int64(f)
}

// unixSeconds converts seconds since the epoch to UTC; non-positive values give the zero time.
func unixSeconds(v flexInt) time.Time {
	if v <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(v), 0).UTC()
}

// unixMillis converts milliseconds since the epoch to UTC; non-positive values give the zero time.
func unixMillis(v flexInt) time.Time {
	if v <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(v)).UTC()
}

// unixAuto converts a timestamp whose unit varies between payload variants.
// 1e11 separates the units for every date that matters: as seconds it is
// the year 5138, as milliseconds March 1973.
func unixAuto(v flexInt) time.Time {
	if v >= 1e11 {
		return unixMillis(v)
	}
	return unixSeconds(v)
}

// parseRFC3339 parses an RFC 3339 time (fractional seconds allowed) to UTC, or gives the zero time.
func parseRFC3339(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// decodeObject unmarshals body into v after checking that it is a JSON object,
// wrapping every failure in ErrMalformed.
func decodeObject(source string, body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("%w: %s: body is not a JSON object", ErrMalformed, source)
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, source, err)
	}
	return nil
}
