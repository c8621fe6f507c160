package connector

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Retry policy defaults.
const (
	DefaultMaxAttempts   = 4
	DefaultBaseDelay     = 500 * time.Millisecond
	DefaultMaxDelay      = 30 * time.Second
	DefaultMaxRetryAfter = 2 * time.Minute
)

// ErrInFlight is returned when another send holds the idempotency key.
var ErrInFlight = errors.New("connector: a send with this idempotency key is in progress")

// RetryPolicy bounds the Dispatcher's retries. Zero fields take the defaults.
type RetryPolicy struct {
	MaxAttempts int           // HTTP calls per Send, first one included
	BaseDelay   time.Duration // backoff before the second call; doubles each time
	MaxDelay    time.Duration // cap of one backoff
	// MaxRetryAfter is the longest platform-requested wait the Dispatcher
	// sleeps through; a longer Retry-After ends Send with the Retryable error
	// so the caller's job queue reschedules instead of holding a worker.
	MaxRetryAfter time.Duration
	// Rand returns a number in [0,1) for the jitter; math/rand/v2 when nil.
	Rand func() float64
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	return p
}

// Backoff returns the wait after the given failed call (1-based): "equal
// jitter", half of min(MaxDelay, BaseDelay·2^(n-1)) plus a random part of the
// other half, so retries of many workers spread out yet never hammer at once.
func (p RetryPolicy) Backoff(n int) time.Duration {
	p = p.withDefaults()
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	return half + time.Duration(p.Rand()*float64(d-half))
}

// Dispatcher sends through a Sender with retries and, when a Ledger is set
// and the Outbound has an IdempotencyKey, at most once per key.
//
// Retry rules: Retryable errors are retried after the platform's Retry-After
// (when it asks for one no longer than MaxRetryAfter) or the jittered
// backoff, up to MaxAttempts calls. Permanent errors stop at once. Ambiguous
// errors stop at once and leave the key in StateAmbiguous: no platform here
// accepts an idempotency key (Graph, WhatsApp, X, YouTube and Telegram all
// create a new message per POST), so resending after a timeout risks a
// double post, which is worse for a brand than a late reply. The service
// settles the key from the echo webhook (Messenger message_echo metadata,
// WhatsApp status biz_opaque_callback_data, or an echo with the same text in
// the thread) or lets an agent resend after checking.
type Dispatcher struct {
	Sender Sender
	Ledger Ledger // optional
	Policy RetryPolicy
	// Sleep waits d or until ctx ends; a real timer when nil. Tests record it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the ledger clock; time.Now when nil.
	Now func() time.Time
}

// Send implements Sender.
func (d *Dispatcher) Send(ctx context.Context, out Outbound) (Result, error) {
	pol := d.Policy.withDefaults()
	clock := d.Now
	if clock == nil {
		clock = time.Now
	}
	keyed := d.Ledger != nil && out.IdempotencyKey != ""
	var att Attempt
	if keyed {
		a, claimed, err := d.Ledger.Claim(ctx, out.IdempotencyKey, clock())
		if err != nil {
			return Result{}, fmt.Errorf("claim idempotency key: %w", err)
		}
		if !claimed {
			return settled(out.Platform, a)
		}
		att = a
	}
	var lastErr error
	for n := 1; ; n++ {
		res, err := d.Sender.Send(ctx, out)
		att.Tries++
		if err == nil {
			att.State, att.ExternalID, att.LastError = StateSent, res.ExternalID, ""
			return res, d.finish(ctx, keyed, att, clock)
		}
		lastErr = err
		att.LastError = err.Error()
		class := ClassOf(err)
		if class == Ambiguous {
			att.State = StateAmbiguous
			return Result{}, also(err, d.finish(ctx, keyed, att, clock))
		}
		att.State = StateFailed
		if class != Retryable || n >= pol.MaxAttempts {
			return Result{}, also(err, d.finish(ctx, keyed, att, clock))
		}
		wait := pol.Backoff(n)
		var ce *Error
		if errors.As(err, &ce) && ce.RetryAfter > 0 {
			if ce.RetryAfter > pol.MaxRetryAfter {
				return Result{}, also(err, d.finish(ctx, keyed, att, clock))
			}
			wait = ce.RetryAfter
		}
		if err := d.sleep(ctx, wait); err != nil {
			// Nothing is in flight while sleeping: the key stays retryable.
			return Result{}, also(errors.Join(lastErr, err), d.finish(ctx, keyed, att, clock))
		}
	}
}

// settled answers a Send whose key was already used.
func settled(p Platform, a Attempt) (Result, error) {
	switch a.State {
	case StateSent:
		return Result{ExternalID: a.ExternalID}, nil
	case StatePending:
		return Result{}, &Error{Platform: p, Class: Ambiguous, Message: "a send with this idempotency key is in progress or was interrupted", Err: ErrInFlight}
	default:
		return Result{}, &Error{Platform: p, Class: Ambiguous, Message: "an earlier send with this idempotency key may have been posted; settle it before sending again: " + a.LastError}
	}
}

func (d *Dispatcher) finish(ctx context.Context, keyed bool, a Attempt, clock func() time.Time) error {
	if !keyed {
		return nil
	}
	a.UpdatedAt = clock()
	// The outcome must be recorded even when the caller gave up meanwhile.
	if err := d.Ledger.Finish(context.WithoutCancel(ctx), a); err != nil {
		return fmt.Errorf("record send outcome: %w", err)
	}
	return nil
}

func (d *Dispatcher) sleep(ctx context.Context, wait time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, wait)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// also returns err, joined with the ledger error only when there is one, so
// callers can still type-assert a lone *Error.
func also(err, ledgerErr error) error {
	if ledgerErr == nil {
		return err
	}
	return errors.Join(err, ledgerErr)
}
