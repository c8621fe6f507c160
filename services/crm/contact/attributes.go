package contact

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/communityinbox/shared/apperr"
)

// Custom attribute types.
const (
	TypeString = "string"
	TypeNumber = "number"
	TypeBool   = "bool"
	TypeDate   = "date"
	TypeEnum   = "enum"
)

// AttrDef defines one custom attribute of a workspace.
type AttrDef struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Label   string   `json:"label,omitempty"`
	Options []string `json:"options,omitempty"` // enum values
}

var attrName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// reserved names are the typed attributes; a custom one may not shadow them.
var reserved = []string{"age", "birth_year", "country", "city", "income_band", "job_title", "industry", "interests", "name", "email", "phone"}

// Validate checks a definition.
func (d AttrDef) Validate() error {
	if !attrName.MatchString(d.Name) || slices.Contains(reserved, d.Name) {
		return apperr.Invalid("attribute name %q: want lower-case letters, digits and _, starting with a letter, not a built-in name", d.Name)
	}
	switch d.Type {
	case TypeString, TypeNumber, TypeBool, TypeDate:
		if len(d.Options) > 0 {
			return apperr.Invalid("attribute %s: options are only for enum", d.Name)
		}
	case TypeEnum:
		if len(d.Options) == 0 || len(d.Options) > 100 {
			return apperr.Invalid("attribute %s: an enum needs 1 to 100 options", d.Name)
		}
		for _, o := range d.Options {
			if o == "" || len(o) > 100 {
				return apperr.Invalid("attribute %s: empty or overlong option", d.Name)
			}
		}
	default:
		return apperr.Invalid("attribute %s: type must be string, number, bool, date or enum", d.Name)
	}
	return nil
}

// Coerce validates v (as decoded from JSON, or as text from a query string
// when fromText) against the definition and returns the stored form: string,
// number as an exact decimal string, bool, date as "YYYY-MM-DD", enum value.
func (d AttrDef) Coerce(v any, fromText bool) (any, error) {
	bad := func(want string) error {
		return apperr.Invalid("attribute %s: want %s, got %v", d.Name, want, v)
	}
	if fromText {
		s, _ := v.(string)
		switch d.Type {
		case TypeBool:
			switch s {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
			return nil, bad("true or false")
		}
	}
	switch d.Type {
	case TypeString:
		s, ok := v.(string)
		if !ok || len(s) > 1000 {
			return nil, bad("a string of at most 1000 bytes")
		}
		return s, nil
	case TypeNumber:
		var text string
		switch n := v.(type) {
		case float64:
			return n, nil
		case int:
			return float64(n), nil
		case string:
			text = n
		case fmt.Stringer: // json.Number
			text = n.String()
		default:
			return nil, bad("a number")
		}
		r, ok := new(big.Rat).SetString(strings.TrimSpace(text))
		if !ok || strings.ContainsAny(text, "/eE") || len(text) > 40 {
			return nil, bad("a decimal number")
		}
		f, _ := r.Float64()
		return f, nil
	case TypeBool:
		b, ok := v.(bool)
		if !ok {
			return nil, bad("true or false")
		}
		return b, nil
	case TypeDate:
		s, ok := v.(string)
		if !ok {
			return nil, bad("a date YYYY-MM-DD")
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, bad("a date YYYY-MM-DD")
		}
		return t.Format(time.DateOnly), nil
	case TypeEnum:
		s, ok := v.(string)
		if !ok || !slices.Contains(d.Options, s) {
			return nil, bad("one of " + strings.Join(d.Options, ", "))
		}
		return s, nil
	}
	return nil, bad(d.Type)
}

// AttributesInput is a change to the typed attributes; nil fields stay as they are.
// Age is accepted for convenience and stored as a birth year (this year − age).
type AttributesInput struct {
	Age        *int      `json:"age,omitempty"`
	BirthYear  *int      `json:"birth_year,omitempty"`
	Country    *string   `json:"country,omitempty"`
	City       *string   `json:"city,omitempty"`
	IncomeBand *string   `json:"income_band,omitempty"`
	JobTitle   *string   `json:"job_title,omitempty"`
	Industry   *string   `json:"industry,omitempty"`
	Interests  *[]string `json:"interests,omitempty"`
}

// IncomeBands are the accepted income bands.
var IncomeBands = []string{"low", "lower_middle", "middle", "upper_middle", "high"}

var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

// Apply validates in and applies it to a, given the current year.
func (in AttributesInput) Apply(a Attributes, year int) (Attributes, error) {
	if in.Age != nil && in.BirthYear != nil {
		return a, apperr.Invalid("give age or birth_year, not both")
	}
	if in.Age != nil {
		if *in.Age < 0 || *in.Age > 130 {
			return a, apperr.Invalid("age must be within 0..130")
		}
		by := year - *in.Age
		a.BirthYear = &by
	}
	if in.BirthYear != nil {
		if *in.BirthYear < year-130 || *in.BirthYear > year {
			return a, apperr.Invalid("birth_year must be within %d..%d", year-130, year)
		}
		by := *in.BirthYear
		a.BirthYear = &by
	}
	if in.Country != nil {
		c := strings.ToUpper(strings.TrimSpace(*in.Country))
		if c != "" && !countryCode.MatchString(c) {
			return a, apperr.Invalid("country must be an ISO 3166-1 alpha-2 code like \"DE\"")
		}
		a.Country = c
	}
	str := func(dst *string, src *string, field string) error {
		if src == nil {
			return nil
		}
		if len(*src) > 200 {
			return apperr.Invalid("%s is longer than 200 bytes", field)
		}
		*dst = strings.TrimSpace(*src)
		return nil
	}
	if err := str(&a.City, in.City, "city"); err != nil {
		return a, err
	}
	if err := str(&a.JobTitle, in.JobTitle, "job_title"); err != nil {
		return a, err
	}
	if err := str(&a.Industry, in.Industry, "industry"); err != nil {
		return a, err
	}
	if in.IncomeBand != nil {
		if *in.IncomeBand != "" && !slices.Contains(IncomeBands, *in.IncomeBand) {
			return a, apperr.Invalid("income_band must be one of %s", strings.Join(IncomeBands, ", "))
		}
		a.IncomeBand = *in.IncomeBand
	}
	if in.Interests != nil {
		if len(*in.Interests) > 50 {
			return a, apperr.Invalid("at most 50 interests")
		}
		var out []string
		for _, s := range *in.Interests {
			s = strings.ToLower(strings.TrimSpace(s))
			if s != "" && len(s) <= 100 && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		a.Interests = out
	}
	return a, nil
}
