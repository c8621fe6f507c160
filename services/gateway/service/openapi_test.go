package service

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var pathLine = regexp.MustCompile(`(?m)^  ['"]?(/[^'":\s]+)['"]?:\s*$`)

// TestOpenAPIHoldsEveryServicePath fails when a service documents a route in its
// fragment that the served document lacks: run scripts/openapi-merge.py.
func TestOpenAPIHoldsEveryServicePath(t *testing.T) {
	served := map[string]bool{}
	for _, m := range pathLine.FindAllStringSubmatch(string(openAPI), -1) {
		served[m[1]] = true
	}
	total := 0
	for _, frag := range []string{"../openapi.yaml", "../../inbox/openapi.yaml", "../../crm/openapi.yaml"} {
		raw, err := os.ReadFile(frag)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range pathLine.FindAllStringSubmatch(string(raw), -1) {
			total++
			if !served[m[1]] {
				t.Errorf("%s documents %s, missing from the served document (run scripts/openapi-merge.py)", frag, m[1])
			}
		}
	}
	if total < 50 || !strings.HasPrefix(strings.SplitN(string(openAPI), "\n", 3)[1], "openapi: 3") {
		t.Fatalf("only %d paths found; fragments or served document malformed", total)
	}
}
