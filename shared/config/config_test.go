package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

type testConfig struct {
	Port    int           `env:"HTTP_PORT" default:"8080" help:"port"`
	Secret  string        `env:"JWT_SECRET" default:"dev" secret:"true" help:"key"`
	Mongo   string        `env:"MONGO_URI" help:"uri"`
	Timeout time.Duration `env:"TIMEOUT" default:"5s"`
	Hosts   []string      `env:"HOSTS" default:"a,b"`
	Nested  struct {
		Debug bool `env:"DEBUG" default:"false"`
	}
}

func TestLoadDefaultsAndOverrides(t *testing.T) {
	env := map[string]string{"HTTP_PORT": "9090", "DEBUG": "true", "MONGO_URI": "mongodb://u:pw@h:1/db"}
	var c testConfig
	err := LoadFrom(&c, nil, &bytes.Buffer{}, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9090 || c.Secret != "dev" || c.Timeout != 5*time.Second || !c.Nested.Debug || len(c.Hosts) != 2 {
		t.Fatalf("unexpected config %+v", c)
	}
	s := String(&c)
	if strings.Contains(s, "dev") || strings.Contains(s, "pw") || !strings.Contains(s, "JWT_SECRET=***") {
		t.Fatalf("secrets not masked: %s", s)
	}
}

func TestLoadRejectsBadValue(t *testing.T) {
	var c testConfig
	err := LoadFrom(&c, nil, &bytes.Buffer{}, func(k string) (string, bool) { return "x", k == "HTTP_PORT" })
	if err == nil || !strings.Contains(err.Error(), "HTTP_PORT") {
		t.Fatalf("want error naming HTTP_PORT, got %v", err)
	}
}

func TestHelpPrintsTable(t *testing.T) {
	var c testConfig
	var out bytes.Buffer
	err := LoadFrom(&c, []string{"-h"}, &out, func(string) (string, bool) { return "", false })
	if !errors.Is(err, ErrHelp) || !strings.Contains(out.String(), "HTTP_PORT") || !strings.Contains(out.String(), "8080") {
		t.Fatalf("err=%v out=%s", err, out.String())
	}
}
