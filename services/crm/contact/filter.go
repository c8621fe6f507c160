package contact

import (
	"slices"
	"strings"

	"github.com/communityinbox/shared/apperr"
)

// Filter selects contacts for lists and segments. Empty fields do not filter.
type Filter struct {
	Query        string            `json:"q,omitempty"` // case-insensitive text in name, email, phone or handle
	Platform     string            `json:"platform,omitempty"`
	Channel      string            `json:"channel,omitempty"` // an inbox channel id
	Label        string            `json:"label,omitempty"`
	Tier         string            `json:"tier,omitempty"`
	Country      string            `json:"country,omitempty"`
	City         string            `json:"city,omitempty"`
	IncomeBand   string            `json:"income_band,omitempty"`
	Industry     string            `json:"industry,omitempty"`
	JobTitle     string            `json:"job_title,omitempty"`
	Interest     string            `json:"interest,omitempty"`
	AgeMin       *int              `json:"age_min,omitempty"`
	AgeMax       *int              `json:"age_max,omitempty"`
	TotalMin     *int64            `json:"total_min,omitempty"`
	TotalMax     *int64            `json:"total_max,omitempty"`
	DirectMin    *int64            `json:"direct_min,omitempty"`
	DirectMax    *int64            `json:"direct_max,omitempty"`
	ReferralMin  *int64            `json:"referral_min,omitempty"`
	ReferralMax  *int64            `json:"referral_max,omitempty"`
	InfluenceMin *int64            `json:"influence_min,omitempty"`
	Custom       map[string]string `json:"custom,omitempty"` // equality, value in text form
}

// UsesMoney reports whether the filter reads money, which agents may not.
func (f Filter) UsesMoney() bool {
	return f.TotalMin != nil || f.TotalMax != nil || f.DirectMin != nil || f.DirectMax != nil || f.ReferralMin != nil || f.ReferralMax != nil
}

// Sorts the list accepts; a leading "-" sorts descending.
var sortFields = []string{"total", "direct", "referral", "influence", "created_at", "last_activity", "name"}

// MoneySorts are the sort fields only money viewers may use.
var moneySorts = []string{"total", "direct", "referral"}

// Sort is a validated sort order.
type Sort struct {
	Field string
	Desc  bool
}

// ParseSort reads "field" or "-field"; "" sorts newest first.
func ParseSort(s string, seesMoney bool) (Sort, error) {
	if s == "" {
		return Sort{Field: "created_at", Desc: true}, nil
	}
	desc := strings.HasPrefix(s, "-")
	f := strings.TrimPrefix(s, "-")
	if !slices.Contains(sortFields, f) {
		return Sort{}, apperr.Invalid("sort must be one of %s, optionally prefixed with -", strings.Join(sortFields, ", "))
	}
	if !seesMoney && slices.Contains(moneySorts, f) {
		return Sort{}, apperr.Forbidden("sorting by %s requires the manager role", f)
	}
	return Sort{Field: f, Desc: desc}, nil
}

// Validate checks the filter against the custom attribute schema and
// normalizes custom values to their stored form.
func (f *Filter) Validate(defs []AttrDef) error {
	if f.Tier != "" && !slices.Contains([]string{"new", "regular", "vip"}, f.Tier) {
		return apperr.Invalid("tier must be new, regular or vip")
	}
	if len(f.Query) > 200 {
		return apperr.Invalid("q is longer than 200 bytes")
	}
	f.Country = strings.ToUpper(f.Country)
	f.Interest = strings.ToLower(f.Interest)
	for name, v := range f.Custom {
		i := slices.IndexFunc(defs, func(d AttrDef) bool { return d.Name == name })
		if i < 0 {
			return apperr.Invalid("unknown custom attribute %q", name)
		}
		if _, err := defs[i].Coerce(v, true); err != nil {
			return err
		}
	}
	return nil
}

// CustomValues returns the custom equality conditions in stored form.
func (f Filter) CustomValues(defs []AttrDef) map[string]any {
	out := map[string]any{}
	for name, v := range f.Custom {
		i := slices.IndexFunc(defs, func(d AttrDef) bool { return d.Name == name })
		if i < 0 {
			continue
		}
		if c, err := defs[i].Coerce(v, true); err == nil {
			out[name] = c
		}
	}
	return out
}

// Page asks for one page of a list.
type Page struct {
	Cursor string // opaque, from the previous page
	Limit  int
}

// MaxLimit bounds a page.
const MaxLimit = 200
