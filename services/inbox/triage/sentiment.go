// Package triage scores short social texts and decides a conversation's
// priority: a comment thread turning negative while its engagement
// accelerates is urgent, a valued customer is high.
package triage

import (
	"math"
	"strings"
	"unicode"
)

// Label is the polarity of a text.
type Label string

// Labels.
const (
	Negative Label = "negative"
	Neutral  Label = "neutral"
	Positive Label = "positive"
)

// Sentiment is the result of Score.
type Sentiment struct {
	// Score is in [-1, 1]: the summed word weights s squashed as
	// s/√(s²+15), as VADER does, so one strong word ≈ ±0.6 and several
	// saturate towards ±1.
	Score float64
	Label Label    // Negative below -0.05, Positive above 0.05
	Hits  []string // the lexicon entries that counted, negated ones prefixed with "not "
}

// labelThreshold separates neutral from polar scores.
const labelThreshold = 0.05

// negationWeight is what a negated word keeps of its weight, flipped: "not
// good" is mildly negative, not as negative as "bad".
const negationWeight = -0.75

// intensifierWeight multiplies the next sentiment word.
const intensifierWeight = 1.5

// negationScope is how many words after a negator it still applies to
// ("not very good", "don't really like").
const negationScope = 3

// lexicon maps lower-case, accent-folded words and emoji to weights in
// [-4, 4]. It is short on purpose: words customers use when complaining or
// praising a brand in English, Spanish, Portuguese and German.
var lexicon = map[string]float64{
	// English, negative
	"bad": -2, "terrible": -3, "awful": -3, "horrible": -3, "worst": -3.5, "hate": -3, "hated": -3,
	"scam": -3.5, "fraud": -3.5, "broken": -2, "broke": -1.5, "useless": -2.5, "disappointed": -2.5,
	"disappointing": -2.5, "angry": -2.5, "furious": -3, "rude": -2.5, "unacceptable": -3, "ridiculous": -2.5,
	"disgusting": -3, "waste": -2, "sucks": -3, "worse": -2.5, "poor": -2, "fake": -2.5, "ripoff": -3,
	"refund": -1.5, "complaint": -2, "never": -0.5, "late": -1.5, "delayed": -1.5, "cancelled": -1.5,
	"canceled": -1.5, "wrong": -1.5, "missing": -1.5, "damaged": -2, "lawsuit": -3, "lied": -3, "liar": -3,
	"boycott": -3, "stole": -3, "problem": -1.5, "issue": -1, "slow": -1.5, "ignored": -2.5,
	// English, positive
	"good": 1.9, "great": 3, "love": 3.2, "loved": 3, "awesome": 3.1, "amazing": 3.1, "excellent": 3.2,
	"thanks": 1.9, "thank": 1.5, "happy": 2.7, "perfect": 3, "best": 3.2, "nice": 1.8, "helpful": 2,
	"fast": 1.2, "recommend": 2, "fantastic": 3.3, "wonderful": 3, "glad": 2, "like": 1.3, "fixed": 1.5,
	// Spanish
	"malo": -2, "mala": -2, "pesimo": -3.5, "pesima": -3.5, "estafa": -3.5, "fraude": -3.5, "queja": -2,
	"reembolso": -1.5, "decepcionado": -2.5, "decepcionada": -2.5, "basura": -3, "peor": -3, "nunca": -0.5,
	"gracias": 1.9, "excelente": 3.2, "genial": 3, "bueno": 1.9, "buena": 1.9, "encanta": 3,
	// Portuguese
	"ruim": -2, "pessimo": -3.5, "pessima": -3.5, "golpe": -3, "reclamacao": -2, "decepcionante": -2.5,
	"lixo": -3, "horrivel": -3, "pior": -3, "obrigado": 1.9, "obrigada": 1.9, "otimo": 3, "otima": 3,
	"adoro": 3, "bom": 1.9, "boa": 1.2,
	// German
	"schlecht": -2, "betrug": -3.5, "schrecklich": -3, "enttauscht": -2.5, "beschwerde": -2,
	"ruckerstattung": -1.5, "katastrophe": -3, "frechheit": -3, "mist": -2.5, "schlimmste": -3.5,
	"unverschamt": -3, "danke": 1.9, "super": 2.9, "toll": 3, "gut": 1.9, "perfekt": 3,
	// Emoji
	"😡": -3.5, "🤬": -3.5, "😠": -3, "👎": -2.5, "😤": -2, "💩": -2.5, "😞": -2, "😢": -2, "😭": -2,
	"🙄": -1.5, "😒": -1.5, "❤": 3, "😍": 3, "🥰": 3, "👍": 2, "😊": 2.5, "🙏": 1.5, "👏": 2, "💯": 2,
}

