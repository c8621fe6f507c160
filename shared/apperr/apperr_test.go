package apperr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestStatusMapping(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   Code
		msg    string
	}{
		{NotFound("conversation"), http.StatusNotFound, CodeNotFound, "conversation not found"},
		{fmt.Errorf("store: %w", Conflict("exists")), http.StatusConflict, CodeConflict, "exists"},
		{errors.New("mongo: secret detail"), http.StatusInternalServerError, CodeInternal, "internal error"},
		{New(CodeTooLarge, "too big"), http.StatusRequestEntityTooLarge, CodeTooLarge, "too big"},
	}
	for _, c := range cases {
		st, code, msg := Status(c.err)
		if st != c.status || code != c.code || msg != c.msg {
			t.Errorf("%v: got %d %s %q", c.err, st, code, msg)
		}
	}
}

func TestIsByKind(t *testing.T) {
	err := fmt.Errorf("get: %w", NotFound("user"))
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		t.Fatal("errors.Is by kind broken")
	}
}
