// Package config loads a service's configuration from environment variables into
// a struct whose fields carry `env`, `default`, `help` and `secret` tags, prints
// the table for -h, and renders the values for logging with secrets masked.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ErrHelp is returned by Load when -h or --help was asked for; the table has been printed.
var ErrHelp = errors.New("config: help requested")

// Load fills dst (a pointer to a struct) from the environment, falling back to
// defaults. args are the command-line arguments after the program name: only
// -h/--help is understood, printing every variable to out.
func Load(dst any, args []string, out io.Writer) error {
	return LoadFrom(dst, args, out, os.LookupEnv)
}

// LoadFrom is Load with a custom environment lookup, for tests.
func LoadFrom(dst any, args []string, out io.Writer, lookup func(string) (string, bool)) error {
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			PrintUsage(out, dst)
			return ErrHelp
		}
		return fmt.Errorf("config: %w", err)
	}
	return walk(dst, func(f reflect.StructField, v reflect.Value) error {
		name := f.Tag.Get("env")
		raw, ok := lookup(name)
		if !ok || raw == "" {
			raw, ok = f.Tag.Lookup("default")
			if !ok {
				return nil
			}
		}
		if err := set(v, raw); err != nil {
			return fmt.Errorf("config: %s: %w", name, err)
		}
		return nil
	})
}

// PrintUsage writes the table of variables with defaults and help text.
func PrintUsage(out io.Writer, cfg any) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tDESCRIPTION")
	_ = walk(cfg, func(f reflect.StructField, _ reflect.Value) error {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Tag.Get("env"), f.Tag.Get("default"), f.Tag.Get("help"))
		return nil
	})
	_ = tw.Flush()
}

// String renders the configuration for a startup log line, masking secrets.
func String(cfg any) string {
	var b strings.Builder
	_ = walk(cfg, func(f reflect.StructField, v reflect.Value) error {
		val := fmt.Sprint(v.Interface())
		if f.Tag.Get("secret") == "true" && val != "" {
			val = "***"
		}
		if strings.Contains(f.Tag.Get("env"), "URI") || strings.Contains(f.Tag.Get("env"), "URL") {
			val = maskURL(val)
		}
		fmt.Fprintf(&b, "%s=%s ", f.Tag.Get("env"), val)
		return nil
	})
	return strings.TrimSpace(b.String())
}

// maskURL hides a password embedded in a connection string.
func maskURL(s string) string {
	at := strings.LastIndex(s, "@")
	scheme := strings.Index(s, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return s
	}
	creds := s[scheme+3 : at]
	if i := strings.Index(creds, ":"); i >= 0 {
		return s[:scheme+3] + creds[:i] + ":***" + s[at:]
	}
	return s
}

func walk(cfg any, fn func(reflect.StructField, reflect.Value) error) error {
	v := reflect.ValueOf(cfg)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return errors.New("config: want a struct")
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Tag.Get("env") == "" {
			if err := walk(fv.Addr().Interface(), fn); err != nil {
				return err
			}
			continue
		}
		if f.Tag.Get("env") == "" || !f.IsExported() {
			continue
		}
		if err := fn(f, fv); err != nil {
			return err
		}
	}
	return nil
}

func set(v reflect.Value, raw string) error {
	switch v.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	case []string:
		var out []string
		for _, p := range strings.Split(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		v.Set(reflect.ValueOf(out))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}