// negators flip the sentiment of the next few words.
var negators = map[string]bool{
	"not": true, "no": true, "never": true, "dont": true, "don't": true, "doesnt": true, "doesn't": true,
	"didnt": true, "didn't": true, "isnt": true, "isn't": true, "wasnt": true, "wasn't": true, "cant": true,
	"can't": true, "cannot": true, "wont": true, "won't": true, "aint": true, "ain't": true, "without": true,
	"nunca": true, "nao": true, "nem": true, "ni": true, "nicht": true, "kein": true, "keine": true, "nie": true,
}

// intensifiers strengthen the next sentiment word.
var intensifiers = map[string]bool{
	"very": true, "so": true, "really": true, "extremely": true, "totally": true, "absolutely": true,
	"muy": true, "muito": true, "sehr": true, "too": true,
}

// fold lower-cases and strips the accents the lexicon does not spell.
var fold = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ã", "a", "ä", "a", "é", "e", "è", "e", "ê", "e", "í", "i", "ì", "i",
	"ó", "o", "ò", "o", "ô", "o", "õ", "o", "ö", "o", "ú", "u", "ù", "u", "û", "u", "ü", "u", "ç", "c", "ñ", "n",
	"’", "'",
)

// Score rates a short text. It is a deterministic lexicon scorer: negation
// ("not good", "nicht gut", "não é bom") flips the next words within three,
// intensifiers ("very", "muy", "sehr") strengthen them, emoji count as words.
//
// Limits: no sarcasm or irony ("great, another delay" scores positive), no
// sentence-level contrast ("but"), a small vocabulary outside English, no
// spelling tolerance beyond accent folding, and repeated letters
// ("sooo baaad") are not normalized. Use it to rank and flag, not to judge.
func Score(text string) Sentiment {
	var sum float64
	var hits []string
	negate, boost := 0, 1.0
	for _, tok := range tokens(text) {
		if negators[tok] {
			negate = negationScope
			// "never" also carries its own weight below.
			if _, ok := lexicon[tok]; !ok {
				continue
			}
		}
		if intensifiers[tok] {
			boost = intensifierWeight
			continue
		}
		w, ok := lexicon[tok]
		if !ok {
			if negate > 0 {
				negate--
			}
			continue
		}
		hit := tok
		if negate > 0 && !negators[tok] {
			w *= negationWeight
			hit = "not " + tok
			negate = 0
		}
		sum += w * boost
		boost = 1
		hits = append(hits, hit)
	}
	s := Sentiment{Score: sum / math.Sqrt(sum*sum+15), Label: Neutral, Hits: hits}
	switch {
	case s.Score <= -labelThreshold:
		s.Label = Negative
	case s.Score >= labelThreshold:
		s.Label = Positive
	}
	return s
}

// tokens splits text into folded words (letters, digits and inner
// apostrophes) and single emoji.
func tokens(text string) []string {
	text = fold.Replace(strings.ToLower(text))
	var out []string
	var word strings.Builder
	flush := func() {
		if word.Len() > 0 {
			out = append(out, strings.Trim(word.String(), "'"))
			word.Reset()
		}
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || (r == '\'' && word.Len() > 0):
			word.WriteRune(r)
		case r == '\uFE0F' || r == '\u200D' || unicode.Is(unicode.Sk, r):
			// variation selectors, joiners and skin tones decorate the emoji before them
		case unicode.Is(unicode.So, r):
			flush()
			out = append(out, string(r))
		default:
			flush()
		}
	}
	flush()
	return out
}
